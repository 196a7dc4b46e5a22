"""The commerce domain: the revenue split and the Purchase aggregate's state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.commerce.events import PurchaseCompleted, PurchaseFailed, PurchaseRefunded
from domain.commerce.purchase import Purchase, PurchaseStatus
from domain.commerce.revenue import DEFAULT_FEE_PERCENT, RevenueSplit, split_revenue
from domain.errors import Conflict
from domain.events import DomainEvent
from domain.identity.roles import Role
from domain.values import Money

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PURCHASE_ID = UUID("0190c0de-0000-7000-8000-0000000000a1")
CUSTOMER_ID = UUID("0190c0de-0000-7000-8000-0000000000c1")
CONTENT_ID = UUID("0190c0de-0000-7000-8000-0000000000d1")
SERIES_ID = UUID("0190c0de-0000-7000-8000-0000000000e1")

FEE_FREE_ROLES = (Role.PLATFORM_OWNER, Role.PLATFORM_CREATOR, Role.CUSTOMER)

# Money amounts from 0 to 99 999 999.99 with exactly two decimals.
two_decimal_amounts = st.integers(min_value=0, max_value=9_999_999_999).map(
    lambda cents: Decimal(cents).scaleb(-2)
)


def usd(text: str) -> Money:
    return Money(Decimal(text), "usd")


# -- split_revenue ---------------------------------------------------------------


def test_the_media_owner_fee_is_thirty_percent_by_default() -> None:
    assert Decimal("30") == DEFAULT_FEE_PERCENT
    assert split_revenue(usd("10.00"), Role.MEDIA_OWNER).platform_fee == usd("3.00")


@pytest.mark.parametrize("role", FEE_FREE_ROLES)
@pytest.mark.parametrize(
    ("amount", "currency"),
    [("9.99", "usd"), ("0.05", "usd"), ("0", "usd"), ("1000", "jpy"), ("1.005", "kwd")],
)
def test_platform_sellers_keep_everything(role: Role, amount: str, currency: str) -> None:
    money = Money(Decimal(amount), currency)
    split = split_revenue(money, role)
    assert split == RevenueSplit(
        amount=money, platform_fee=Money.zero(currency), creator_payout=money
    )
    assert split.platform_fee.is_zero
    assert split.creator_payout.amount == money.amount


@pytest.mark.parametrize(
    ("amount", "currency", "fee", "payout"),
    [
        ("9.99", "usd", "3.00", "6.99"),  # 2.997 -> 3.00
        ("0.05", "usd", "0.02", "0.03"),  # 0.015 -> half-even -> 0.02
        ("0.15", "usd", "0.04", "0.11"),  # 0.045 -> half-even -> 0.04 (not 0.05)
        ("0.25", "usd", "0.08", "0.17"),  # 0.075 -> half-even -> 0.08
        ("10.00", "usd", "3.00", "7.00"),
        ("0.01", "usd", "0.00", "0.01"),  # 0.003 -> 0.00
        ("0", "usd", "0.00", "0.00"),
        ("1000", "jpy", "300", "700"),
        ("5", "jpy", "2", "3"),  # 1.5 -> half-even -> 2
        ("25", "jpy", "8", "17"),  # 7.5 -> half-even -> 8
        ("15", "jpy", "4", "11"),  # 4.5 -> half-even -> 4 (not 5)
        ("1.005", "kwd", "0.302", "0.703"),  # 0.3015 -> half-even -> 0.302
        ("1.015", "kwd", "0.304", "0.711"),  # 0.3045 -> half-even -> 0.304 (not 0.305)
    ],
)
def test_media_owner_pays_thirty_percent_rounded_half_even(
    amount: str, currency: str, fee: str, payout: str
) -> None:
    split = split_revenue(Money(Decimal(amount), currency), Role.MEDIA_OWNER)
    assert split.amount == Money(Decimal(amount), currency)
    assert split.platform_fee == Money(Decimal(fee), currency)
    assert split.creator_payout == Money(Decimal(payout), currency)
    # The exact digits, not just numeric equality: the fee sits on the minor unit.
    assert str(split.platform_fee.amount) == fee
    assert str(split.creator_payout.amount) == payout


@given(
    amount=two_decimal_amounts,
    role=st.sampled_from(list(Role)),
    currency=st.sampled_from(["usd", "eur", "gbp"]),
)
def test_split_always_adds_up(amount: Decimal, role: Role, currency: str) -> None:
    money = Money(amount, currency)
    split = split_revenue(money, role)
    assert split.amount == money
    assert split.platform_fee.amount + split.creator_payout.amount == money.amount
    assert split.platform_fee + split.creator_payout == money
    assert split.platform_fee.amount >= 0
    assert split.creator_payout.amount >= 0
    assert split.platform_fee.currency == currency
    assert split.creator_payout.currency == currency
    assert split.amount.currency == currency
    # Both parts sit on the minor unit.
    assert split.platform_fee.amount.as_tuple().exponent == -2
    assert split.creator_payout.amount.as_tuple().exponent == -2


@given(amount=two_decimal_amounts)
def test_media_owner_fee_is_the_half_even_rounding_of_thirty_percent(amount: Decimal) -> None:
    split = split_revenue(Money(amount, "usd"), Role.MEDIA_OWNER)
    exact = amount * Decimal("0.30")
    assert split.platform_fee.amount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    assert abs(split.platform_fee.amount - exact) <= Decimal("0.005")


@given(amount=two_decimal_amounts, role=st.sampled_from(FEE_FREE_ROLES))
def test_fee_free_sellers_get_the_whole_amount(amount: Decimal, role: Role) -> None:
    split = split_revenue(Money(amount, "usd"), role)
    assert split.platform_fee.is_zero
    assert split.creator_payout == Money(amount, "usd")


@given(
    minor_units=st.integers(min_value=0, max_value=10**12),
    currency_and_exponent=st.sampled_from([("jpy", 0), ("kwd", 3), ("usd", 2), ("bhd", 3)]),
    role=st.sampled_from(list(Role)),
)
def test_split_adds_up_in_any_minor_unit(
    minor_units: int, currency_and_exponent: tuple[str, int], role: Role
) -> None:
    currency, exponent = currency_and_exponent
    money = Money(Decimal(minor_units).scaleb(-exponent), currency)
    split = split_revenue(money, role)
    assert split.platform_fee + split.creator_payout == money
    assert split.platform_fee.amount >= 0
    assert split.creator_payout.amount >= 0
    assert split.platform_fee.amount.as_tuple().exponent == -exponent


# -- Purchase.start and attach_payment --------------------------------------------


def start_purchase(
    *,
    content_id: UUID | None = CONTENT_ID,
    series_id: UUID | None = None,
    amount: Money | None = None,
    role: Role = Role.MEDIA_OWNER,
) -> Purchase:
    return Purchase.start(
        id=PURCHASE_ID,
        customer_id=CUSTOMER_ID,
        content_id=content_id,
        series_id=series_id,
        split=split_revenue(amount or usd("9.99"), role),
        now=T0,
    )


def test_start_of_a_content_item_is_pending_with_the_split() -> None:
    purchase = start_purchase()
    assert purchase.status is PurchaseStatus.PENDING
    assert purchase.content_id == CONTENT_ID
    assert purchase.series_id is None
    assert purchase.amount == usd("9.99")
    assert purchase.platform_fee == usd("3.00")
    assert purchase.creator_payout == usd("6.99")
    assert purchase.created_at == purchase.updated_at == T0
    assert purchase.payment_intent_id is None
    assert purchase.purchased_at is None
    assert purchase.refunded_at is None
    assert purchase.refund_reason is None
    assert purchase.events == []


def test_start_of_a_series() -> None:
    purchase = start_purchase(content_id=None, series_id=SERIES_ID)
    assert purchase.series_id == SERIES_ID
    assert purchase.content_id is None
    assert purchase.status is PurchaseStatus.PENDING


def test_start_refuses_both_content_and_series() -> None:
    with pytest.raises(ValueError, match="one content item, one series or one pack"):
        start_purchase(content_id=CONTENT_ID, series_id=SERIES_ID)


def test_start_refuses_neither_content_nor_series() -> None:
    with pytest.raises(ValueError, match="one content item, one series or one pack"):
        start_purchase(content_id=None, series_id=None)


def test_attach_payment_records_the_intent() -> None:
    purchase = start_purchase()
    later = T0 + timedelta(seconds=5)
    purchase.attach_payment("pi_1", later)
    assert purchase.payment_intent_id == "pi_1"
    assert purchase.updated_at == later


def test_attach_payment_accepts_the_same_intent_twice() -> None:
    purchase = start_purchase()
    purchase.attach_payment("pi_1", T0 + timedelta(seconds=1))
    purchase.attach_payment("pi_1", T0 + timedelta(seconds=2))
    assert purchase.payment_intent_id == "pi_1"
    assert purchase.updated_at == T0 + timedelta(seconds=2)


def test_attach_payment_refuses_a_second_different_intent() -> None:
    purchase = start_purchase()
    purchase.attach_payment("pi_1", T0 + timedelta(seconds=1))
    with pytest.raises(Conflict) as caught:
        purchase.attach_payment("pi_2", T0 + timedelta(seconds=2))
    assert caught.value.code == "purchase.paid_twice"
    assert purchase.payment_intent_id == "pi_1"
    assert purchase.updated_at == T0 + timedelta(seconds=1)


# -- Purchase transitions, example by example ---------------------------------------


def test_complete_then_refund() -> None:
    purchase = start_purchase()
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    assert purchase.complete(t1) is True
    assert purchase.status is PurchaseStatus.COMPLETED
    assert purchase.purchased_at == t1
    assert purchase.refund(t2, "requested_by_customer") is True
    assert purchase.status is PurchaseStatus.REFUNDED
    assert purchase.refunded_at == t2
    assert purchase.refund_reason == "requested_by_customer"
    assert purchase.purchased_at == t1
    assert purchase.events == [
        PurchaseCompleted(purchase_id=PURCHASE_ID, customer_id=CUSTOMER_ID),
        PurchaseRefunded(purchase_id=PURCHASE_ID, customer_id=CUSTOMER_ID),
    ]


def test_a_failed_purchase_may_still_complete() -> None:
    purchase = start_purchase()
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    assert purchase.fail(t1) is True
    assert purchase.status is PurchaseStatus.FAILED
    assert purchase.purchased_at is None
    assert purchase.complete(t2) is True
    assert purchase.status is PurchaseStatus.COMPLETED
    assert purchase.purchased_at == t2
    assert purchase.events == [
        PurchaseFailed(purchase_id=PURCHASE_ID, customer_id=CUSTOMER_ID),
        PurchaseCompleted(purchase_id=PURCHASE_ID, customer_id=CUSTOMER_ID),
    ]


def test_a_late_failure_after_success_changes_nothing() -> None:
    purchase = start_purchase()
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    purchase.complete(t1)
    assert purchase.fail(t2) is False
    assert purchase.status is PurchaseStatus.COMPLETED
    assert purchase.updated_at == t1
    assert len(purchase.events) == 1


def test_a_success_after_a_refund_changes_nothing() -> None:
    purchase = start_purchase()
    purchase.complete(T0 + timedelta(minutes=1))
    purchase.refund(T0 + timedelta(minutes=2), None)
    assert purchase.complete(T0 + timedelta(minutes=3)) is False
    assert purchase.status is PurchaseStatus.REFUNDED
    assert purchase.purchased_at == T0 + timedelta(minutes=1)
    assert purchase.refund_reason is None
    assert purchase.updated_at == T0 + timedelta(minutes=2)


def test_pending_and_failed_purchases_cannot_be_refunded() -> None:
    purchase = start_purchase()
    assert purchase.refund(T0 + timedelta(minutes=1), "x") is False
    purchase.fail(T0 + timedelta(minutes=2))
    assert purchase.refund(T0 + timedelta(minutes=3), "x") is False
    assert purchase.status is PurchaseStatus.FAILED
    assert purchase.refunded_at is None
    assert purchase.refund_reason is None


# -- Purchase transitions, any order ------------------------------------------------

ALLOWED = {
    (PurchaseStatus.PENDING, PurchaseStatus.COMPLETED),
    (PurchaseStatus.PENDING, PurchaseStatus.FAILED),
    (PurchaseStatus.FAILED, PurchaseStatus.COMPLETED),
    (PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED),
}
EVENT_FOR = {
    PurchaseStatus.COMPLETED: PurchaseCompleted,
    PurchaseStatus.FAILED: PurchaseFailed,
    PurchaseStatus.REFUNDED: PurchaseRefunded,
}


class PurchaseLifecycle(RuleBasedStateMachine):
    """complete/fail/refund in any order, with increasing timestamps."""

    def __init__(self) -> None:
        super().__init__()
        self.purchase = start_purchase()
        self.clock = T0
        self.expected_events: list[DomainEvent] = []
        self.completions = 0
        self.purchased_at: datetime | None = None
        self.refunded_at: datetime | None = None
        self.refund_reason: str | None = None
        self.last_change = T0

    def _tick(self, seconds: int) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def _check_step(
        self,
        before: PurchaseStatus,
        changed: bool,
        target: PurchaseStatus,
        now: datetime,
        events_before: int,
    ) -> None:
        after = self.purchase.status
        assert isinstance(changed, bool)
        # The method reports True exactly when the status moved, and only along an allowed edge.
        assert changed == (before is not after)
        assert changed == ((before, target) in ALLOWED)
        if changed:
            assert after is target
            assert (before, after) in ALLOWED
            assert self.purchase.updated_at == now
            self.last_change = now
            self.expected_events.append(
                EVENT_FOR[target](purchase_id=PURCHASE_ID, customer_id=CUSTOMER_ID)
            )
            assert len(self.purchase.events) == events_before + 1
        else:
            assert after is before
            assert self.purchase.updated_at == self.last_change
            assert len(self.purchase.events) == events_before

    @rule(seconds=st.integers(min_value=1, max_value=3600))
    def complete(self, seconds: int) -> None:
        now = self._tick(seconds)
        before, events_before = self.purchase.status, len(self.purchase.events)
        changed = self.purchase.complete(now)
        self._check_step(before, changed, PurchaseStatus.COMPLETED, now, events_before)
        if changed:
            self.completions += 1
            assert self.purchased_at is None
            self.purchased_at = now

    @rule(seconds=st.integers(min_value=1, max_value=3600))
    def fail(self, seconds: int) -> None:
        now = self._tick(seconds)
        before, events_before = self.purchase.status, len(self.purchase.events)
        changed = self.purchase.fail(now)
        self._check_step(before, changed, PurchaseStatus.FAILED, now, events_before)

    @rule(
        seconds=st.integers(min_value=1, max_value=3600),
        reason=st.none() | st.sampled_from(["requested_by_customer", "duplicate", "fraudulent"]),
    )
    def refund(self, seconds: int, reason: str | None) -> None:
        now = self._tick(seconds)
        before, events_before = self.purchase.status, len(self.purchase.events)
        changed = self.purchase.refund(now, reason)
        self._check_step(before, changed, PurchaseStatus.REFUNDED, now, events_before)
        if changed:
            assert self.refunded_at is None
            self.refunded_at = now
            self.refund_reason = reason

    @invariant()
    def events_match_transitions(self) -> None:
        assert self.purchase.events == self.expected_events
        completed = [e for e in self.purchase.events if isinstance(e, PurchaseCompleted)]
        assert len(completed) == self.completions <= 1

    @invariant()
    def purchased_at_is_set_once(self) -> None:
        assert self.purchase.purchased_at == self.purchased_at
        status = self.purchase.status
        if status in (PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED):
            assert self.purchase.purchased_at is not None
        else:
            assert self.purchase.purchased_at is None

    @invariant()
    def refund_fields_are_set_once(self) -> None:
        assert self.purchase.refunded_at == self.refunded_at
        assert self.purchase.refund_reason == self.refund_reason
        if self.purchase.status is PurchaseStatus.REFUNDED:
            assert self.purchase.refunded_at is not None
            assert self.purchase.purchased_at is not None
            assert self.purchase.refunded_at > self.purchase.purchased_at
        else:
            assert self.purchase.refunded_at is None

    @invariant()
    def money_and_identity_never_change(self) -> None:
        assert self.purchase.id == PURCHASE_ID
        assert self.purchase.customer_id == CUSTOMER_ID
        assert self.purchase.amount == usd("9.99")
        assert self.purchase.platform_fee == usd("3.00")
        assert self.purchase.creator_payout == usd("6.99")
        assert self.purchase.created_at == T0


PurchaseLifecycle.TestCase.settings = settings(max_examples=200, stateful_step_count=20)
TestPurchaseLifecycle = PurchaseLifecycle.TestCase


def test_refunded_is_terminal() -> None:
    purchase = start_purchase()
    purchase.complete(T0 + timedelta(minutes=1))
    purchase.refund(T0 + timedelta(minutes=2), "duplicate")
    snapshot = (purchase.status, purchase.updated_at, purchase.purchased_at,
                purchase.refunded_at, purchase.refund_reason, list(purchase.events))
    later = T0 + timedelta(minutes=3)
    assert purchase.complete(later) is False
    assert purchase.fail(later) is False
    assert purchase.refund(later, "fraudulent") is False
    assert snapshot == (purchase.status, purchase.updated_at, purchase.purchased_at,
                        purchase.refunded_at, purchase.refund_reason, list(purchase.events))
