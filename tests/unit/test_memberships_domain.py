"""The Subscription aggregate's monotonic rules, tier validation and billing calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest

from domain.errors import Conflict, NotFound, ValidationError
from domain.memberships.events import (
    MembershipCancellationScheduled,
    MembershipEnded,
    MembershipPaymentFailed,
    MembershipRenewed,
    MembershipStarted,
)
from domain.memberships.periods import add_months, period_end
from domain.memberships.subscription import BillingState, Subscription, SubscriptionStatus
from domain.memberships.tier import BillingPeriod, RuleAccess, SubscriptionTier

T0 = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
GRACE = timedelta(days=7)


def subscription() -> Subscription:
    return Subscription.start(id=uuid4(), customer_id=uuid4(), tier_id=uuid4(),
                              period=BillingPeriod.MONTHLY, now=T0)


def state(status: SubscriptionStatus, as_of: datetime, **changes: Any) -> BillingState:
    return attrs.evolve(BillingState(provider_id="sub_1", status=status, period_start=T0,
                                     period_end=add_months(T0, 1), as_of=as_of), **changes)


def kinds(s: Subscription) -> list[type]:
    return [type(e) for e in s.events]


def test_a_first_payment_starts_the_membership_once() -> None:
    s = subscription()
    assert s.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    assert s.apply(state(SubscriptionStatus.ACTIVE, T0 + timedelta(seconds=1)), grace=GRACE,
                   now=T0)
    assert kinds(s) == [MembershipStarted]
    assert s.provider_id == "sub_1" and s.is_member(T0)
    assert not s.is_member(add_months(T0, 1))


def test_an_older_state_is_never_applied() -> None:
    s = subscription()
    s.apply(state(SubscriptionStatus.PAST_DUE, T0 + timedelta(minutes=5)), grace=GRACE, now=T0)
    assert not s.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    assert s.status is SubscriptionStatus.PAST_DUE


def test_canceled_is_final() -> None:
    s = subscription()
    s.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    s.apply(state(SubscriptionStatus.CANCELED, T0 + timedelta(days=1)), grace=GRACE, now=T0)
    assert not s.apply(state(SubscriptionStatus.ACTIVE, T0 + timedelta(days=2)), grace=GRACE,
                       now=T0)
    assert s.status is SubscriptionStatus.CANCELED and s.canceled_at is not None
    assert kinds(s) == [MembershipStarted, MembershipEnded]


def test_past_due_keeps_access_until_grace_ends_and_a_payment_clears_it() -> None:
    s = subscription()
    s.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    failed_at = T0 + timedelta(days=31)
    s.apply(state(SubscriptionStatus.PAST_DUE, failed_at), grace=GRACE, now=failed_at)
    # A second failure notice moves nothing: grace counts from the first.
    s.apply(state(SubscriptionStatus.PAST_DUE, failed_at + timedelta(days=3)), grace=GRACE,
            now=failed_at + timedelta(days=3))
    assert s.grace_until == failed_at + GRACE
    assert s.is_member(failed_at + GRACE - timedelta(seconds=1))
    assert not s.is_member(failed_at + GRACE)
    assert kinds(s).count(MembershipPaymentFailed) == 1
    s.apply(state(SubscriptionStatus.ACTIVE, failed_at + timedelta(days=4),
                  period_end=add_months(T0, 3)), grace=GRACE, now=failed_at)
    assert s.grace_until is None and s.past_due_since is None


def test_scheduling_a_cancellation_is_announced_once() -> None:
    s = subscription()
    s.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    for minutes in (1, 2):
        s.apply(state(SubscriptionStatus.ACTIVE, T0 + timedelta(minutes=minutes),
                      cancel_at_period_end=True), grace=GRACE, now=T0)
    assert kinds(s).count(MembershipCancellationScheduled) == 1


def test_a_paid_invoice_is_noted_once_and_renewals_send_a_receipt() -> None:
    s = subscription()
    s.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    assert s.invoice_paid("in_1", renewal=False, now=T0)
    assert not s.invoice_paid("in_1", renewal=False, now=T0)
    assert s.invoice_paid("in_2", renewal=True, now=T0)
    assert kinds(s).count(MembershipRenewed) == 1 and s.paid_invoice_id == "in_2"


def test_only_an_unpaid_start_can_be_abandoned() -> None:
    s = subscription()
    assert s.abandon(T0) and s.status is SubscriptionStatus.CANCELED
    live = subscription()
    live.apply(state(SubscriptionStatus.ACTIVE, T0), grace=GRACE, now=T0)
    assert not live.abandon(T0)
    with pytest.raises(Conflict):
        live.attach("sub_other", T0)


def tier(**fields: object) -> SubscriptionTier:
    return SubscriptionTier.create(id=uuid4(), now=T0, currency="usd",
                                   fields={"name": "Gold", "price_monthly": "10.00", **fields})


def test_a_tier_needs_a_price_and_reports_repriced_periods() -> None:
    with pytest.raises(ValidationError) as raised:
        tier(price_monthly=None)
    assert raised.value.code == "tier.price_required"
    gold = tier(price_yearly="100.00")
    gold.stripe_price_monthly_id, gold.stripe_price_yearly_id = "price_m", "price_y"
    assert gold.edit({"price_monthly": "12.00"}, T0) == [BillingPeriod.MONTHLY]
    assert (gold.stripe_price_monthly_id, gold.stripe_price_yearly_id) == (None, "price_y")
    assert gold.edit({"name": "Golden"}, T0) == []
    with pytest.raises(NotFound):
        tier().price_for(BillingPeriod.YEARLY)


def test_a_failed_edit_changes_nothing() -> None:
    gold = tier()
    with pytest.raises(ValidationError):
        gold.edit({"name": "Renamed", "monthly_credits": -1}, T0)
    assert (gold.name, gold.monthly_credits) == ("Gold", 0)


def test_a_rule_for_one_offering_wins_over_its_type() -> None:
    special = UUID(int=7)
    gold = tier(offering_access_rules=[
        {"offering_type": "retreat", "access": "credits", "credit_cost": 3},
        {"offering_id": str(special), "access": "free"}])
    named, by_type = gold.rule_for(special, "retreat"), gold.rule_for(uuid4(), "retreat")
    assert named is not None and named.access is RuleAccess.FREE
    assert by_type is not None and by_type.credit_cost == 3
    assert gold.rule_for(uuid4(), "one_time_event") is None


@pytest.mark.parametrize(("start", "months", "expected"), [
    (datetime(2027, 1, 31, tzinfo=UTC), 1, datetime(2027, 2, 28, tzinfo=UTC)),
    (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
    (datetime(2027, 11, 30, tzinfo=UTC), 3, datetime(2028, 2, 29, tzinfo=UTC)),
    (datetime(2027, 3, 15, tzinfo=UTC), 12, datetime(2028, 3, 15, tzinfo=UTC)),
])
def test_months_end_on_the_same_day_or_the_months_last(start: datetime, months: int,
                                                        expected: datetime) -> None:
    assert add_months(start, months) == expected


def test_a_yearly_period_is_twelve_months() -> None:
    assert period_end(T0, BillingPeriod.YEARLY) == datetime(2028, 1, 31, 12, tzinfo=UTC)
