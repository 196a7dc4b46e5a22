"""Repository ports. Each translates between stored rows and domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import attrs

from domain.events import DomainEvent
from domain.identity.roles import Role
from domain.identity.session import AuthSession
from domain.identity.user import User
from domain.platform.settings import PlatformSettings


@attrs.frozen
class SessionPrincipal:
    """What one lookup of a bearer token yields: the session and its live user."""

    session_id: UUID
    user_id: UUID
    role: Role
    email_verified: bool


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Insert; raises Conflict(user.email_taken) when a live account has the email."""
        ...

    def get(self, user_id: UUID) -> User | None:
        """A live or disabled user; soft-deleted users are not returned."""
        ...

    def get_by_email(self, email: str) -> User | None: ...

    def get_by_verification_token(self, token_hash: str) -> User | None: ...

    def get_by_reset_token(self, token_hash: str) -> User | None: ...

    def list(
        self, *, role: Role | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[User]: ...

    def count_by_role(self, role: Role) -> int: ...


class SessionRepository(Protocol):
    def add(self, session: AuthSession) -> None: ...

    def principal_for(self, token_hash: str, now: datetime) -> SessionPrincipal | None:
        """One lookup: a valid session whose user is active, or None."""
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
    def state(self, key: str, now: datetime, window: timedelta) -> ThrottleState | None:
        """The failures counted in the current window, or None when there are none."""
        ...

    def record_failure(self, key: str, now: datetime, window: timedelta) -> ThrottleState:
        """Count one failure atomically, starting a new window if the old one ended."""
        ...

    def clear(self, key: str) -> None: ...


class SettingsRepository(Protocol):
    def get(self) -> PlatformSettings:
        """The one settings row (created by the first migration)."""
        ...


@attrs.frozen
class OutboxMessage:
    id: UUID
    event: DomainEvent
    handler: str
    attempts: int


class OutboxRepository(Protocol):
    def add(self, event: DomainEvent, handler: str, now: datetime) -> UUID: ...

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        """Ids of pending messages whose next attempt is due, oldest first."""
        ...

    def claim(self, message_id: UUID, now: datetime) -> OutboxMessage | None:
        """Lock one pending message for this transaction; None if done or taken."""
        ...

    def mark_processed(self, message_id: UUID, now: datetime) -> None: ...

    def mark_failed(
        self, message_id: UUID, error: str, now: datetime, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed attempt; ``next_attempt_at`` None means give up (dead)."""
        ...


@attrs.frozen
class EmailLogEntry:
    id: UUID
    recipient_email: str
    user_id: UUID | None
    email_type: str
    subject: str
    status: str
    provider: str | None
    provider_message_id: str | None
    error_message: str | None
    sent_at: datetime | None
    created_at: datetime


class EmailLogRepository(Protocol):
    def add(self, entry: EmailLogEntry) -> None: ...

    def list_for(self, recipient_email: str) -> Sequence[EmailLogEntry]: ...
