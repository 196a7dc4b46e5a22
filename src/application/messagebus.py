"""The message bus: commands and queries to their handler, events to theirs via the outbox.

A command handler runs in one unit of work and commits it. The events its
aggregates recorded are written to the outbox in that same transaction, one
message per subscribed event handler. After the commit the bus hands those
message ids to the dispatcher, which runs each event handler in its own unit of
work. An event handler that fails leaves its message pending for
``OutboxProcessor.process_due`` (the ``patronage worker``) to retry; it never
undoes the command that raised the event.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import attrs

from application.services import Services
from application.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.errors import ConcurrencyConflict
from domain.events import DomainEvent

log = logging.getLogger("patronage.bus")

CommandHandler = Callable[[Any, UnitOfWork, Services], Any]
EventHandler = Callable[[Any, UnitOfWork, Services], None]


class Query:
    """Marker base: queries run in a read-only unit of work and record no events."""


class SingleStatementWrites:
    """Marker base: commands whose every write is one self-contained statement.

    They run like queries (no BEGIN/COMMIT round trips on PostgreSQL); each write
    commits on its own, which is safe because no two writes must go together.
    """


@attrs.frozen
class EventRouting:
    """Which named handlers subscribe to which event type."""

    handlers: Mapping[type[DomainEvent], Mapping[str, EventHandler]]

    def handler_names_for(self, event: DomainEvent) -> list[str]:
        return list(self.handlers.get(type(event), {}))

    def handler(self, event: DomainEvent, name: str) -> EventHandler | None:
        return self.handlers.get(type(event), {}).get(name)


class Dispatcher(Protocol):
    def __call__(self, message_ids: Sequence[UUID]) -> None: ...


@attrs.frozen
class RetryPolicy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)

    def next_delay(self, attempts: int) -> timedelta | None:
        """Delay before the next try after ``attempts`` failures, or None to give up."""
        if attempts >= self.max_attempts:
            return None
        return min(self.base_delay * (1 << max(attempts - 1, 0)), self.max_delay)


class OutboxProcessor:
    """Runs outbox messages: each in its own transaction, marked done in that transaction."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        routing: EventRouting,
        services: Services,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._routing = routing
        self._services = services
        self._retry = retry or RetryPolicy()

    def process(self, message_ids: Iterable[UUID],
                stopping: Callable[[], bool] | None = None) -> int:
        """Try each message once; returns how many were processed successfully. With
        ``stopping``, stops between two messages once it answers True (the messages not
        reached stay due, for the next run or another worker)."""
        done = 0
        pending = list(message_ids)
        while pending and not (stopping is not None and stopping()):
            message_id = pending.pop(0)
            ok, follow_ups = self._process_one(message_id)
            done += ok
            pending.extend(follow_ups)
        return done

    def process_due(self, limit: int = 100, stopping: Callable[[], bool] | None = None
                    ) -> int:
        """Process the messages whose attempt is due (new ones and retries)."""
        with self._uow_factory(read_only=True) as uow:
            ids = list(uow.outbox.due(self._services.clock.now(), limit))
        return self.process(ids, stopping)

    def _process_one(self, message_id: UUID) -> tuple[bool, list[UUID]]:
        now = self._services.clock.now()
        attempts = 0
        try:
            with self._uow_factory() as uow:
                message = uow.outbox.claim(message_id, now)
                if message is None:
                    return False, []
                attempts = message.attempts
                handler = self._routing.handler(message.event, message.handler)
                if handler is None:
                    raise LookupError(f"no handler {message.handler!r} for {message.event.name}")
                handler(message.event, uow, self._services)
                uow.commit()  # the claim marked it processed: done with the handler's work
                return True, uow.committed_outbox_ids
        except Exception as exc:
            # Event handler failures must not escape: the command already happened.
            self._record_failure(message_id, attempts + 1, exc)
            return False, []

    def _record_failure(self, message_id: UUID, attempts: int, exc: Exception) -> None:
        now = self._services.clock.now()
        delay = self._retry.next_delay(attempts)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        log.warning(
            "event handler failed (message %s, attempt %d): %s%s",
            message_id, attempts, type(exc).__name__,
            "" if delay else "; giving up, message is dead",
        )
        try:
            with self._uow_factory() as uow:
                uow.outbox.mark_failed(
                    message_id, detail, now, now + delay if delay is not None else None
                )
                uow.commit()
        except Exception:
            # The message stays pending and is picked up again by the worker.
            log.exception("could not record the failure of outbox message %s", message_id)


def run_inline(processor: OutboxProcessor) -> Dispatcher:
    def dispatch(message_ids: Sequence[UUID]) -> None:
        processor.process(message_ids)

    return dispatch


class MessageBus:
    # Serialization failures and deadlocks are retried this many times in all.
    MAX_ATTEMPTS = 3

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        services: Services,
        command_handlers: Mapping[type, CommandHandler],
        dispatcher: Dispatcher,
    ) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self._handlers = dict(command_handlers)
        self._dispatch = dispatcher

    def handle(self, message: object) -> Any:
        handler = self._handlers.get(type(message))
        if handler is None:
            raise LookupError(f"no handler registered for {type(message).__name__}")
        read_only = isinstance(message, Query | SingleStatementWrites)
        attempt = 1
        while True:
            try:
                with self._uow_factory(read_only=read_only) as uow:
                    result = handler(message, uow, self._services)
                    outbox_ids = list(uow.committed_outbox_ids)
                break
            except ConcurrencyConflict:
                # The transaction was rolled back whole; running it again is safe.
                if attempt >= self.MAX_ATTEMPTS:
                    raise
                attempt += 1
        if outbox_ids:
            self._dispatch(outbox_ids)
        return result
