"""Stripe as the payment gateway, on the official SDK's ``StripeClient``.

Semantics mirror the sandbox gateway, except that outcomes arrive as signed
webhooks (``delivers_events_inline = False``):

* every POST carries an Idempotency-Key derived from our own ids, so a retry after
  a timeout returns the same customer, payment or refund, never a second one;
* amounts cross the boundary only through ``to_minor_units``/``from_minor_units``;
* nothing from the ``stripe`` package leaves this module: card errors become
  ``PaymentDeclined``, everything else ``GatewayUnavailable`` (logged when it is
  our own fault: a rejected request or a bad key), bad webhooks ``InvalidWebhook``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from application.ports.payments import (
    GatewayUnavailable,
    InvalidWebhook,
    PaymentDeclined,
    PaymentEvent,
    PaymentIntent,
    RefundRecord,
)
from domain.errors import ValidationError
from domain.values import Money, currency_exponent

# The one place the API version is pinned; the SDK's types are generated for it.
# Upgrading the SDK means reading Stripe's changelog and moving this on purpose.
STRIPE_API_VERSION = "2026-10-28.endive"
WEBHOOK_TOLERANCE_SECONDS = 300
# Safe because every POST carries an idempotency key.
MAX_NETWORK_RETRIES = 2
DEFAULT_API_BASE = "https://api.stripe.com"

_UNAVAILABLE = "The payment provider is unavailable. Try again in a moment."
_DECLINED = "Your card was declined."

log = logging.getLogger("patronage.payments.stripe")
# The SDK logs API errors at INFO with Stripe's message, which for a bad key quotes
# the key itself. Our own log lines say what went wrong without it.
logging.getLogger("stripe").setLevel(logging.WARNING)


def to_minor_units(money: Money) -> int:
    """Stripe's integer amount: 12.34 USD -> 1234, 500 JPY -> 500, 1.234 KWD -> 1234."""
    scaled = money.amount.scaleb(currency_exponent(money.currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{money} has more decimals than {money.currency} allows")
    return int(scaled)


def from_minor_units(amount: int, currency: str) -> Money:
    """The inverse of ``to_minor_units``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("Stripe amounts are integers of minor units")
    code = currency.lower()
    return Money(Decimal(amount).scaleb(-currency_exponent(code)), code)


# --- reading Stripe's objects: plain dicts, every field optional ------------------------


def _plain(value: object) -> dict[str, Any]:
    if isinstance(value, stripe.StripeObject):
        return value.to_dict()
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _ref(value: object) -> str | None:
    """An id, whether the field holds the id or the expanded object."""
    return _text(value) or (_text(value.get("id")) if isinstance(value, dict) else None)


def _money(obj: Mapping[str, Any], field: str, currency: object) -> Money | None:
    amount = obj.get(field)
    if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(currency, str):
        return None
    try:
        return from_minor_units(amount, currency)
    except ValidationError:
        return None


def _purchase_id(obj: Mapping[str, Any]) -> UUID | None:
    metadata = obj.get("metadata")
    raw = metadata.get("purchase_id") if isinstance(metadata, dict) else None
    try:
        return UUID(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _failure(obj: Mapping[str, Any]) -> str | None:
    error = obj.get("last_payment_error")
    if not isinstance(error, dict):
        return None
    return _text(error.get("message")) or _text(error.get("code"))


def _refund_record(obj: Mapping[str, Any], currency: object = None) -> RefundRecord | None:
    refund_id = _text(obj.get("id"))
    amount = _money(obj, "amount", obj.get("currency") or currency)
    if refund_id is None or amount is None:
        return None
    status = _text(obj.get("status"))
    return (RefundRecord(id=refund_id, amount=amount, status=status) if status
            else RefundRecord(id=refund_id, amount=amount))


def _listed(value: object) -> list[Any] | None:
    """The items of a list object (``{"data": [...]}``), or of a bare list (old API shapes)."""
    if isinstance(value, dict):
        value = value.get("data")
    return value if isinstance(value, list) else None


def _refunds(items: list[Any], currency: object) -> tuple[RefundRecord, ...]:
    records = (_refund_record(item, currency) for item in items if isinstance(item, dict))
    return tuple(record for record in records if record is not None)


def _bad_response(what: str) -> GatewayUnavailable:
    log.error("Stripe returned an unusable %s", what)
    return GatewayUnavailable(_UNAVAILABLE)


def _intent(obj: Mapping[str, Any]) -> PaymentIntent:
    intent_id, status = _text(obj.get("id")), _text(obj.get("status"))
    amount = _money(obj, "amount", obj.get("currency"))
    if intent_id is None or status is None or amount is None:
        raise _bad_response("PaymentIntent")
    return PaymentIntent(id=intent_id, status=status, amount=amount,
                         client_secret=_text(obj.get("client_secret")),
                         purchase_id=_purchase_id(obj), failure=_failure(obj))


# --- errors ------------------------------------------------------------------------------


def _is_card_error(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.CardError) or getattr(exc.error, "type", None) == "card_error"


def _describe(exc: stripe.StripeError) -> str:
    # Never the message of an authentication error: it quotes (part of) the key.
    return (f"{type(exc).__name__} http_status={exc.http_status} code={exc.code} "
            f"request_id={exc.request_id}")


@contextmanager
def _stripe_errors(operation: str) -> Iterator[None]:
    """Translate the SDK's errors; the original is logged here, never chained outwards."""
    try:
        yield
    except stripe.StripeError as exc:
        if _is_card_error(exc):
            log.info("Stripe declined %s: %s", operation, _describe(exc))
            decline_code = getattr(exc.error, "decline_code", None) if exc.error else None
            details = {key: value for key, value in
                       (("reason", exc.code), ("decline_code", decline_code)) if value}
            raise PaymentDeclined(exc.user_message or _DECLINED, details=details) from None
        if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
            log.warning("Stripe unavailable during %s: %s", operation, _describe(exc))
        elif isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
            log.error("Stripe refused our credentials during %s (check the API key): %s",
                      operation, _describe(exc))
        else:
            # An invalid request is our bug (or our configuration's), never the client's.
            log.error("Stripe rejected %s: %s message=%r param=%r", operation, _describe(exc),
                      exc.user_message, getattr(exc, "param", None))
        raise GatewayUnavailable(_UNAVAILABLE) from None


# --- the adapter ---------------------------------------------------------------------------


class StripeGateway:
    name = "stripe"
    delivers_events_inline = False

    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str | None = None,
                 timeout: float = 20.0) -> None:
        if not api_key:
            raise ValueError("A Stripe API key is required")
        if not webhook_secret:
            raise ValueError("A Stripe webhook signing secret is required")
        self._api_base = api_base or DEFAULT_API_BASE
        self._webhook_secret = webhook_secret
        # The API key lives only inside the client's options, never on this object.
        self._client = stripe.StripeClient(
            api_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def __repr__(self) -> str:
        return f"StripeGateway(api_base={self._api_base!r}, api_version={STRIPE_API_VERSION!r})"

    def ensure_customer(self, *, user_id: UUID, email: str, existing_id: str | None) -> str:
        if existing_id:
            return existing_id
        with _stripe_errors("customer creation"):
            customer = self._client.v1.customers.create(
                {"email": email, "metadata": {"user_id": str(user_id)}},
                {"idempotency_key": f"customer-{user_id}"},
            )
        customer_id = _text(_plain(customer).get("id"))
        if customer_id is None:
            raise _bad_response("Customer")
        return customer_id

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None) -> PaymentIntent:
        params: PaymentIntentCreateParams = {
            "amount": to_minor_units(amount),
            "currency": amount.currency,
            "description": description,
            "metadata": {"purchase_id": str(purchase_id)},
        }
        if customer_id:
            params["customer"] = customer_id
        if payment_method:
            # Confirmed here, without a browser: cards only, so that Stripe does not ask
            # for a return_url on behalf of redirect-based methods. Our API version no
            # longer accepts a writable payment_method_types; this is its replacement.
            params["payment_method"] = payment_method
            params["confirm"] = True
            params["allowed_payment_method_types"] = ["card"]
        with _stripe_errors("payment creation"):
            intent = self._client.v1.payment_intents.create(
                params, {"idempotency_key": f"purchase-{purchase_id}"},
            )
        return _intent(_plain(intent))

    def retrieve_payment(self, intent_id: str) -> PaymentIntent:
        with _stripe_errors("payment retrieval"):
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        return _intent(_plain(intent))

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str
               ) -> RefundRecord:
        params: RefundCreateParams = {"payment_intent": intent_id}
        if amount is not None:
            params["amount"] = to_minor_units(amount)
        with _stripe_errors("refund"):
            refund = self._client.v1.refunds.create(
                params, {"idempotency_key": idempotency_key},
            )
        record = _refund_record(_plain(refund), amount.currency if amount else None)
        if record is None:
            raise _bad_response("Refund")
        return record

    def parse_event(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not signature:
            raise InvalidWebhook("The Stripe-Signature header is missing.")
        try:
            # construct_event checks the signature over the raw bytes AND the timestamp's age.
            event = self._client.construct_event(payload, signature, self._webhook_secret,
                                                 tolerance=WEBHOOK_TOLERANCE_SECONDS)
            data = _plain(event)
        except stripe.SignatureVerificationError:
            raise InvalidWebhook("The webhook signature is invalid or too old.") from None
        except (stripe.StripeError, ValueError, TypeError, AttributeError, KeyError):
            raise InvalidWebhook("The webhook payload is not a Stripe event.") from None
        return self._event(data)

    def _event(self, data: Mapping[str, Any]) -> PaymentEvent:
        event_id, kind = _text(data.get("id")), _text(data.get("type"))
        created = data.get("created")
        if event_id is None or kind is None or type(created) is not int:
            raise InvalidWebhook("The webhook payload is not a Stripe event.")
        try:
            when = datetime.fromtimestamp(created, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidWebhook("The webhook payload is not a Stripe event.") from None
        obj = _plain(_plain(data.get("data")).get("object"))
        if kind.startswith("payment_intent."):
            return PaymentEvent(id=event_id, type=kind, created=when,
                                intent_id=_text(obj.get("id")), purchase_id=_purchase_id(obj),
                                amount=_money(obj, "amount", obj.get("currency")))
        if kind == "charge.refunded":
            currency = obj.get("currency")
            listed = _listed(obj.get("refunds"))
            return PaymentEvent(
                id=event_id, type=kind, created=when,
                intent_id=_ref(obj.get("payment_intent")), purchase_id=_purchase_id(obj),
                amount=_money(obj, "amount", currency),
                amount_refunded=_money(obj, "amount_refunded", currency),
                refunds=(_refunds(listed, currency) if listed is not None
                         else self._charge_refunds(_text(obj.get("id")), currency)))
        return PaymentEvent(id=event_id, type=kind, created=when)

    def _charge_refunds(self, charge_id: str | None, currency: object
                        ) -> tuple[RefundRecord, ...]:
        """Since API version 2022-11-15 a charge no longer embeds its refunds: ask for them.

        A failure here is GatewayUnavailable, so the webhook answers 503 and Stripe redelivers.
        """
        if charge_id is None:
            return ()
        with _stripe_errors("refund listing"):
            page = self._client.v1.refunds.list({"charge": charge_id, "limit": 100})
            items = [_plain(item) for item in page.auto_paging_iter()]
        return _refunds(items, currency)

    def inline_event(self, intent: PaymentIntent) -> PaymentEvent | None:
        return None

    def inline_refund_event(self, intent_id: str, paid: Money, refund: RefundRecord
                            ) -> PaymentEvent | None:
        return None
