"""Monthly installments: how a price splits, when each falls due, and an installment's
life through charges, declines, retries and cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.offerings.installments import (
    MAX_ATTEMPTS,
    MAX_INSTALLMENTS,
    MIN_INSTALLMENTS,
    RETRY_AFTER,
    STALE_CHARGE,
    Installment,
    InstallmentStatus,
    plan,
    split,
)
from domain.offerings.offering import Offering
from domain.values import Money, Slug

T0 = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


def test_a_price_that_does_not_divide_puts_the_remainder_in_the_first() -> None:
    assert split(Money("100.00", "usd"), 3) == [
        Money("33.34", "usd"), Money("33.33", "usd"), Money("33.33", "usd")]


def test_currencies_without_minor_units_split_in_whole_units() -> None:
    assert split(Money("1000", "jpy"), 3) == [
        Money("334", "jpy"), Money("333", "jpy"), Money("333", "jpy")]


@given(cents=st.integers(min_value=MAX_INSTALLMENTS, max_value=10**9),
       count=st.integers(min_value=MIN_INSTALLMENTS, max_value=MAX_INSTALLMENTS))
def test_installments_add_up_to_the_price_and_differ_by_less_than_a_payment(
        cents: int, count: int) -> None:
    price = Money(Decimal(cents).scaleb(-2), "usd")
    amounts = split(price, count)
    assert len(amounts) == count
    assert sum((a.amount for a in amounts), Decimal(0)) == price.amount
    assert all(a.amount > 0 for a in amounts)
    assert len({a.amount for a in amounts[1:]}) == 1
    # The first carries the remainder: less than one cent per other installment.
    assert Decimal(0) <= amounts[0].amount - amounts[1].amount < Decimal("0.01") * count


@pytest.mark.parametrize("count", [0, 1, MAX_INSTALLMENTS + 1])
def test_a_plan_outside_the_bounds_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="installments"):
        split(Money("100.00", "usd"), count)


def test_installments_fall_due_monthly_from_the_booking_keeping_its_day() -> None:
    made = plan(booking_id=uuid4(), price=Money("120.00", "usd"), count=4, now=T0,
                ids=[uuid4() for _ in range(4)])
    # The 31st becomes the last day of shorter months, and comes back when it can.
    assert [i.due_at.date().isoformat() for i in made] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    assert [i.number for i in made] == [1, 2, 3, 4]
    assert all(i.status is InstallmentStatus.SCHEDULED for i in made)


def installment(**changes: Any) -> Installment:
    fields: dict[str, Any] = {"id": uuid4(), "booking_id": uuid4(), "number": 2,
                              "amount": Money("40.00", "usd"), "due_at": T0,
                              "updated_at": T0 - timedelta(days=30)}
    return Installment(**(fields | changes))


def test_only_a_due_installment_is_claimed_and_each_claim_is_an_attempt() -> None:
    early = installment(due_at=T0 + timedelta(days=1))
    assert not early.claim(T0)
    due = installment()
    assert due.claim(T0)
    assert (due.status, due.attempts, due.updated_at) == (InstallmentStatus.CHARGING, 1, T0)
    # A second worker finds it claimed.
    assert not due.claim(T0 + timedelta(minutes=1))
    assert due.attempts == 1


def test_a_claim_left_unanswered_is_taken_again_as_the_same_attempt() -> None:
    due = installment()
    assert due.claim(T0)
    assert not due.claim(T0 + STALE_CHARGE - timedelta(seconds=1))
    assert due.claim(T0 + STALE_CHARGE)
    assert due.attempts == 1


def test_declines_are_retried_until_the_last_attempt_ends_the_plan() -> None:
    due = installment()
    now = T0
    for attempt in range(1, MAX_ATTEMPTS):
        assert due.claim(now)
        assert due.attempts == attempt
        assert due.decline(now) is False
        assert (due.status, due.due_at) == (InstallmentStatus.SCHEDULED, now + RETRY_AFTER)
        assert not due.claim(now + RETRY_AFTER - timedelta(seconds=1))
        now += RETRY_AFTER
    assert due.claim(now)
    assert due.decline(now) is True
    assert due.status is InstallmentStatus.FAILED
    assert not due.claim(now + RETRY_AFTER)


def test_a_decline_of_an_installment_not_being_charged_changes_nothing() -> None:
    due = installment()
    assert due.decline(T0) is False
    assert (due.status, due.attempts) == (InstallmentStatus.SCHEDULED, 0)


def test_a_payment_settles_once_even_after_a_cancellation() -> None:
    due = installment()
    due.claim(T0)
    assert due.cancel(T0)
    # The charge was already under way and the money came: it counts (and is refunded
    # by the caller because the booking has ended).
    assert due.settle("pi_late", T0 + timedelta(minutes=1))
    assert (due.status, due.payment_intent_id) == (InstallmentStatus.PAID, "pi_late")
    assert not due.settle("pi_late", T0 + timedelta(minutes=2))
    assert not due.cancel(T0 + timedelta(minutes=3))


def test_only_installments_never_tried_reopen() -> None:
    untried, tried = installment(), installment()
    tried.claim(T0)
    for one in (untried, tried):
        one.cancel(T0)
    assert untried.reopen(T0) and untried.status is InstallmentStatus.SCHEDULED
    assert not tried.reopen(T0) and tried.status is InstallmentStatus.CANCELED


EVENT = {"date": "2027-03-01", "start_time": "19:00", "duration_minutes": 60}


def offering(**fields: Any) -> Offering:
    return Offering.create(
        id=uuid4(), creator_id=uuid4(), slug=Slug("course"), now=T0, currency="usd",
        fields={"title": "Course", "offering_type": "one_time_event", "schedule": EVENT,
                "capacity_type": "small_group", "max_participants": 12,
                "delivery_method": "online"} | fields)


def test_an_offering_paid_in_installments_needs_a_price_that_splits() -> None:
    assert offering(price="90.00", payment_options={"installments": 3}) \
        .payment_options.installments == 3
    for fields in ({"credit_cost": 5}, {"price": "0.02"}):
        with pytest.raises(ValidationError) as caught:
            offering(payment_options={"installments": 3}, **fields)
        assert (caught.value.field, caught.value.code) == (
            "payment_options.installments", "offering.options")
