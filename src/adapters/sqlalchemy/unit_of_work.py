"""The SQLAlchemy unit of work: one connection, one transaction at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, translate_operational
from adapters.sqlalchemy.pinned import PinnedConnections
from adapters.sqlalchemy.repositories.access import SqlAccessFacts
from adapters.sqlalchemy.repositories.analytics import SqlAnalyticsStore, SqlJournal
from adapters.sqlalchemy.repositories.api_keys import SqlApiKeyRepository
from adapters.sqlalchemy.repositories.catalog import SqlCatalogQueries
from adapters.sqlalchemy.repositories.commerce import SqlCommerceLedger, SqlGrantRepository
from adapters.sqlalchemy.repositories.content import SqlContentRepository
from adapters.sqlalchemy.repositories.credit_packs import SqlCreditPackRepository
from adapters.sqlalchemy.repositories.credits import SqlCreditLedgerRepository
from adapters.sqlalchemy.repositories.earnings import SqlEarningsRepository
from adapters.sqlalchemy.repositories.email_logs import SqlEmailLogRepository
from adapters.sqlalchemy.repositories.installments import SqlInstallmentRepository
from adapters.sqlalchemy.repositories.notifications import SqlNotificationRepository
from adapters.sqlalchemy.repositories.offerings import (
    SqlBookingRepository,
    SqlCalendarFeedRepository,
    SqlOfferingRepository,
    SqlPortalRepository,
    SqlResourceRepository,
    SqlSeatRepository,
    SqlWaitlistRepository,
)
from adapters.sqlalchemy.repositories.outbox import SqlOutboxRepository
from adapters.sqlalchemy.repositories.payouts import (
    SqlInvitationRepository,
    SqlPayoutAccountRepository,
)
from adapters.sqlalchemy.repositories.progress import SqlProgressRepository
from adapters.sqlalchemy.repositories.purchases import SqlPurchaseRepository
from adapters.sqlalchemy.repositories.series import SqlSeriesRepository
from adapters.sqlalchemy.repositories.sessions import SqlSessionRepository
from adapters.sqlalchemy.repositories.settings import SqlSettingsRepository
from adapters.sqlalchemy.repositories.subscriptions import SqlSubscriptionRepository
from adapters.sqlalchemy.repositories.throttle import SqlThrottleRepository
from adapters.sqlalchemy.repositories.tiers import SqlTierRepository
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.repositories.users import SqlUserRepository
from application.analytics.journal import journal_entries
from application.ports.system import Clock, IdGenerator
from application.unit_of_work import collect_events
from domain.events import DomainEvent

_TRACKED = ("users", "settings", "content", "series", "purchases", "tiers", "subscriptions",
            "offerings", "bookings", "installments", "credit_packs", "invitations",
            "payout_accounts")


class SqlAlchemyUnitOfWork:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Clock,
        ids: IdGenerator,
        subscribers: Callable[[DomainEvent], list[str]],
        read_only: bool = False,
        on_wait: Callable[[float], None] | None = None,
        pinned: PinnedConnections | None = None,
    ) -> None:
        self._engine = engine
        self._pinned = pinned
        self._on_wait = on_wait
        self._clock = clock
        self._ids = ids
        self._subscribers = subscribers
        self._read_only = read_only
        self._committed_outbox: list[UUID] = []

    @property
    def read_only(self) -> bool:
        return self._read_only

    def __enter__(self) -> Self:
        if self._pinned is not None:
            # The calling thread's own connection, already in autocommit (see pinned.py).
            self._connection = self._pinned.get()
            self._executor = Executor(self._connection)
            return self
        started = time.perf_counter()
        try:
            connection = self._engine.connect()
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error
        if self._on_wait is not None:
            # How long the pool made us wait for a connection (metrics).
            self._on_wait(time.perf_counter() - started)
        if self._read_only:
            # Queries and single-statement writes: every statement is its own transaction.
            # On PostgreSQL that saves the BEGIN/COMMIT round trips. On SQLite it is what
            # lets a write wait for the write lock: a transaction that has read and then
            # writes cannot wait (SQLite answers "busy" at once), a lone statement can.
            connection = connection.execution_options(patronage_read_only=True,
                                                      isolation_level="AUTOCOMMIT")
        self._connection = connection
        self._executor = Executor(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._pinned is None:
                self._connection.close()

    # Repositories are made on first use: most units of work touch one or two.
    @cached_property
    def users(self) -> SqlUserRepository:
        return SqlUserRepository(self._executor)

    @cached_property
    def sessions(self) -> SqlSessionRepository:
        return SqlSessionRepository(self._executor)

    @cached_property
    def throttle(self) -> SqlThrottleRepository:
        return SqlThrottleRepository(self._executor)

    @cached_property
    def settings(self) -> SqlSettingsRepository:
        return SqlSettingsRepository(self._executor)

    @cached_property
    def content(self) -> SqlContentRepository:
        return SqlContentRepository(self._executor)

    @cached_property
    def series(self) -> SqlSeriesRepository:
        return SqlSeriesRepository(self._executor)

    @cached_property
    def catalog(self) -> SqlCatalogQueries:
        return SqlCatalogQueries(self._executor)

    @cached_property
    def access(self) -> SqlAccessFacts:
        return SqlAccessFacts(self._executor)

    @cached_property
    def progress(self) -> SqlProgressRepository:
        if self._pinned is not None:
            # Resume positions, on the loop thread's connection that does not wait for
            # the WAL flush (see pinned.py), each save going with the loop's others.
            return SqlProgressRepository(Executor(self._pinned.get(durable=False)),
                                         coalesce=self._pinned.positions.save)
        return SqlProgressRepository(self._executor)

    @cached_property
    def purchases(self) -> SqlPurchaseRepository:
        return SqlPurchaseRepository(self._executor)

    @cached_property
    def grants(self) -> SqlGrantRepository:
        return SqlGrantRepository(self._executor)

    @cached_property
    def ledger(self) -> SqlCommerceLedger:
        return SqlCommerceLedger(self._executor)

    @cached_property
    def tiers(self) -> SqlTierRepository:
        return SqlTierRepository(self._executor)

    @cached_property
    def subscriptions(self) -> SqlSubscriptionRepository:
        return SqlSubscriptionRepository(self._executor)

    @cached_property
    def credits(self) -> SqlCreditLedgerRepository:
        return SqlCreditLedgerRepository(self._executor, self._ids)

    @cached_property
    def credit_packs(self) -> SqlCreditPackRepository:
        return SqlCreditPackRepository(self._executor)

    @cached_property
    def offerings(self) -> SqlOfferingRepository:
        return SqlOfferingRepository(self._executor)

    @cached_property
    def seats(self) -> SqlSeatRepository:
        return SqlSeatRepository(self._executor, self._ids)

    @cached_property
    def bookings(self) -> SqlBookingRepository:
        return SqlBookingRepository(self._executor)

    @cached_property
    def installments(self) -> SqlInstallmentRepository:
        return SqlInstallmentRepository(self._executor)

    @cached_property
    def calendar_feeds(self) -> SqlCalendarFeedRepository:
        return SqlCalendarFeedRepository(self._executor)

    @cached_property
    def waitlist(self) -> SqlWaitlistRepository:
        return SqlWaitlistRepository(self._executor)

    @cached_property
    def portals(self) -> SqlPortalRepository:
        return SqlPortalRepository(self._executor)

    @cached_property
    def resources(self) -> SqlResourceRepository:
        return SqlResourceRepository(self._executor)

    @cached_property
    def outbox(self) -> SqlOutboxRepository:
        return SqlOutboxRepository(self._executor, self._ids)

    @cached_property
    def email_logs(self) -> SqlEmailLogRepository:
        return SqlEmailLogRepository(self._executor)

    @cached_property
    def notifications(self) -> SqlNotificationRepository:
        return SqlNotificationRepository(self._executor)

    @cached_property
    def api_keys(self) -> SqlApiKeyRepository:
        return SqlApiKeyRepository(self._executor)

    @cached_property
    def invitations(self) -> SqlInvitationRepository:
        return SqlInvitationRepository(self._executor)

    @cached_property
    def payout_accounts(self) -> SqlPayoutAccountRepository:
        return SqlPayoutAccountRepository(self._executor)

    @cached_property
    def earnings(self) -> SqlEarningsRepository:
        return SqlEarningsRepository(self._executor)

    @cached_property
    def journal(self) -> SqlJournal:
        return SqlJournal(self._executor)

    @cached_property
    def analytics(self) -> SqlAnalyticsStore:
        return SqlAnalyticsStore(self._executor)

    def _trackers(self) -> list[Tracker[Any]]:
        made = self.__dict__
        return [made[name].tracker for name in _TRACKED if name in made]

    def commit(self) -> None:
        # What the commit writes (the aggregates' changes, the outbox messages and the
        # journal entries its events make) goes as one statement on PostgreSQL: each
        # write is to rows no other of them touches (see `Executor.hold`).
        events: list[DomainEvent] = []
        for tracker in self._trackers():
            tracker.flush(held=True)
            events += collect_events(tracker.aggregates())
        now = self._clock.now()
        written = self.outbox.add_all(
            [(event, handler) for event in events for handler in self._subscribers(event)],
            now, held=True)
        self.journal.hold(journal_entries(events, now, self._ids.new_id), now)
        try:
            self._executor.send_held()
            self._connection.commit()
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error
        self._committed_outbox.extend(written)

    def rollback(self) -> None:
        self._executor.drop_held()
        try:
            if self._connection.in_transaction():
                self._connection.rollback()
        except sa_exc.OperationalError as error:
            # A connection lost meanwhile (the database restarted while the use case
            # talked to a payment provider) took its transaction with it: there is
            # nothing left to undo, and the next statement gets a new connection.
            # Anything else is the database refusing: a 503 like any other statement.
            if not self._connection.invalidated:
                raise translate_operational(error) from error
        finally:
            # Whatever the aggregates did since the last commit did not happen: forget
            # them, so a later commit in this unit of work cannot write them back.
            for tracker in self._trackers():
                tracker.clear()

    @property
    def committed_outbox_ids(self) -> list[UUID]:
        return list(self._committed_outbox)


class SqlAlchemyUnitOfWorkFactory(Protocol):
    """The `UnitOfWorkFactory` port, answering the concrete unit of work."""

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork: ...


def uow_factory(
    engine: sa.Engine,
    *,
    clock: Clock,
    ids: IdGenerator,
    subscribers: Callable[[DomainEvent], list[str]],
    on_wait: Callable[[float], None] | None = None,
    pinned: PinnedConnections | None = None,
) -> SqlAlchemyUnitOfWorkFactory:
    """Units of work on ``engine``'s pool; with ``pinned``, read-only ones on the
    calling thread's own connection instead (writing ones always take a pooled one)."""
    def make(*, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(
            engine, clock=clock, ids=ids, subscribers=subscribers, read_only=read_only,
            on_wait=on_wait, pinned=pinned if read_only else None,
        )

    return make

