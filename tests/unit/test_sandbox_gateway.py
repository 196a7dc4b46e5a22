"""The sandbox payment gateway: deterministic, stateless, Stripe-test-card shaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.sandbox_payments.gateway import DECLINES, SUCCEEDS, SandboxGateway
from application.ports.payments import (
    InvalidWebhook,
    PaymentDeclined,
    PaymentEvent,
    PaymentGateway,
    PaymentIntent,
    RefundRecord,
)
from domain.memberships.subscription import Subscription
from domain.memberships.tier import BillingPeriod
from domain.values import Money

PURCHASE_ID = UUID("0190c0de-0000-7000-8000-0000000000a1")
OTHER_PURCHASE_ID = UUID("0190c0de-0000-7000-8000-0000000000a2")
USER_ID = UUID("0190c0de-0000-7000-8000-0000000000c1")
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"


def usd(text: str) -> Money:
    return Money(Decimal(text), "usd")


def pay(
    gateway: SandboxGateway | None = None,
    *,
    amount: Money | None = None,
    purchase_id: UUID = PURCHASE_ID,
    card: str | None = None,
) -> PaymentIntent:
    return (gateway or SandboxGateway()).create_payment(
        amount=amount or usd("9.99"),
        purchase_id=purchase_id,
        customer_id="sbx_cus_x",
        description=f"Purchase {purchase_id}",
        payment_method=card,
    )


def test_the_gateway_names_itself_and_delivers_events_inline() -> None:
    gateway = SandboxGateway()
    assert gateway.name == "sandbox"
    assert gateway.delivers_events_inline is True
    # It satisfies the port structurally.
    port: PaymentGateway = gateway
    assert port is gateway


def test_the_documented_test_cards() -> None:
    assert SUCCEEDS == "4242424242424242"
    assert DECLINES == {
        DECLINED_CARD: "card_declined",
        INSUFFICIENT_FUNDS_CARD: "insufficient_funds",
    }


# -- create_payment / retrieve_payment ------------------------------------------------


def test_the_default_card_succeeds() -> None:
    intent = pay()
    assert intent.status == "succeeded"
    assert intent.succeeded is True
    assert intent.failed is False
    assert intent.failure is None
    assert intent.amount == usd("9.99")
    assert intent.purchase_id == PURCHASE_ID
    assert PURCHASE_ID.hex in intent.id
    assert intent.client_secret is not None
    assert intent.client_secret.startswith(intent.id)


@pytest.mark.parametrize("card", [SUCCEEDS, "4242 4242 4242 4242"])
def test_the_success_card_explicitly(card: str) -> None:
    intent = pay(card=card)
    assert intent.succeeded
    assert intent == pay()


def test_the_intent_id_encodes_everything_retrieve_needs() -> None:
    intent = pay()
    # A fresh instance: nothing is kept between calls.
    again = SandboxGateway().retrieve_payment(intent.id)
    assert again.id == intent.id
    assert again.status == intent.status
    assert again.amount == intent.amount
    assert again.purchase_id == intent.purchase_id
    assert again.failure == intent.failure
    assert again.client_secret == intent.client_secret
    assert again == intent


def test_the_same_purchase_twice_is_the_same_payment() -> None:
    first = pay(SandboxGateway())
    second = pay(SandboxGateway())
    assert first.id == second.id
    assert first == second


def test_different_purchases_are_different_payments() -> None:
    assert pay(purchase_id=PURCHASE_ID).id != pay(purchase_id=OTHER_PURCHASE_ID).id


@pytest.mark.parametrize(
    ("card", "failure"),
    [(DECLINED_CARD, "card_declined"), (INSUFFICIENT_FUNDS_CARD, "insufficient_funds")],
)
def test_declining_cards_give_a_failed_intent(card: str, failure: str) -> None:
    gateway = SandboxGateway()
    intent = pay(gateway, card=card)
    assert intent.status != "succeeded"
    assert intent.succeeded is False
    assert intent.failed is True
    assert intent.failure == failure
    assert intent.purchase_id == PURCHASE_ID
    assert intent.amount == usd("9.99")
    assert intent.client_secret is not None
    again = SandboxGateway().retrieve_payment(intent.id)
    assert again == intent
    assert again.failure == failure
    assert pay(gateway, card=card).id == intent.id


@pytest.mark.parametrize("card", ["4111111111111111", "1234", "", "not a card", "42424242"])
def test_an_unknown_card_is_refused(card: str) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        pay(card=card or "0")
    assert caught.value.code == "payment.invalid_card"


@pytest.mark.parametrize(
    "intent_id",
    [
        "",
        "pi_123",
        "sbx_pi_nothex_s_9.99usd",
        f"sbx_pi_{PURCHASE_ID.hex}_zz_9.99usd",  # unknown outcome
        f"sbx_pi_{PURCHASE_ID.hex}_s",  # no amount
    ],
)
def test_an_unparseable_intent_id_is_an_unknown_payment(intent_id: str) -> None:
    with pytest.raises(InvalidWebhook) as caught:
        SandboxGateway().retrieve_payment(intent_id)
    assert caught.value.code == "payment.unknown"


@pytest.mark.parametrize(
    "intent_id",
    [
        f"sbx_pi_{PURCHASE_ID.hex}_s_9.99",  # no currency
        f"sbx_pi_{PURCHASE_ID.hex}_s_abcusd",  # amount is not a number
    ],
)
def test_an_unparseable_amount_in_the_intent_id_is_an_unknown_payment(intent_id: str) -> None:
    # retrieve_payment turns parse errors into InvalidWebhook(payment.unknown), but the
    # Money ValidationError raised while decoding the amount is not among those it catches.
    with pytest.raises(InvalidWebhook) as caught:
        SandboxGateway().retrieve_payment(intent_id)
    assert caught.value.code == "payment.unknown"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1000", "jpy"),
        ("1", "jpy"),
        ("0", "jpy"),
        ("1.005", "kwd"),
        ("0.001", "kwd"),
        ("123456.789", "bhd"),
        ("0.50", "eur"),
        ("99999999.99", "usd"),
    ],
)
def test_amounts_in_any_currency_round_trip(amount: str, currency: str) -> None:
    money = Money(Decimal(amount), currency)
    intent = pay(amount=money)
    assert intent.amount == money
    back = SandboxGateway().retrieve_payment(intent.id)
    assert back.amount == money
    assert back.amount.currency == currency
    assert str(back.amount.amount) == str(money.amount)


@given(
    minor_units=st.integers(min_value=0, max_value=10**12),
    currency_and_exponent=st.sampled_from(
        [("jpy", 0), ("krw", 0), ("kwd", 3), ("bhd", 3), ("usd", 2), ("eur", 2)]
    ),
    card=st.sampled_from([None, SUCCEEDS, DECLINED_CARD, INSUFFICIENT_FUNDS_CARD]),
    purchase_id=st.uuids(),
)
def test_any_payment_round_trips_through_its_id(
    minor_units: int, currency_and_exponent: tuple[str, int], card: str | None, purchase_id: UUID
) -> None:
    currency, exponent = currency_and_exponent
    money = Money(Decimal(minor_units).scaleb(-exponent), currency)
    intent = pay(amount=money, purchase_id=purchase_id, card=card)
    back = SandboxGateway().retrieve_payment(intent.id)
    assert back == intent
    assert back.amount == money
    assert back.purchase_id == purchase_id
    assert back.succeeded == (card in (None, SUCCEEDS))
    assert pay(amount=money, purchase_id=purchase_id, card=card).id == intent.id


# -- inline events -------------------------------------------------------------------


def test_inline_event_for_a_success() -> None:
    gateway = SandboxGateway()
    intent = pay(gateway)
    event = gateway.inline_event(intent)
    assert isinstance(event, PaymentEvent)
    assert event.type == "payment_intent.succeeded"
    assert event.intent_id == intent.id
    assert event.purchase_id == PURCHASE_ID
    assert event.amount == usd("9.99")
    assert isinstance(event.created, datetime)
    assert event.created.tzinfo is not None
    assert event.refunds == ()
    # Redelivering the same outcome carries the same event id.
    again = gateway.inline_event(intent)
    assert again is not None
    assert again.id == event.id


@pytest.mark.parametrize("card", [DECLINED_CARD, INSUFFICIENT_FUNDS_CARD])
def test_inline_event_for_a_decline(card: str) -> None:
    gateway = SandboxGateway()
    intent = pay(gateway, card=card)
    event = gateway.inline_event(intent)
    assert event is not None
    assert event.type == "payment_intent.payment_failed"
    assert event.intent_id == intent.id
    assert event.purchase_id == PURCHASE_ID
    assert event.amount == usd("9.99")
    success = gateway.inline_event(pay(gateway))
    assert success is not None
    assert event.id != success.id


# -- refunds ---------------------------------------------------------------------------


def test_refund_defaults_to_the_full_amount() -> None:
    gateway = SandboxGateway()
    intent = pay(gateway)
    refund = gateway.refund(intent_id=intent.id, amount=None, idempotency_key="refund-1")
    assert isinstance(refund, RefundRecord)
    assert refund.amount == usd("9.99")
    assert refund.status == "succeeded"
    assert refund.id.startswith("sbx_re_")


def test_a_partial_refund_keeps_its_amount() -> None:
    gateway = SandboxGateway()
    intent = pay(gateway)
    refund = gateway.refund(intent_id=intent.id, amount=usd("2.50"), idempotency_key="refund-1")
    assert refund.amount == usd("2.50")


def test_refund_id_depends_only_on_the_idempotency_key() -> None:
    intent = pay()
    other = pay(purchase_id=OTHER_PURCHASE_ID, amount=Money(Decimal(500), "jpy"))
    first = SandboxGateway().refund(intent_id=intent.id, amount=None, idempotency_key="k-1")
    same = SandboxGateway().refund(intent_id=intent.id, amount=None, idempotency_key="k-1")
    same_key_other_intent = SandboxGateway().refund(
        intent_id=other.id, amount=Money(Decimal(1), "jpy"), idempotency_key="k-1"
    )
    different = SandboxGateway().refund(intent_id=intent.id, amount=None, idempotency_key="k-2")
    assert first == same
    assert first.id == same_key_other_intent.id
    assert first.id != different.id


@given(key_a=st.text(min_size=1, max_size=200), key_b=st.text(min_size=1, max_size=200))
def test_refund_ids_follow_the_keys(key_a: str, key_b: str) -> None:
    gateway = SandboxGateway()
    intent = pay(gateway)
    a = gateway.refund(intent_id=intent.id, amount=None, idempotency_key=key_a)
    b = gateway.refund(intent_id=intent.id, amount=None, idempotency_key=key_b)
    assert (a.id == b.id) == (key_a == key_b)


def test_refund_of_an_unknown_payment_is_refused() -> None:
    with pytest.raises(InvalidWebhook) as caught:
        SandboxGateway().refund(intent_id="pi_unknown", amount=None, idempotency_key="k")
    assert caught.value.code == "payment.unknown"


def test_inline_refund_event_is_a_charge_refunded() -> None:
    gateway = SandboxGateway()
    intent = pay(gateway)
    refund = gateway.refund(intent_id=intent.id, amount=None, idempotency_key="refund-1")
    event = gateway.inline_refund_event(intent.id, intent.amount, refund)
    assert isinstance(event, PaymentEvent)
    assert event.type == "charge.refunded"
    assert event.intent_id == intent.id
    assert event.purchase_id == PURCHASE_ID
    assert event.amount == usd("9.99")
    assert tuple(event.refunds) == (refund,)
    assert refund.id in event.id
    assert event.created.tzinfo is not None
    again = gateway.inline_refund_event(intent.id, intent.amount, refund)
    assert again is not None
    assert again.id == event.id


# -- webhooks and customers -----------------------------------------------------------


@pytest.mark.parametrize(("payload", "signature"), [(b"{}", None), (b'{"id": "evt"}', "t=1,v1=x")])
def test_the_sandbox_receives_no_webhooks(payload: bytes, signature: str | None) -> None:
    with pytest.raises(InvalidWebhook) as caught:
        SandboxGateway().parse_event(payload, signature)
    assert caught.value.code == "webhook.not_configured"


def test_ensure_customer_keeps_an_existing_id() -> None:
    gateway = SandboxGateway()
    assert gateway.ensure_customer(
        user_id=USER_ID, email="a@example.com", existing_id="cus_existing"
    ) == "cus_existing"


def test_ensure_customer_makes_a_stable_id_per_user() -> None:
    first = SandboxGateway().ensure_customer(
        user_id=USER_ID, email="a@example.com", existing_id=None
    )
    again = SandboxGateway().ensure_customer(
        user_id=USER_ID, email="changed@example.com", existing_id=None
    )
    other = SandboxGateway().ensure_customer(
        user_id=OTHER_PURCHASE_ID, email="a@example.com", existing_id=None
    )
    assert first == again
    assert first != other
    assert USER_ID.hex in first
    assert first.startswith("sbx_cus_")


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


def test_creating_the_same_subscription_again_answers_as_the_first_time() -> None:
    created = datetime(2026, 3, 1, 12, 0, 0, 900_000, tzinfo=UTC)
    clock = _Clock(created)
    gateway = SandboxGateway(clock)
    subscription = Subscription.start(id=PURCHASE_ID, customer_id=USER_ID,
                                      tier_id=OTHER_PURCHASE_ID,
                                      period=BillingPeriod.MONTHLY, now=created)

    def create() -> tuple[str | None, datetime, datetime]:
        change = gateway.create_subscription(
            subscription=subscription, customer_id="sbx_cus_x", price_id="sbx_price",
            price=usd("4.00"), trial_days=0, payment_method=None)
        invoice = change.events[-1].invoice
        assert invoice is not None
        return invoice.id, change.state.period_start, change.state.period_end

    first = create()
    clock.at = created + timedelta(seconds=1)  # a double click in the next second
    assert create() == first
    clock.at = created + timedelta(hours=25)  # Stripe's key has expired: a new one
    later = create()
    assert later[0] != first[0] and later[1] == clock.at
