"""The transactional outbox: domain events waiting for their handlers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs

from domain.events import DomainEvent


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
        """Lock one pending message for this transaction and mark it processed as of
        ``now``: the commit that records its handler's work records it done, a rollback
        (a failing handler) leaves it pending. None if done or taken."""
        ...

    def mark_failed(
        self, message_id: UUID, error: str, now: datetime, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed attempt; ``next_attempt_at`` None means give up (dead)."""
        ...
