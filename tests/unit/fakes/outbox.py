"""The outbox repository."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from application.ports.outbox import OutboxMessage
from domain.events import DomainEvent
from tests.unit.fakes.store import Store
from tests.unit.fakes.system import SequentialIds


class FakeOutboxRepository:
    def __init__(self, staged: Store, ids: SequentialIds) -> None:
        self._staged = staged
        self._ids = ids

    def add(self, event: DomainEvent, handler: str, now: datetime) -> UUID:
        message_id = self._ids.new_id()
        self._staged.outbox[message_id] = {
            "event": event, "handler": handler, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "last_error": None,
        }
        return message_id

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        return [i for i, m in self._staged.outbox.items()
                if m["status"] == "pending" and m["next_attempt_at"] <= now][:limit]

    def claim(self, message_id: UUID, now: datetime) -> OutboxMessage | None:
        m = self._staged.outbox.get(message_id)
        if m is None or m["status"] != "pending":
            return None
        m["status"] = "processed"  # staged: a rollback leaves it pending
        return OutboxMessage(message_id, m["event"], m["handler"], m["attempts"])

    def mark_failed(self, message_id: UUID, error: str, now: datetime,
                    next_attempt_at: datetime | None) -> None:
        m = self._staged.outbox[message_id]
        m["attempts"] += 1
        m["last_error"] = error
        if next_attempt_at is None:
            m["status"] = "dead"
        else:
            m["next_attempt_at"] = next_attempt_at
