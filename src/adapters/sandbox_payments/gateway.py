"""A clearly labelled sandbox gateway for the embedded default and for demos.

No money moves and nothing leaves the machine. The card "number" sent as the
payment method decides the outcome, like Stripe's test cards:

    4242424242424242   succeeds (also the default when none is given)
    4000000000000002   declined (card_declined)
    4000000000009995   declined (insufficient_funds)

It keeps no state: ids encode what it needs (the purchase id and the outcome), so
it survives restarts and works from any process. Events are handed back to the
application, which runs them through the same use case as Stripe's webhooks.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import UUID

from application.ports.payments import (
    InvalidWebhook,
    PaymentDeclined,
    PaymentEvent,
    PaymentIntent,
    RefundRecord,
)
from domain.errors import ValidationError
from domain.values import Money

SUCCEEDS = "4242424242424242"
DECLINES = {"4000000000000002": "card_declined", "4000000000009995": "insufficient_funds"}
# Short outcome codes keep the intent id splittable on "_".
_OUTCOMES = {"s": None, "cd": "card_declined", "if": "insufficient_funds"}
_CODES = {reason: code for code, reason in _OUTCOMES.items() if reason}


def _encode_amount(amount: Money) -> str:
    return f"{amount.amount}{amount.currency}"


def _decode_amount(text: str) -> Money:
    return Money(text[:-3], text[-3:])


class SandboxGateway:
    name = "sandbox"
    delivers_events_inline = True

    def ensure_customer(self, *, user_id: UUID, email: str, existing_id: str | None) -> str:
        return existing_id or f"sbx_cus_{user_id.hex}"

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None) -> PaymentIntent:
        card = (payment_method or SUCCEEDS).replace(" ", "")
        if card not in DECLINES and card != SUCCEEDS:
            raise PaymentDeclined("Sandbox: use a test card (4242424242424242 succeeds).",
                                  code="payment.invalid_card")
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
        succeeded = outcome == "s"
        return PaymentIntent(
            id=intent_id, status="succeeded" if succeeded else "requires_payment_method",
            amount=money, client_secret=f"{intent_id}_secret_sandbox", purchase_id=purchase_id,
            failure=failure)

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str
               ) -> RefundRecord:
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
                            created=datetime.now(UTC), intent_id=intent.id,
                            purchase_id=intent.purchase_id, amount=intent.amount)

    def inline_refund_event(self, intent_id: str, paid: Money, refund: RefundRecord
                            ) -> PaymentEvent | None:
        intent = self.retrieve_payment(intent_id)
        return PaymentEvent(id=f"sbx_evt_refund_{refund.id}", type="charge.refunded",
                            created=datetime.now(UTC), intent_id=intent_id,
                            purchase_id=intent.purchase_id, amount=paid, refunds=(refund,))
