"""API keys: stored hashed, looked up with their owner in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.tables import api_keys, users
from application.ports.identity import KeyPrincipal
from domain.identity.api_keys import ApiKey, Scope
from domain.identity.roles import Role


def _scopes(values: object) -> frozenset[Scope]:
    known = {s.value for s in Scope}
    # A scope this version no longer knows grants nothing.
    return frozenset(Scope(v) for v in values or () if v in known) \
        if isinstance(values, list) else frozenset()


def from_row(r: sa.RowMapping) -> ApiKey:
    return ApiKey(id=r["id"], user_id=r["user_id"], name=r["name"], prefix=r["prefix"],
                  key_hash=r["key_hash"], scopes=_scopes(r["scopes"]),
                  created_at=r["created_at"], expires_at=r["expires_at"],
                  revoked_at=r["revoked_at"], last_used_at=r["last_used_at"])


class SqlApiKeyRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def add(self, key: ApiKey) -> None:
        self._execute(sa.insert(api_keys).values(
            id=key.id, user_id=key.user_id, name=key.name, prefix=key.prefix,
            key_hash=key.key_hash, scopes=sorted(s.value for s in key.scopes),
            created_at=key.created_at, expires_at=key.expires_at))

    def get(self, key_id: UUID) -> ApiKey | None:
        row = self._execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
        return from_row(row) if row else None

    def list(self, *, user_id: UUID | None, limit: int, offset: int) -> Sequence[ApiKey]:
        query = (sa.select(api_keys)
                 .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
                 .limit(limit).offset(offset))
        if user_id is not None:
            query = query.where(api_keys.c.user_id == user_id)
        return [from_row(r) for r in self._execute(query).mappings()]

    def revoke(self, key_id: UUID, now: datetime) -> bool:
        done = self._execute(
            sa.update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now).returning(api_keys.c.id)).first()
        return done is not None

    def principal_for(self, key_hash: str, now: datetime) -> KeyPrincipal | None:
        row = self._execute(
            sa.select(api_keys.c.id, api_keys.c.scopes, api_keys.c.last_used_at,
                      users.c.id.label("user_id"), users.c.role, users.c.email_verified_at)
            .join(users, users.c.id == api_keys.c.user_id)
            .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None),
                   sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
                   users.c.deleted_at.is_(None), users.c.disabled_at.is_(None))
        ).first()
        if row is None:
            return None
        return KeyPrincipal(key_id=row.id, user_id=row.user_id, role=Role(row.role),
                            email_verified=row.email_verified_at is not None,
                            scopes=_scopes(row.scopes), last_used_at=row.last_used_at)

    def active_count(self, user_id: UUID, now: datetime) -> int:
        return int(self._execute(sa.select(sa.func.count()).select_from(api_keys).where(
            api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None),
            sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now))
        ).scalar_one())

    def touch(self, key_id: UUID, now: datetime) -> None:
        self._execute(sa.update(api_keys).where(api_keys.c.id == key_id)
                      .values(last_used_at=now))
