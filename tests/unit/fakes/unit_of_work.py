"""The unit of work over the fake store."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import TracebackType
from typing import Self
from uuid import UUID

from application.analytics.journal import journal_entries
from application.messagebus import EventRouting
from application.ports.credits import CreditLedgerRepository, CreditPackRepository
from application.ports.identity import ApiKeyRepository
from application.ports.memberships import SubscriptionRepository, TierRepository
from application.ports.offerings import (
    CalendarFeedRepository,
    PortalRepository,
    ResourceRepository,
    WaitlistRepository,
)
from application.unit_of_work import collect_events
from tests.unit.fakes.access import FakeAccessFacts
from tests.unit.fakes.analytics import FakeAnalyticsStore, FakeJournal
from tests.unit.fakes.catalog import (
    FakeCatalogQueries,
    FakeContentRepository,
    FakeProgressRepository,
    FakeSeriesRepository,
)
from tests.unit.fakes.commerce import (
    FakeCommerceLedger,
    FakeGrantRepository,
    FakePurchaseRepository,
)
from tests.unit.fakes.identity import (
    FakeSessionRepository,
    FakeThrottleRepository,
    FakeUserRepository,
)
from tests.unit.fakes.mail import FakeEmailLogRepository
from tests.unit.fakes.notifications import FakeNotificationRepository
from tests.unit.fakes.offerings import (
    FakeBookingRepository,
    FakeInstallmentRepository,
    FakeOfferingRepository,
    FakeSeatRepository,
)
from tests.unit.fakes.outbox import FakeOutboxRepository
from tests.unit.fakes.payouts import (
    FakeEarningsRepository,
    FakeInvitationRepository,
    FakePayoutAccountRepository,
)
from tests.unit.fakes.settings import FakeSettingsRepository
from tests.unit.fakes.store import Store
from tests.unit.fakes.system import FrozenClock, SequentialIds
from tests.unit.fakes.unfaked import not_faked


class FakeUnitOfWork:
    """A transaction over the fake store.

    It copies aggregates out on read and back on commit, so an uncommitted change is
    lost exactly as a rolled-back transaction would lose it.
    """

    def __init__(self, store: Store, ids: SequentialIds, routing: EventRouting,
                 clock: FrozenClock, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._store = store
        self._ids = ids
        self._routing = routing
        self._clock = clock
        self._committed: list[UUID] = []
        self.commits = 0

    def __enter__(self) -> Self:
        self._begin()
        return self

    # The areas the unit tests do not run (tests.unit.fakes.unfaked).
    @property
    def tiers(self) -> TierRepository:
        raise not_faked("uow.tiers")

    @property
    def subscriptions(self) -> SubscriptionRepository:
        raise not_faked("uow.subscriptions")

    @property
    def credits(self) -> CreditLedgerRepository:
        raise not_faked("uow.credits")

    @property
    def credit_packs(self) -> CreditPackRepository:
        raise not_faked("uow.credit_packs")

    @property
    def waitlist(self) -> WaitlistRepository:
        raise not_faked("uow.waitlist")

    @property
    def portals(self) -> PortalRepository:
        raise not_faked("uow.portals")

    @property
    def calendar_feeds(self) -> CalendarFeedRepository:
        raise not_faked("uow.calendar_feeds")

    @property
    def resources(self) -> ResourceRepository:
        raise not_faked("uow.resources")

    @property
    def api_keys(self) -> ApiKeyRepository:
        raise not_faked("uow.api_keys")

    def _begin(self) -> None:
        # Everything but users is staged as a deep copy; users are copied per read.
        self._staged = Store()
        self._staged.users = self._store.users
        self._staged.sessions = copy.deepcopy(self._store.sessions)
        self._staged.throttle = dict(self._store.throttle)
        self._staged.settings = copy.deepcopy(self._store.settings)
        self._staged.published_content = self._store.published_content
        self._staged.outbox = copy.deepcopy(self._store.outbox)
        self._staged.email_logs = list(self._store.email_logs)
        self._staged.content = self._store.content
        self._staged.series = self._store.series
        self._staged.views = set(self._store.views)
        self._staged.grants = dict(self._store.grants)
        self._staged.progress = dict(self._store.progress)
        self._staged.purchases = self._store.purchases
        self._staged.webhook_events = dict(self._store.webhook_events)
        self._staged.refunds = dict(self._store.refunds)
        self._staged.idempotency_keys = dict(self._store.idempotency_keys)
        self._staged.memberships = list(self._store.memberships)
        self._staged.offerings = self._store.offerings
        self._staged.bookings = self._store.bookings
        self._staged.seats = dict(self._store.seats)
        self._staged.installments = self._store.installments
        self._staged.invitations = self._store.invitations
        self._staged.payout_accounts = self._store.payout_accounts
        self._staged.payouts_cache = dict(self._store.payouts_cache)
        self._staged.earnings = list(self._store.earnings)
        self._staged.notifications = dict(self._store.notifications)
        self._staged.notification_preferences = copy.deepcopy(
            self._store.notification_preferences)
        self._staged.journal = list(self._store.journal)
        self._staged.analytics_facts = self._store.analytics_facts
        self._staged.analytics_rows = dict(self._store.analytics_rows)
        self._staged.analytics_watermarks = dict(self._store.analytics_watermarks)
        self.users = FakeUserRepository(self._store, self._staged)
        self.sessions = FakeSessionRepository(self._staged, self.users)
        self.throttle = FakeThrottleRepository(self._staged)
        self.settings = FakeSettingsRepository(self._staged)
        self.content = FakeContentRepository(self._staged)
        self.series = FakeSeriesRepository(self._staged)
        self.catalog = FakeCatalogQueries(self.content)
        self.progress = FakeProgressRepository(self._staged, self.content)
        self.purchases = FakePurchaseRepository(self._staged)
        self.grants = FakeGrantRepository(self._staged)
        self.access = FakeAccessFacts(self._staged, self.users, self.content, self.purchases)
        self.bookings = FakeBookingRepository(self._staged)
        self.installments = FakeInstallmentRepository(self._staged)
        self.ledger = FakeCommerceLedger(self._staged, self.content, self.series,
                                         self.purchases, self._payments)
        self.outbox = FakeOutboxRepository(self._staged, self._ids)
        self.email_logs = FakeEmailLogRepository(self._staged)
        self.offerings = FakeOfferingRepository(self._staged)
        self.seats = FakeSeatRepository(self._staged)
        self.invitations = FakeInvitationRepository(self._staged)
        self.payout_accounts = FakePayoutAccountRepository(self._staged)
        self.earnings = FakeEarningsRepository(self._staged)
        self.notifications = FakeNotificationRepository(self._staged)
        self.journal = FakeJournal(self._staged)
        self.analytics = FakeAnalyticsStore(self._staged)

    def _payments(self) -> Iterator[str | None]:
        for rows in ({**self._staged.purchases, **self.purchases.seen},
                     {**self._staged.bookings, **self.bookings.seen},
                     {**self._staged.installments, **self.installments.seen}):
            yield from (row.payment_intent_id for row in rows.values())

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def commit(self) -> None:
        events = collect_events(iter(self.users.seen.values()))
        events += collect_events(iter([self._staged.settings]))
        events += collect_events(iter(self.content.seen.values()))
        events += collect_events(iter(self.series.seen.values()))
        events += collect_events(iter(self.purchases.seen.values()))
        events += collect_events(iter(self.offerings.seen.values()))
        events += collect_events(iter(self.bookings.seen.values()))
        events += collect_events(iter(self.invitations.seen.values()))
        events += collect_events(iter(self.payout_accounts.seen.values()))
        now_ids = []
        for event in events:
            for handler in self._routing.handler_names_for(event):
                now_ids.append(self.outbox.add(event, handler, self._clock.now()))
        now = self._clock.now()
        self.journal.record(journal_entries(events, now, self._ids.new_id), now)
        self._store.users.update(copy.deepcopy(self.users.seen))
        self._store.sessions = self._staged.sessions
        self._store.throttle = self._staged.throttle
        self._store.settings = self._staged.settings
        self._store.outbox = self._staged.outbox
        self._store.email_logs = self._staged.email_logs
        self._store.content.update(copy.deepcopy(self.content.seen))
        self._store.series.update(copy.deepcopy(self.series.seen))
        self._store.views = self._staged.views
        self._store.grants = self._staged.grants
        self._store.progress = self._staged.progress
        self._store.purchases.update(copy.deepcopy(self.purchases.seen))
        self._store.webhook_events = self._staged.webhook_events
        self._store.refunds = self._staged.refunds
        self._store.idempotency_keys = self._staged.idempotency_keys
        self._store.memberships = self._staged.memberships
        self._store.offerings.update(copy.deepcopy(self.offerings.seen))
        self._store.bookings.update(copy.deepcopy(self.bookings.seen))
        self._store.installments.update(copy.deepcopy(self.installments.seen))
        self._store.seats = self._staged.seats
        self._store.invitations.update(copy.deepcopy(self.invitations.seen))
        self._store.payout_accounts.update(copy.deepcopy(self.payout_accounts.seen))
        self._store.payouts_cache = self._staged.payouts_cache
        self._store.earnings = self._staged.earnings
        self._store.notifications = self._staged.notifications
        self._store.notification_preferences = self._staged.notification_preferences
        self._store.journal = self._staged.journal
        self._store.analytics_rows = self._staged.analytics_rows
        self._store.analytics_watermarks = self._staged.analytics_watermarks
        self._store.analytics_locks += self._staged.analytics_locks
        self._committed.extend(now_ids)
        self.commits += 1
        users, content, series, purchases = (self.users.seen, self.content.seen,
                                             self.series.seen, self.purchases.seen)
        self._begin()
        # As the SQL trackers do, a commit keeps watching what was loaded before it: a
        # change made after one commit is written by the next.
        self.users.seen.update(users)
        self.content.seen.update(content)
        self.series.seen.update(series)
        self.purchases.seen.update(purchases)

    def rollback(self) -> None:
        self._begin()

    @property
    def committed_outbox_ids(self) -> list[UUID]:
        return list(self._committed)
