from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.tables import auth_sessions, users
from application.ports.identity import SessionPrincipal
from domain.identity.roles import Role
from domain.identity.session import AuthSession

# Built once: it runs on every authenticated request that is not a hot path.
_PRINCIPAL = (
    sa.select(auth_sessions.c.id, users.c.id.label("user_id"), users.c.role,
              users.c.email_verified_at, auth_sessions.c.last_seen_at)
    .join(users, users.c.id == auth_sessions.c.user_id)
    .where(
        auth_sessions.c.token_hash == sa.bindparam(
            "token_hash", type_=auth_sessions.c.token_hash.type),
        auth_sessions.c.revoked_at.is_(None),
        auth_sessions.c.expires_at > sa.bindparam("now", type_=auth_sessions.c.expires_at.type),
        sa.func.coalesce(auth_sessions.c.last_seen_at, auth_sessions.c.created_at)
        > sa.bindparam("idle_since", type_=auth_sessions.c.created_at.type),
        users.c.deleted_at.is_(None),
        users.c.disabled_at.is_(None),
    )
)


class SqlSessionRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def add(self, session: AuthSession) -> None:
        self._execute(sa.insert(auth_sessions).values(
            id=session.id, user_id=session.user_id, token_hash=session.token_hash,
            created_at=session.created_at, expires_at=session.expires_at,
            last_seen_at=session.last_seen_at, revoked_at=session.revoked_at,
            ip_address=session.ip_address, user_agent=session.user_agent,
        ))

    def principal_for(self, token_hash: str, now: datetime,
                      idle_since: datetime) -> SessionPrincipal | None:
        # One statement, one round trip: the hot path of every authenticated request.
        rows = self._execute.rows(_PRINCIPAL, {"token_hash": token_hash, "now": now,
                                               "idle_since": idle_since})
        if not rows:
            return None
        row = rows[0]
        return SessionPrincipal(session_id=row["id"], user_id=row["user_id"],
                                role=Role(row["role"]),
                                email_verified=row["email_verified_at"] is not None,
                                last_seen_at=row["last_seen_at"])

    def touch(self, session_id: UUID, now: datetime) -> None:
        self._execute(sa.update(auth_sessions).where(auth_sessions.c.id == session_id)
                      .values(last_seen_at=now))

    def revoke(self, session_id: UUID, now: datetime) -> None:
        self._execute(
            sa.update(auth_sessions)
            .where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def revoke_all_for_user(
        self, user_id: UUID, now: datetime, *, keep: UUID | None = None
    ) -> int:
        query = sa.update(auth_sessions).where(
            auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(auth_sessions.c.id != keep)
        return self._execute(query.values(revoked_at=now)).rowcount
