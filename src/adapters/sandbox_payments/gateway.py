"""A clearly labelled sandbox gateway for the embedded default and for demos.

No money moves and nothing leaves the machine. The card "number" sent as the
payment method decides the outcome, like Stripe's test cards:

    4242424242424242   succeeds (also the default when none is given)
    4000000000000002   declined (card_declined)
    4000000000009995   declined (insufficient_funds)
    4000000000000341   a subscription's first payment (or a plan's first installment)
                       succeeds, every later charge fails

It keeps no state: ids encode what it needs (the purchase or subscription id and
the card's outcome), so it survives restarts and works from any process. Events
are handed back to the application, which runs them through the same use case as
Stripe's webhooks; subscription events carry the state they leave, since there is
no API to read it from. Its time is the platform's sandbox clock, which
``patronage sandbox advance`` moves forward: ``renew`` then bills what fell due.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from application.ports.billing import InvoiceFacts, TierPrices, TierSync
from application.ports.payments import (
    BillingChange,
    InvalidWebhook,
    PaymentDeclined,
    PaymentEvent,
    PaymentIntent,
    RefundRecord,
)
from application.ports.payouts import PayoutRecord, Transfer
from application.ports.system import Clock
from domain.errors import ValidationError
from domain.memberships.periods import period_end
from domain.memberships.subscription import BillingState, Subscription, SubscriptionStatus
from domain.memberships.tier import BillingPeriod, SubscriptionTier
from domain.payouts.accounts import AccountStatus
from domain.values import Money

SUCCEEDS = "4242424242424242"
RENEWALS_FAIL = "4000000000000341"
DECLINES = {"4000000000000002": "card_declined", "4000000000009995": "insufficient_funds"}
# Short outcome codes keep the intent id splittable on "_".
_OUTCOMES = {"s": None, "rf": None, "cd": "card_declined", "if": "insufficient_funds"}
_CODES = {reason: code for code, reason in _OUTCOMES.items() if reason}
# A saved sandbox card is named by its outcome: "s" pays, "rf" is declined.
_SAVED = "sbx_pm_"


def _encode_amount(amount: Money) -> str:
    return f"{amount.amount}{amount.currency}"


def _decode_amount(text: str) -> Money:
    return Money(text[:-3], text[-3:])


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _card_outcome(payment_method: str | None) -> str:
    card = (payment_method or SUCCEEDS).replace(" ", "")
    if card == RENEWALS_FAIL:
        return "rf"
    if card in DECLINES:
        raise PaymentDeclined(f"Your card was declined ({DECLINES[card]}).",
                              details={"reason": DECLINES[card]})
    if card != SUCCEEDS:
        raise PaymentDeclined("Sandbox: use a test card (4242424242424242 succeeds).",
                              code="payment.invalid_card")
    return "s"


# How long Stripe keeps an idempotency key's answer.
IDEMPOTENCY_WINDOW = timedelta(hours=24)


class SandboxGateway:
    name = "sandbox"
    delivers_events_inline = True

    def __init__(self, clock: Clock | None = None) -> None:
        # The platform's (movable) sandbox clock, set when the core is wired.
        self.clock: Clock = clock or _UtcClock()

    def ensure_customer(self, *, user_id: UUID, email: str, existing_id: str | None) -> str:
        return existing_id or f"sbx_cus_{user_id.hex}"

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None,
                       save_card: bool = False, transfer: Transfer | None = None
                       ) -> PaymentIntent:
        _check_transfer(amount, transfer)
        card = (payment_method or SUCCEEDS).replace(" ", "")
        if save_card and card == RENEWALS_FAIL:
            outcome = "rf"
        elif card not in DECLINES and card != SUCCEEDS:
            raise PaymentDeclined("Sandbox: use a test card (4242424242424242 succeeds).",
                                  code="payment.invalid_card")
        else:
            outcome = "s" if card == SUCCEEDS else _CODES[DECLINES[card]]
        # Same purchase, same payment: retrying never makes a second one.
        intent_id = f"sbx_pi_{purchase_id.hex}_{outcome}_{_encode_amount(amount)}"
        return self.retrieve_payment(intent_id)

    def retrieve_payment(self, intent_id: str) -> PaymentIntent:
        try:
            prefix, kind, purchase_hex, outcome, amount = intent_id.split("_", 4)
            if (prefix, kind) != ("sbx", "pi"):
                raise ValueError("not a sandbox payment id")
            purchase_id = UUID(purchase_hex)
            money = _decode_amount(amount)
            failure = _OUTCOMES[outcome]
        except (ValueError, KeyError, ValidationError) as exc:
            raise InvalidWebhook("Unknown sandbox payment.", code="payment.unknown") from exc
        succeeded = failure is None
        return PaymentIntent(
            id=intent_id, status="succeeded" if succeeded else "requires_payment_method",
            amount=money, client_secret=f"{intent_id}_secret_sandbox", purchase_id=purchase_id,
            failure=failure, payment_method=f"{_SAVED}{outcome}" if succeeded else None)

    def charge_saved(self, *, amount: Money, purchase_id: UUID, customer_id: str,
                     payment_method: str, description: str, attempt: int,
                     transfer: Transfer | None = None) -> PaymentIntent:
        _check_transfer(amount, transfer)
        if payment_method == f"{_SAVED}rf":
            raise PaymentDeclined("Your card was declined (card_declined).",
                                  details={"reason": "card_declined"})
        if payment_method != f"{_SAVED}s":
            raise PaymentDeclined("Sandbox: no such saved card.", code="payment.invalid_card")
        return self.retrieve_payment(f"sbx_pi_{purchase_id.hex}_s_{_encode_amount(amount)}")

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str,
               reverse_transfer: bool = False) -> RefundRecord:
        intent = self.retrieve_payment(intent_id)
        refunded = amount or intent.amount
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return RefundRecord(id=f"sbx_re_{digest}", amount=refunded)

    def parse_event(self, payload: bytes, signature: str | None) -> PaymentEvent:
        raise InvalidWebhook("The sandbox gateway receives no webhooks.",
                             code="webhook.not_configured")

    def inline_event(self, intent: PaymentIntent) -> PaymentEvent | None:
        kind = "payment_intent.succeeded" if intent.succeeded else "payment_intent.payment_failed"
        return PaymentEvent(id=f"sbx_evt_{kind}_{intent.id}", type=kind,
                            created=self.clock.now(), intent_id=intent.id,
                            purchase_id=intent.purchase_id, amount=intent.amount,
                            payment_method=intent.payment_method)

    def inline_refund_event(self, intent_id: str, paid: Money, refund: RefundRecord
                            ) -> PaymentEvent | None:
        intent = self.retrieve_payment(intent_id)
        return PaymentEvent(id=f"sbx_evt_refund_{refund.id}", type="charge.refunded",
                            created=self.clock.now(), intent_id=intent_id,
                            purchase_id=intent.purchase_id, amount=paid, refunds=(refund,))

    # --- Connect: media owners' accounts ------------------------------------------------
    # Onboarding completes at once: the link leads straight back, and the account it
    # was made for can be paid from then on. No payouts are ever made.

    def create_connected_account(self, *, user_id: UUID, email: str) -> AccountStatus:
        return AccountStatus(account_id=f"sbx_acct_{user_id.hex}", charges_enabled=False,
                             payouts_enabled=False, details_submitted=False,
                             requirements_due=("external_account", "tos_acceptance.date"),
                             as_of=self.clock.now())

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str
                            ) -> str:
        self._account(account_id)
        return return_url

    def retrieve_account(self, account_id: str) -> AccountStatus:
        return self._account(account_id)

    def inline_account_event(self, account_id: str) -> PaymentEvent | None:
        status = self._account(account_id)
        return PaymentEvent(id=f"sbx_evt_account.updated_{account_id}_"
                               f"{status.as_of.timestamp():.6f}",
                            type="account.updated", created=status.as_of, account=status)

    def list_payouts(self, account_id: str, limit: int) -> list[PayoutRecord]:
        self._account(account_id)
        return []

    def _account(self, account_id: str) -> AccountStatus:
        if not account_id.startswith("sbx_acct_"):
            raise InvalidWebhook("Unknown sandbox account.", code="payment.unknown")
        return AccountStatus(account_id=account_id, charges_enabled=True, payouts_enabled=True,
                             details_submitted=True, requirements_due=(),
                             as_of=self.clock.now())

    # --- memberships ------------------------------------------------------------------

    def mirror_tier(self, tier: SubscriptionTier, *, apply: bool) -> TierSync:
        """Nothing to mirror: the sandbox's price ids name the tier and the amount."""
        def price(period: BillingPeriod, amount: Money | None) -> str | None:
            return (f"sbx_price_{tier.id.hex}_{period.value}_{_encode_amount(amount)}"
                    if amount is not None else None)
        return TierSync(TierPrices(product_id=f"sbx_prod_{tier.id.hex}",
                                   monthly=price(BillingPeriod.MONTHLY, tier.price_monthly),
                                   yearly=price(BillingPeriod.YEARLY, tier.price_yearly)))

    def create_subscription(self, *, subscription: Subscription, customer_id: str,
                            price_id: str, price: Money, trial_days: int,
                            payment_method: str | None) -> BillingChange:
        outcome = _card_outcome(payment_method)
        now = self.clock.now()
        provider_id = f"sbx_sub_{subscription.id.hex}_{outcome}"
        # Stripe answers a repeated creation (same idempotency key, kept 24 hours) with
        # the subscription it made the first time: the period and first invoice hang on
        # our subscription, not on when the request came, so a double click straddling a
        # second is not billed twice.
        start = (subscription.created_at if now - subscription.created_at < IDEMPOTENCY_WINDOW
                 else now)
        trial_end = start + timedelta(days=trial_days) if trial_days else None
        state = BillingState(
            provider_id=provider_id,
            status=SubscriptionStatus.TRIALING if trial_end else SubscriptionStatus.ACTIVE,
            period_start=start, period_end=trial_end or period_end(start,
                                                                   subscription.billing_period),
            as_of=now, trial_end=trial_end, tier_id=subscription.tier_id,
            billing_period=subscription.billing_period, subscription_id=subscription.id)
        invoice = InvoiceFacts(id=_invoice_id(provider_id, start), subscription_ref=provider_id,
                               billing_reason="subscription_create",
                               amount_paid=Money("0", price.currency) if trial_end else price)
        card = (payment_method or SUCCEEDS).replace(" ", "")
        return BillingChange(state=state, payment_method_hint=f"card ending {card[-4:]}",
                             events=(_event("customer.subscription.created", state),
                                     _event("invoice.paid", state, invoice)))

    def fetch_subscription(self, provider_id: str) -> BillingState:
        raise InvalidWebhook("The sandbox has no subscription API: its events carry the state.",
                             code="payment.unknown")

    def change_subscription(self, subscription: Subscription, *, tier_id: UUID,
                            period: BillingPeriod, price_id: str, price: Money,
                            idempotency_key: str) -> BillingChange:
        now = self.clock.now()
        state = _state(subscription, now, tier_id=tier_id, billing_period=period)
        events = [_event("customer.subscription.updated", state)]
        if period is not subscription.billing_period:
            # A new interval starts a new period at once, billed now (as Stripe does).
            state = attrs.evolve(state, period_start=now, period_end=period_end(now, period),
                                 status=SubscriptionStatus.ACTIVE, trial_end=None)
            invoice = InvoiceFacts(id=_invoice_id(state.provider_id, now),
                                   subscription_ref=state.provider_id,
                                   billing_reason="subscription_update", amount_paid=price)
            events = [_event("customer.subscription.updated", state),
                      _event("invoice.paid", state, invoice)]
        return BillingChange(state=state, events=tuple(events))

    def set_cancel_at_period_end(self, subscription: Subscription, cancel: bool,
                                 idempotency_key: str) -> BillingChange:
        state = _state(subscription, self.clock.now(), cancel_at_period_end=cancel)
        return BillingChange(state=state,
                             events=(_event("customer.subscription.updated", state),))

    def cancel_subscription(self, subscription: Subscription, idempotency_key: str
                            ) -> BillingChange:
        now = self.clock.now()
        state = _state(subscription, now, status=SubscriptionStatus.CANCELED, canceled_at=now,
                       cancel_at_period_end=False)
        return BillingChange(state=state,
                             events=(_event("customer.subscription.deleted", state),))

    def renew(self, subscription: Subscription, price: Money, now: datetime) -> BillingChange:
        """Bill the period that starts where the current one ends."""
        if subscription.cancel_at_period_end:
            state = _state(subscription, now, status=SubscriptionStatus.CANCELED,
                           canceled_at=subscription.current_period_end,
                           cancel_at_period_end=False)
            return BillingChange(state=state,
                                 events=(_event("customer.subscription.deleted", state),))
        start = subscription.current_period_end
        fails = (subscription.provider_id or "").endswith("_rf")
        state = _state(subscription, now, period_start=start,
                       period_end=period_end(start, subscription.billing_period),
                       status=SubscriptionStatus.PAST_DUE if fails else SubscriptionStatus.ACTIVE,
                       trial_end=None)
        invoice = InvoiceFacts(id=_invoice_id(state.provider_id, start),
                               subscription_ref=state.provider_id,
                               billing_reason="subscription_cycle",
                               amount_paid=None if fails else price)
        return BillingChange(state=state, events=(
            _event("customer.subscription.updated", state),
            _event("invoice.payment_failed" if fails else "invoice.paid", state, invoice)))


def _check_transfer(amount: Money, transfer: Transfer | None) -> None:
    """What Stripe refuses of a destination charge, the sandbox refuses too."""
    if transfer is None:
        return
    fee = transfer.application_fee
    if fee.currency != amount.currency or fee.is_negative or fee.amount > amount.amount:
        raise ValueError(f"an application fee of {fee} does not fit a payment of {amount}")
    if not transfer.destination.startswith("sbx_acct_"):
        raise InvalidWebhook("Unknown sandbox account.", code="payment.unknown")


def _invoice_id(provider_id: str, period_start: datetime) -> str:
    return f"sbx_in_{provider_id.removeprefix('sbx_sub_')}_{int(period_start.timestamp())}"


def _state(subscription: Subscription, now: datetime, **changes: Any) -> BillingState:
    state = BillingState(
        provider_id=subscription.provider_id or f"sbx_sub_{subscription.id.hex}_s",
        status=subscription.status, period_start=subscription.current_period_start,
        period_end=subscription.current_period_end, as_of=now,
        cancel_at_period_end=subscription.cancel_at_period_end,
        trial_end=subscription.trial_end, canceled_at=subscription.canceled_at,
        tier_id=subscription.tier_id, billing_period=subscription.billing_period,
        subscription_id=subscription.id)
    return attrs.evolve(state, **changes)


def _event(kind: str, state: BillingState, invoice: InvoiceFacts | None = None
           ) -> PaymentEvent:
    stamp = f"{state.as_of.timestamp():.6f}_{int(state.period_start.timestamp())}"
    return PaymentEvent(id=f"sbx_evt_{kind}_{state.provider_id}_{stamp}", type=kind,
                        created=state.as_of, subscription_ref=state.provider_id,
                        invoice=invoice, billing=state)

