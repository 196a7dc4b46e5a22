"""The Subscription aggregate: a customer's membership of one tier.

The provider (Stripe, or the sandbox) owns the billing truth; we hold a copy that
only ever moves forward. ``apply`` takes a state read from the provider and
refuses one older than what we already applied (events arrive late, twice, or
out of order), and nothing brings a canceled subscription back.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from domain.errors import Conflict
from domain.events import Aggregate
from domain.memberships.events import (
    MembershipCancellationScheduled,
    MembershipEnded,
    MembershipPaymentFailed,
    MembershipRenewed,
    MembershipStarted,
)
from domain.memberships.tier import BillingPeriod


class SubscriptionStatus(enum.StrEnum):
    INCOMPLETE = "incomplete"  # waiting for the first payment
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a renewal failed; access continues until grace_until
    CANCELED = "canceled"


LIVE = frozenset({SubscriptionStatus.INCOMPLETE, SubscriptionStatus.TRIALING,
                  SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})
MEMBER = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE,
                    SubscriptionStatus.PAST_DUE})


@attrs.frozen
class BillingState:
    """What the provider says about a subscription, and when it said it."""

    provider_id: str
    status: SubscriptionStatus
    period_start: datetime
    period_end: datetime
    as_of: datetime
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    canceled_at: datetime | None = None
    tier_id: UUID | None = None
    billing_period: BillingPeriod | None = None
    subscription_id: UUID | None = None  # ours, from the metadata we sent


@attrs.define
class Subscription(Aggregate):
    id: UUID
    customer_id: UUID
    tier_id: UUID
    billing_period: BillingPeriod
    current_period_start: datetime
    current_period_end: datetime
    created_at: datetime
    updated_at: datetime
    status: SubscriptionStatus = SubscriptionStatus.INCOMPLETE
    provider_id: str | None = None
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None
    canceled_at: datetime | None = None
    past_due_since: datetime | None = None
    grace_until: datetime | None = None
    synced_at: datetime | None = None
    paid_invoice_id: str | None = None
    paid_period_start: datetime | None = None
    payment_method_hint: str | None = None

    @classmethod
    def start(cls, *, id: UUID, customer_id: UUID, tier_id: UUID, period: BillingPeriod,
              now: datetime) -> Subscription:
        return cls(id=id, customer_id=customer_id, tier_id=tier_id, billing_period=period,
                   current_period_start=now, current_period_end=now, created_at=now,
                   updated_at=now)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    def is_member(self, now: datetime) -> bool:
        """Whether the membership opens content now: the same rule as the access query."""
        if self.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
            return self.current_period_end > now
        if self.status is SubscriptionStatus.PAST_DUE:
            return self.grace_until is not None and self.grace_until > now
        return False

    def attach(self, provider_id: str, now: datetime) -> None:
        if self.provider_id not in (None, provider_id):
            raise Conflict("This subscription is already at the provider.",
                           code="subscription.attached_twice")
        self.provider_id = provider_id
        self.updated_at = now

    def apply(self, state: BillingState, *, grace: timedelta, now: datetime) -> bool:
        """Take the provider's state if it is newer than the one applied; False if not."""
        if self.synced_at is not None and state.as_of < self.synced_at:
            return False
        if self.status is SubscriptionStatus.CANCELED:
            return False
        before = self.status
        if self.provider_id is None:
            self.provider_id = state.provider_id
        self.synced_at = state.as_of
        self.current_period_start = state.period_start
        self.current_period_end = max(state.period_end, state.period_start)
        self.trial_end = state.trial_end
        if state.tier_id is not None:
            self.tier_id = state.tier_id
        if state.billing_period is not None:
            self.billing_period = state.billing_period
        if state.cancel_at_period_end and not self.cancel_at_period_end:
            self.record(MembershipCancellationScheduled(self.id, self.customer_id,
                                                        self.current_period_end))
        self.cancel_at_period_end = state.cancel_at_period_end
        self.status = state.status
        if state.status is SubscriptionStatus.PAST_DUE and before is not state.status:
            self.past_due_since = now
            self.grace_until = now + grace
            self.record(MembershipPaymentFailed(self.id, self.customer_id, self.grace_until))
        elif state.status is not SubscriptionStatus.PAST_DUE:
            self.past_due_since = self.grace_until = None
        if state.status is SubscriptionStatus.CANCELED:
            self.canceled_at = state.canceled_at or now
            self.cancel_at_period_end = False
            if before in MEMBER:
                self.record(MembershipEnded(self.id, self.customer_id))
        elif before is SubscriptionStatus.INCOMPLETE and state.status in MEMBER:
            self.record(MembershipStarted(self.id, self.customer_id))
        self.updated_at = now
        return True

    def abandon(self, now: datetime) -> bool:
        """The first payment never happened (declined, or the customer chose another
        tier): the slot is freed without a membership having existed."""
        if self.status is not SubscriptionStatus.INCOMPLETE:
            return False
        self.status = SubscriptionStatus.CANCELED
        self.canceled_at = now
        self.updated_at = now
        return True

    def invoice_paid(self, invoice_id: str, *, renewal: bool, now: datetime) -> bool:
        """Note a paid invoice for the current period; True the first time it is seen."""
        if self.paid_invoice_id == invoice_id:
            return False
        self.paid_invoice_id = invoice_id
        self.paid_period_start = self.current_period_start
        self.updated_at = now
        if renewal:
            self.record(MembershipRenewed(self.id, self.customer_id, invoice_id))
        return True
