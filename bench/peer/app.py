"""The authenticated access check written the common way: Litestar with the SQLAlchemy
ORM, one query per question, on the same database as Patronage.

Served by ``bench/run.py`` exactly like Patronage (granian, two workers) on the same
route, so the same wrk script drives both. It answers the same questions for the
bench's data (a valid session, a live item, the creator, free items, a grant, a
membership) and writes nothing, so it does less than Patronage does per request.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from litestar import Litestar, Request, get
from litestar.exceptions import NotAuthorizedException, NotFoundException
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class AuthSession(Base):
    __tablename__ = "auth_sessions"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    token_hash: Mapped[str]
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    role: Mapped[str]
    disabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Content(Base):
    __tablename__ = "content"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    status: Mapped[str]
    visibility: Mapped[str]
    price: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class ContentAccess(Base):
    __tablename__ = "content_access"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    content_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    access_type: Mapped[str]
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Subscription(Base):
    __tablename__ = "subscriptions"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    status: Mapped[str]
    current_period_end: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


def _url() -> str:
    url = os.environ["PATRONAGE_DATABASE_URL"]
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


engine = sa.create_engine(_url(), pool_size=10, max_overflow=20)
Sessions = sessionmaker(engine, expire_on_commit=False)


def current_user(request: Request[Any, Any, Any], session: Session) -> User:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise NotAuthorizedException()
    token_hash = hashlib.sha256(header.removeprefix("Bearer ").encode()).hexdigest()
    auth = session.scalars(sa.select(AuthSession).where(
        AuthSession.token_hash == token_hash)).first()
    now = datetime.now(UTC)
    if auth is None or auth.revoked_at is not None or auth.expires_at <= now:
        raise NotAuthorizedException()
    user = session.get(User, auth.user_id)
    if user is None or user.disabled_at is not None:
        raise NotAuthorizedException()
    return user


@get("/api/v1/content/{content_id:uuid}/access", sync_to_thread=True)
def access(content_id: uuid.UUID, request: Request[Any, Any, Any]
           ) -> dict[str, object]:
    with Sessions() as session:
        user = current_user(request, session)
        item = session.get(Content, content_id)
        if item is None or item.deleted_at is not None or item.status != "published":
            raise NotFoundException()
        if item.creator_id == user.id:
            return {"allowed": True, "reason": "creator"}
        if item.visibility == "private":
            raise NotFoundException()
        now = datetime.now(UTC)
        grant = session.scalars(sa.select(ContentAccess).where(
            ContentAccess.user_id == user.id, ContentAccess.content_id == item.id)).first()
        if grant is not None and (grant.expires_at is None or grant.expires_at > now):
            return {"allowed": True, "reason": grant.access_type}
        if item.visibility == "members_only":
            member = session.scalars(sa.select(Subscription).where(
                Subscription.customer_id == user.id,
                Subscription.status.in_(("active", "trialing")),
                Subscription.current_period_end > now)).first()
            if member is not None:
                return {"allowed": True, "reason": "membership"}
            return {"allowed": False, "reason": "membership_required"}
        if item.visibility == "public" or not item.price:
            return {"allowed": True, "reason": "free"}
        return {"allowed": False, "reason": "purchase_required"}


@get("/health", sync_to_thread=False)
def health() -> dict[str, bool]:
    return {"ok": True}


app = Litestar(route_handlers=[access, health], openapi_config=None)
