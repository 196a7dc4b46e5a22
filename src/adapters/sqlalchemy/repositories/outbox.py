from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.statements import OncePerCount, OncePerDialect, numbered, numbered_params
from adapters.sqlalchemy.tables import outbox_messages
from application import event_codec
from application.ports.outbox import OutboxMessage
from application.ports.system import IdGenerator
from domain.events import DomainEvent

_ROWS_PER_INSERT = 500
_COLUMNS = ("id", "event_type", "handler", "payload", "status", "attempts", "next_attempt_at",
            "created_at")


def _insert(execute: Executor, count: int) -> Statement:
    return sa.insert(outbox_messages).values(numbered_params(outbox_messages, _COLUMNS, "m",
                                                             count))


def _claim(execute: Executor) -> Statement:
    # Not named "id": an UPDATE keeps its columns' names for its own SET values.
    wanted = sa.bindparam("message_id", type_=outbox_messages.c.id.type)
    pending = (sa.select(outbox_messages.c.id)
               .where(outbox_messages.c.id == wanted, outbox_messages.c.status == "pending")
               .with_for_update(skip_locked=True).scalar_subquery())
    return (sa.update(outbox_messages).where(outbox_messages.c.id == pending)
            .values(status="processed",
                    processed_at=sa.bindparam("now", type_=outbox_messages.c.processed_at.type))
            .returning(outbox_messages.c.id, outbox_messages.c.event_type,
                       outbox_messages.c.handler, outbox_messages.c.payload,
                       outbox_messages.c.attempts))


_CLAIM = OncePerDialect(_claim)
# A commit's messages are usually a handful (a purchase writes two): built once per
# count, the INSERT is not compiled again on each commit (it was 17 % of a purchase's CPU).
_INSERT = OncePerCount(_insert, most=8)


class SqlOutboxRepository:
    def __init__(self, execute: Executor, ids: IdGenerator) -> None:
        self._execute = execute
        self._ids = ids

    def add(self, event: DomainEvent, handler: str, now: datetime) -> UUID:
        return self.add_all([(event, handler)], now)[0]

    def add_all(self, messages: Sequence[tuple[DomainEvent, str]], now: datetime, *,
                held: bool = False) -> list[UUID]:
        """Every message of a commit in one INSERT (a purchase has two, a renewal more);
        ``held``: sent later with the rest of the commit (`Executor.hold`)."""
        ids = [self._ids.new_id() for _ in messages]
        rows = [{"id": message_id, "event_type": event.name, "handler": handler,
                 "payload": event_codec.encode(event), "status": "pending", "attempts": 0,
                 "next_attempt_at": now, "created_at": now}
                for message_id, (event, handler) in zip(ids, messages, strict=True)]
        statement = _INSERT(self._execute, len(rows))
        if statement is not None:
            if held:
                self._execute.hold(statement, numbered("m", rows))
            else:
                self._execute.rows(statement, numbered("m", rows))
            return ids
        # In slices: a statement's bound values are capped (SQLite 32,766, PostgreSQL
        # 65,535), and a broadcast can write thousands of messages in one commit.
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            self._execute(sa.insert(outbox_messages).values(
                rows[start:start + _ROWS_PER_INSERT]))
        return ids

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        return list(self._execute(
            sa.select(outbox_messages.c.id)
            .where(outbox_messages.c.status == "pending", outbox_messages.c.next_attempt_at <= now)
            .order_by(outbox_messages.c.next_attempt_at, outbox_messages.c.id)
            .limit(limit)
        ).scalars())

    def claim(self, message_id: UUID, now: datetime) -> OutboxMessage | None:
        # One statement claims and marks: the row is locked (SKIP LOCKED: two workers
        # never run the same message, the loser moves on) and set processed, which the
        # handler's commit makes true and its rollback undoes.
        rows = self._execute.rows(_CLAIM(self._execute), {"message_id": message_id, "now": now})
        if not rows:
            return None
        row = rows[0]
        return OutboxMessage(
            id=row["id"], event=event_codec.decode(row["event_type"], row["payload"]),
            handler=row["handler"], attempts=row["attempts"],
        )

    def mark_failed(
        self, message_id: UUID, error: str, now: datetime, next_attempt_at: datetime | None
    ) -> None:
        values: dict[str, object] = {
            "attempts": outbox_messages.c.attempts + 1,
            "last_error": error,
        }
        if next_attempt_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = next_attempt_at
        self._execute(
            sa.update(outbox_messages)
            .where(outbox_messages.c.id == message_id, outbox_messages.c.status == "pending")
            .values(**values)
        )
