"""The unit of work: one transaction, its repositories, and the events it produced."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from application.catalog_ports import (
    AccessFacts,
    CatalogQueries,
    ContentRepository,
    ProgressRepository,
    SeriesRepository,
)
from application.commerce_ports import CommerceLedger, GrantRepository, PurchaseRepository
from application.repositories import (
    EmailLogRepository,
    OutboxRepository,
    SessionRepository,
    SettingsRepository,
    ThrottleRepository,
    UserRepository,
)
from domain.events import DomainEvent


class UnitOfWork(Protocol):
    users: UserRepository
    sessions: SessionRepository
    throttle: ThrottleRepository
    settings: SettingsRepository
    content: ContentRepository
    series: SeriesRepository
    catalog: CatalogQueries
    access: AccessFacts
    progress: ProgressRepository
    purchases: PurchaseRepository
    grants: GrantRepository
    ledger: CommerceLedger
    outbox: OutboxRepository
    email_logs: EmailLogRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None:
        """Persist changed aggregates, write their events to the outbox, commit.

        All of it happens in the one transaction, so an event exists exactly when
        the change that caused it does.
        """
        ...

    def rollback(self) -> None: ...

    @property
    def committed_outbox_ids(self) -> list[UUID]:
        """Outbox messages written by the commits of this unit of work."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...


def collect_events(aggregates: Iterator[object]) -> list[DomainEvent]:
    """Take (and clear) the events recorded by the given aggregates."""
    events: list[DomainEvent] = []
    for aggregate in aggregates:
        pending = getattr(aggregate, "events", None)
        if pending:
            events.extend(pending)
            pending.clear()
    return events
