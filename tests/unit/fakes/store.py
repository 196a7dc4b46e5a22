"""What the fake database holds between units of work, and its row types."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from application.ports.catalog import Progress
from application.ports.identity import ThrottleState
from application.ports.mail import EmailLogEntry
from domain.analytics.daily import DayFacts
from domain.analytics.journal import JournalEntry
from domain.analytics.metrics import Metric
from domain.catalog.content import ContentItem
from domain.catalog.series import ContentSeries
from domain.commerce.purchase import Purchase
from domain.identity.session import AuthSession
from domain.identity.user import User
from domain.notifications.kinds import Channel, Kind, Notification
from domain.offerings.booking import Booking
from domain.offerings.installments import Installment
from domain.offerings.offering import Offering
from domain.payouts.accounts import PayoutAccount
from domain.payouts.earnings import EarningsEntry
from domain.payouts.invitations import Invitation
from domain.platform.settings import PlatformSettings


class Store:
    """What the fake database holds between units of work."""

    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self.sessions: dict[UUID, AuthSession] = {}
        self.throttle: dict[str, ThrottleState] = {}
        self.settings = PlatformSettings.defaults(UUID(int=0), datetime(2026, 1, 1, tzinfo=UTC))
        self.published_content: set[UUID] = set()
        self.outbox: dict[UUID, dict[str, Any]] = {}
        self.email_logs: list[EmailLogEntry] = []
        self.content: dict[UUID, ContentItem] = {}
        self.series: dict[UUID, ContentSeries] = {}
        self.views: set[tuple[UUID, str, datetime]] = set()
        self.grants: dict[UUID, GrantRow] = {}
        self.progress: dict[tuple[UUID, UUID], Progress] = {}
        self.purchases: dict[UUID, Purchase] = {}
        self.webhook_events: dict[str, tuple[str, str, datetime]] = {}
        self.refunds: dict[str, RefundRow] = {}
        self.idempotency_keys: dict[tuple[UUID, str, str], UUID] = {}
        self.memberships: list[Membership] = []
        self.offerings: dict[UUID, Offering] = {}
        self.bookings: dict[UUID, Booking] = {}
        self.seats: dict[tuple[UUID, str], int] = {}
        self.installments: dict[UUID, Installment] = {}
        self.invitations: dict[UUID, Invitation] = {}
        self.payout_accounts: dict[UUID, PayoutAccount] = {}
        self.payouts_cache: dict[UUID, tuple[list[Any], datetime]] = {}
        self.earnings: list[EarningsEntry] = []
        self.notifications: dict[UUID, Notification] = {}
        self.notification_preferences: dict[UUID, dict[Kind, Channel]] = {}
        self.journal: list[tuple[JournalEntry, datetime]] = []  # (entry, written at)
        self.analytics_facts: dict[date, DayFacts] = {}
        self.analytics_rows: dict[tuple[date, Metric, str], Decimal] = {}
        self.analytics_watermarks: dict[str, datetime] = {}
        self.analytics_locks = 0


@attrs.frozen
class GrantRow:
    """One content_access row."""

    id: UUID
    user_id: UUID
    content_id: UUID
    access_type: str
    expires_at: datetime | None
    granted_at: datetime
    last_accessed_at: datetime | None = None


@attrs.frozen
class RefundRow:
    purchase_id: UUID
    amount: Decimal
    currency: str
    created_at: datetime
    request_key: str | None = None
    status: str | None = None


@attrs.frozen
class Membership:
    """A subscription joined to its tier, reduced to what access needs."""

    user_id: UUID
    current_period_end: datetime
    full_catalog_access: bool = False
    categories: frozenset[str] = frozenset()
    status: str = "active"
    grace_until: datetime | None = None
    tier_name: str = "Members"

    def covers(self, item: ContentItem, now: datetime) -> bool:
        """The same rule as the access query (adapters/sqlalchemy/repositories/access.py)."""
        live = ((self.status in ("active", "trialing") and self.current_period_end > now)
                or (self.status == "past_due" and self.grace_until is not None
                    and self.grace_until > now))
        members_only = item.visibility.value == "members_only" and not self.categories
        return live and (self.full_catalog_access or item.category in self.categories
                         or members_only)
