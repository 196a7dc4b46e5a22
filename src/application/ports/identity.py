"""Accounts, sessions and login throttling."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import attrs

from domain.identity.api_keys import ApiKey, Scope
from domain.identity.roles import Role
from domain.identity.session import AuthSession
from domain.identity.user import User


@attrs.frozen
class SessionPrincipal:
    """What one lookup of a bearer token yields: the session and its live user."""

    session_id: UUID
    user_id: UUID
    role: Role
    email_verified: bool
    last_seen_at: datetime | None = None


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Insert; raises Conflict(user.email_taken) when a live account has the email."""
        ...

    def get(self, user_id: UUID, *, lock: bool = False) -> User | None:
        """A live or disabled user; soft-deleted users are not returned. With ``lock``,
        read afresh and locked until the transaction ends."""
        ...

    def get_by_email(self, email: str) -> User | None: ...

    def get_by_verification_token(self, token_hash: str) -> User | None: ...

    def get_by_reset_token(self, token_hash: str, *, lock: bool = False) -> User | None:
        """With ``lock``, the row stays locked until the transaction ends, so a token is
        spent by exactly one of several parallel confirmations."""
        ...

    def list(
        self, *, role: Role | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[User]: ...

    def count_by_role(self, role: Role) -> int: ...


class SessionRepository(Protocol):
    def add(self, session: AuthSession) -> None: ...

    def principal_for(self, token_hash: str, now: datetime,
                      idle_since: datetime) -> SessionPrincipal | None:
        """One lookup: a session neither revoked, expired nor idle since ``idle_since``,
        whose user is active; or None."""
        ...

    def touch(self, session_id: UUID, now: datetime) -> None:
        """Record activity (the idle timeout counts from here)."""
        ...

    def revoke(self, session_id: UUID, now: datetime) -> None: ...

    def revoke_all_for_user(
        self, user_id: UUID, now: datetime, *, keep: UUID | None = None
    ) -> int: ...


@attrs.frozen
class ThrottleState:
    failures: int
    window_started_at: datetime


class ThrottleRepository(Protocol):
    def record_failure(self, key: str, now: datetime, window: timedelta) -> ThrottleState:
        """Count one attempt atomically, starting a new window if the old one ended; the
        count includes this attempt, so parallel callers each see their own number."""
        ...

    def clear(self, key: str) -> None: ...

    def release(self, key: str) -> None:
        """Give back one counted attempt (one that turned out to succeed)."""
        ...


@attrs.frozen
class KeyPrincipal:
    """What one lookup of an API key yields: the key, its scopes and its live owner."""

    key_id: UUID
    user_id: UUID
    role: Role
    email_verified: bool
    scopes: frozenset[Scope]
    last_used_at: datetime | None = None


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def get(self, key_id: UUID) -> ApiKey | None: ...

    def list(self, *, user_id: UUID | None, limit: int, offset: int) -> Sequence[ApiKey]:
        """Newest first; everyone's with ``user_id`` None."""
        ...

    def revoke(self, key_id: UUID, now: datetime) -> bool:
        """True when this call revoked it (False: already revoked)."""
        ...

    def principal_for(self, key_hash: str, now: datetime) -> KeyPrincipal | None:
        """One lookup: a key neither revoked nor expired, whose owner is active."""
        ...

    def touch(self, key_id: UUID, now: datetime) -> None: ...

    def active_count(self, user_id: UUID, now: datetime) -> int:
        """Keys of this account neither revoked nor expired."""
        ...
