from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.statements import read_by
from adapters.sqlalchemy.tables import users
from domain.errors import Conflict
from domain.identity.roles import Role
from domain.identity.user import User
from domain.values import Email

_EMAIL_TAKEN = Conflict("An account with this email already exists.", code="user.email_taken",
                        field="email")


def to_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email.value,
        "password_hash": user.password_hash,
        "full_name": user.full_name,
        "role": user.role.value,
        "profile_image_url": user.profile_image_url,
        "bio": user.bio,
        "email_verified_at": user.email_verified_at,
        "email_verification_token": user.email_verification_token_hash,
        "email_verification_expires_at": user.email_verification_expires_at,
        "password_reset_token": user.password_reset_token_hash,
        "password_reset_expires_at": user.password_reset_expires_at,
        "stripe_customer_id": user.stripe_customer_id,
        "stripe_connect_account_id": user.stripe_connect_account_id,
        "disabled_at": user.disabled_at,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "deleted_at": user.deleted_at,
    }


def from_row(row: Mapping[Any, Any]) -> User:
    return User(
        id=row["id"],
        email=Email(row["email"]),
        password_hash=row["password_hash"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        profile_image_url=row["profile_image_url"],
        bio=row["bio"],
        email_verified_at=row["email_verified_at"],
        email_verification_token_hash=row["email_verification_token"],
        email_verification_expires_at=row["email_verification_expires_at"],
        password_reset_token_hash=row["password_reset_token"],
        password_reset_expires_at=row["password_reset_expires_at"],
        stripe_customer_id=row["stripe_customer_id"],
        stripe_connect_account_id=row["stripe_connect_account_id"],
        disabled_at=row["disabled_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


_LIVE = users.c.deleted_at.is_(None)
_BY_ID = read_by(users.c.id, _LIVE)


class SqlUserRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[User] = Tracker(execute, users, to_row)

    def add(self, user: User) -> None:
        row = to_row(user)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(users).values(**row))
        except sa_exc.IntegrityError as error:
            raise conflict_from(
                error, {"uq_users_email_live": _EMAIL_TAKEN, "users.email": _EMAIL_TAKEN}
            ) from error
        self.tracker.track(user.id, user, row)

    def _one(self, condition: sa.ColumnElement[bool], *, lock: bool = False) -> User | None:
        query = sa.select(users).where(condition, _LIVE)
        if lock:
            # SQLite ignores FOR UPDATE; its writers are serialised by BEGIN IMMEDIATE.
            query = query.with_for_update()
        return self._loaded(self._execute(query).mappings().first(), lock)

    def _loaded(self, row: Mapping[Any, Any] | None, lock: bool) -> User | None:
        if row is None:
            return None
        if lock:
            # A locked read is the fresh row: it replaces whatever was read before.
            return self.tracker.replace(row["id"], from_row(row))
        known = self.tracker.get(row["id"])
        return known if known is not None else self.tracker.track(row["id"], from_row(row))

    def get(self, user_id: UUID, *, lock: bool = False) -> User | None:
        known = self.tracker.get(user_id)
        if known is not None and not lock:
            return known if known.deleted_at is None else None
        # Read on almost every request that changes something: built once.
        rows = self._execute.rows(_BY_ID[lock], {"key": user_id})
        return self._loaded(rows[0] if rows else None, lock)

    def get_by_email(self, email: str) -> User | None:
        return self._one(users.c.email == email)

    def get_by_verification_token(self, token_hash: str) -> User | None:
        return self._one(users.c.email_verification_token == token_hash)

    def get_by_reset_token(self, token_hash: str, *, lock: bool = False) -> User | None:
        return self._one(users.c.password_reset_token == token_hash, lock=lock)

    def list(
        self, *, role: Role | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[User]:
        query = sa.select(users).where(_LIVE).order_by(users.c.created_at, users.c.id)
        if role is not None:
            query = query.where(users.c.role == role.value)
        rows = self._execute(query.limit(limit).offset(offset)).mappings().all()
        return [from_row(r) for r in rows]

    def count_by_role(self, role: Role) -> int:
        return int(self._execute(
            sa.select(sa.func.count()).select_from(users).where(
                _LIVE, users.c.disabled_at.is_(None), users.c.role == role.value
            )
        ).scalar_one())
