"""The unit of work: one transaction, its repositories, and the events it produced."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from application.ports.analytics import AnalyticsStore, Journal
from application.ports.catalog import (
    AccessFacts,
    CatalogQueries,
    ContentRepository,
    ProgressRepository,
    SeriesRepository,
)
from application.ports.commerce import CommerceLedger, GrantRepository, PurchaseRepository
from application.ports.credits import CreditLedgerRepository, CreditPackRepository
from application.ports.identity import (
    ApiKeyRepository,
    SessionRepository,
    ThrottleRepository,
    UserRepository,
)
from application.ports.mail import EmailLogRepository
from application.ports.memberships import SubscriptionRepository, TierRepository
from application.ports.notifications import NotificationRepository
from application.ports.offerings import (
    BookingRepository,
    CalendarFeedRepository,
    InstallmentRepository,
    OfferingRepository,
    PortalRepository,
    ResourceRepository,
    SeatRepository,
    WaitlistRepository,
)
from application.ports.outbox import OutboxRepository
from application.ports.payouts import (
    EarningsRepository,
    InvitationRepository,
    PayoutAccountRepository,
)
from application.ports.settings import SettingsRepository
from domain.events import DomainEvent


class UnitOfWork(Protocol):
    # Read-only members: an implementation may build its repositories lazily.
    @property
    def users(self) -> UserRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def throttle(self) -> ThrottleRepository: ...
    @property
    def settings(self) -> SettingsRepository: ...
    @property
    def content(self) -> ContentRepository: ...
    @property
    def series(self) -> SeriesRepository: ...
    @property
    def catalog(self) -> CatalogQueries: ...
    @property
    def access(self) -> AccessFacts: ...
    @property
    def progress(self) -> ProgressRepository: ...
    @property
    def purchases(self) -> PurchaseRepository: ...
    @property
    def grants(self) -> GrantRepository: ...
    @property
    def ledger(self) -> CommerceLedger: ...
    @property
    def tiers(self) -> TierRepository: ...
    @property
    def subscriptions(self) -> SubscriptionRepository: ...
    @property
    def credits(self) -> CreditLedgerRepository: ...
    @property
    def credit_packs(self) -> CreditPackRepository: ...
    @property
    def offerings(self) -> OfferingRepository: ...
    @property
    def seats(self) -> SeatRepository: ...
    @property
    def bookings(self) -> BookingRepository: ...
    @property
    def waitlist(self) -> WaitlistRepository: ...
    @property
    def installments(self) -> InstallmentRepository: ...
    @property
    def portals(self) -> PortalRepository: ...
    @property
    def calendar_feeds(self) -> CalendarFeedRepository: ...
    @property
    def resources(self) -> ResourceRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def email_logs(self) -> EmailLogRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def notifications(self) -> NotificationRepository: ...
    @property
    def invitations(self) -> InvitationRepository: ...
    @property
    def payout_accounts(self) -> PayoutAccountRepository: ...
    @property
    def earnings(self) -> EarningsRepository: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def analytics(self) -> AnalyticsStore: ...

    @property
    def read_only(self) -> bool:
        """Opened for reading only: it holds no write lock and is never committed."""
        ...

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
        """Persist changed aggregates, write their events to the outbox (and those the
        analytics journal keeps to it), commit.

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
