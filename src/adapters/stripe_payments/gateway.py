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

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import attrs
import stripe
from stripe.params import (
    AccountCreateParams,
    PaymentIntentCreateParams,
    RefundCreateParams,
    SubscriptionCreateParams,
)

from application.ports.billing import InvoiceFacts, TierPrices, TierSync
from application.ports.payments import (
    BillingChange,
    GatewayUnavailable,
    InvalidWebhook,
    PaymentDeclined,
    PaymentEvent,
    PaymentIntent,
    RefundRecord,
)
from application.ports.payouts import PayoutRecord, Transfer
from domain.errors import Conflict, ValidationError
from domain.memberships.subscription import BillingState, Subscription, SubscriptionStatus
from domain.memberships.tier import BillingPeriod, SubscriptionTier
from domain.payouts.accounts import AccountStatus, requirement_names
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
                         purchase_id=_purchase_id(obj), failure=_failure(obj),
                         payment_method=_ref(obj.get("payment_method")))


# Stripe's subscription statuses in ours. unpaid and paused keep no access beyond the
# grace period, like past_due; incomplete_expired never became a membership.
_STATUSES = {
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "paused": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
}
_INTERVALS = {BillingPeriod.MONTHLY: "month", BillingPeriod.YEARLY: "year"}


def _time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _uuid(value: object) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _billing_state(obj: Mapping[str, Any], as_of: datetime) -> BillingState:
    """A Subscription object in our terms. Since API version 2025-03-31 the period is on
    each item (``items.data[].current_period_*``); the top-level fields are a fallback
    for older shapes."""
    provider_id, status = _text(obj.get("id")), _STATUSES.get(str(obj.get("status")))
    items = _listed(obj.get("items")) or []
    first = _plain(items[0]) if items else {}
    start = _time(first.get("current_period_start")) or _time(obj.get("current_period_start"))
    end = _time(first.get("current_period_end")) or _time(obj.get("current_period_end"))
    if provider_id is None or status is None or start is None or end is None:
        raise _bad_response("Subscription")
    metadata = _plain(obj.get("metadata"))
    period = metadata.get("billing_period")
    return BillingState(
        provider_id=provider_id, status=status, period_start=start, period_end=end,
        as_of=as_of, cancel_at_period_end=obj.get("cancel_at_period_end") is True,
        trial_end=_time(obj.get("trial_end")),
        canceled_at=_time(obj.get("ended_at")) or _time(obj.get("canceled_at")),
        tier_id=_uuid(metadata.get("tier_id")),
        billing_period=BillingPeriod(period) if period in ("monthly", "yearly") else None,
        subscription_id=_uuid(metadata.get("subscription_id")))


def _invoice(obj: Mapping[str, Any]) -> InvoiceFacts | None:
    """An Invoice in our terms. Since API version 2025-03-31 it names its subscription
    under ``parent.subscription_details``."""
    invoice_id = _text(obj.get("id"))
    if invoice_id is None:
        return None
    details = _plain(_plain(obj.get("parent")).get("subscription_details"))
    ref = _ref(details.get("subscription")) or _ref(obj.get("subscription"))
    return InvoiceFacts(id=invoice_id, subscription_ref=ref,
                        billing_reason=_text(obj.get("billing_reason")),
                        amount_paid=_money(obj, "amount_paid", obj.get("currency")))


def _account_status(obj: Mapping[str, Any], as_of: datetime) -> AccountStatus:
    """A connected Account in our terms: may it take charges, is it paid out, and what
    does Stripe still need (currently or past due)."""
    account_id = _text(obj.get("id"))
    if account_id is None:
        raise _bad_response("Account")
    requirements = _plain(obj.get("requirements"))
    due = [*(requirements.get("currently_due") or []), *(requirements.get("past_due") or [])]
    return AccountStatus(
        account_id=account_id, charges_enabled=obj.get("charges_enabled") is True,
        payouts_enabled=obj.get("payouts_enabled") is True,
        details_submitted=obj.get("details_submitted") is True,
        requirements_due=requirement_names(due),
        disabled_reason=_text(requirements.get("disabled_reason")), as_of=as_of)


def _payout(obj: Mapping[str, Any]) -> PayoutRecord | None:
    payout_id, created = _text(obj.get("id")), _time(obj.get("created"))
    amount = _money(obj, "amount", obj.get("currency"))
    if payout_id is None or created is None or amount is None:
        return None
    return PayoutRecord(id=payout_id, amount=amount, status=_text(obj.get("status")) or "unknown",
                        arrival_date=_time(obj.get("arrival_date")), created=created)


def _destination(params: PaymentIntentCreateParams, transfer: Transfer | None) -> None:
    """A destination charge: Stripe keeps the application fee for the platform and
    transfers the rest to the connected account."""
    if transfer is not None:
        params["application_fee_amount"] = to_minor_units(transfer.application_fee)
        params["transfer_data"] = {"destination": transfer.destination}


def _edition(tier: SubscriptionTier) -> str:
    """Which edit of the tier a request mirrors, for its idempotency key: a retry of the
    same sync repeats the request, while a later edit back to an earlier price or name
    is a new request (a reused key would replay an answer Stripe has since archived)."""
    return f"{int(tier.updated_at.timestamp() * 1_000_000)}"


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


# The event types our webhook acts on; the endpoint registered at Stripe must send them.
HANDLED_EVENTS = (
    "payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
    "customer.subscription.created", "customer.subscription.updated",
    "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed",
)
# Connected accounts' events reach only an endpoint registered for Connect ("Events on
# connected accounts"), which has a signing secret of its own
# (PATRONAGE_STRIPE_CONNECT_WEBHOOK_SECRET). Needed once media owners are paid out.
CONNECT_EVENTS = ("account.updated",)


@attrs.frozen
class RegisteredWebhook:
    url: str
    events: tuple[str, ...]  # "*" for every event
    enabled: bool

    def missing(self) -> tuple[str, ...]:
        """The events we handle that this endpoint does not send."""
        if "*" in self.events:
            return ()
        return tuple(e for e in HANDLED_EVENTS if e not in self.events)


# --- the adapter ---------------------------------------------------------------------------


class StripeGateway:
    name = "stripe"
    delivers_events_inline = False

    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str | None = None,
                 timeout: float = 20.0, connect_webhook_secret: str | None = None) -> None:
        if not api_key:
            raise ValueError("A Stripe API key is required")
        if not webhook_secret:
            raise ValueError("A Stripe webhook signing secret is required")
        self._api_base = api_base or DEFAULT_API_BASE
        self._webhook_secrets = tuple(secret for secret in (webhook_secret,
                                                             connect_webhook_secret) if secret)
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
                       description: str, payment_method: str | None = None,
                       save_card: bool = False, transfer: Transfer | None = None
                       ) -> PaymentIntent:
        params: PaymentIntentCreateParams = {
            "amount": to_minor_units(amount),
            "currency": amount.currency,
            "description": description,
            "metadata": {"purchase_id": str(purchase_id)},
        }
        if customer_id:
            params["customer"] = customer_id
        if save_card:
            # The card is attached to the customer once paid, for the later installments.
            params["setup_future_usage"] = "off_session"
        if payment_method:
            # Confirmed here, without a browser: cards only, so that Stripe does not ask
            # for a return_url on behalf of redirect-based methods. Our API version no
            # longer accepts a writable payment_method_types; this is its replacement.
            params["payment_method"] = payment_method
            params["confirm"] = True
            params["allowed_payment_method_types"] = ["card"]
        _destination(params, transfer)
        with _stripe_errors("payment creation"):
            intent = self._client.v1.payment_intents.create(
                params, {"idempotency_key": f"purchase-{purchase_id}"},
            )
        return _intent(_plain(intent))

    def charge_saved(self, *, amount: Money, purchase_id: UUID, customer_id: str,
                     payment_method: str, description: str, attempt: int,
                     transfer: Transfer | None = None) -> PaymentIntent:
        params: PaymentIntentCreateParams = {
            "amount": to_minor_units(amount),
            "currency": amount.currency,
            "description": description,
            "metadata": {"purchase_id": str(purchase_id)},
            "customer": customer_id,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
        }
        _destination(params, transfer)
        with _stripe_errors("off-session charge"):
            intent = self._client.v1.payment_intents.create(
                params, {"idempotency_key": f"installment-{purchase_id}-{attempt}"},
            )
        return _intent(_plain(intent))

    def retrieve_payment(self, intent_id: str) -> PaymentIntent:
        with _stripe_errors("payment retrieval"):
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        return _intent(_plain(intent))

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str,
               reverse_transfer: bool = False) -> RefundRecord:
        params: RefundCreateParams = {"payment_intent": intent_id}
        if amount is not None:
            params["amount"] = to_minor_units(amount)
        if reverse_transfer:
            # Both in proportion to the refund: the creator gives back their share of it,
            # the platform its fee's share.
            params["reverse_transfer"] = True
            params["refund_application_fee"] = True
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
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidWebhook("The webhook payload is not a Stripe event.") from None
        for secret in self._webhook_secrets:
            try:
                # The signature over the raw body AND the timestamp's age, as
                # construct_event checks them; the event is then read as plain JSON,
                # not built into the SDK's objects (a tenth of a webhook's CPU).
                stripe.WebhookSignature.verify_header(text, signature, secret,
                                                      WEBHOOK_TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError:
                continue  # perhaps the other endpoint's (Connect) secret
            try:
                data = json.loads(text)
            except ValueError:
                raise InvalidWebhook("The webhook payload is not a Stripe event.") from None
            if not isinstance(data, dict):
                raise InvalidWebhook("The webhook payload is not a Stripe event.")
            return self._event(data)
        raise InvalidWebhook("The webhook signature is invalid or too old.")

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
                                amount=_money(obj, "amount", obj.get("currency")),
                                payment_method=_ref(obj.get("payment_method")))
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
        if kind.startswith("customer.subscription."):
            return PaymentEvent(id=event_id, type=kind, created=when,
                                subscription_ref=_text(obj.get("id")))
        if kind == "account.updated":
            # The event is a trigger; the account as Stripe has it now is the truth. So
            # deliveries out of order, or several stamped with the same second, cannot
            # leave an older state behind. Stripe unreachable: 503, and it sends again.
            account_id = _text(obj.get("id"))
            return PaymentEvent(id=event_id, type=kind, created=when,
                                account=self.retrieve_account(account_id)
                                if account_id else None)
        if kind.startswith("invoice."):
            invoice = _invoice(obj)
            return PaymentEvent(id=event_id, type=kind, created=when, invoice=invoice,
                                subscription_ref=invoice.subscription_ref if invoice else None)
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

    # --- Connect: media owners' accounts ------------------------------------------------

    def create_connected_account(self, *, user_id: UUID, email: str) -> AccountStatus:
        params: AccountCreateParams = {
            # Express-style and platform-controlled: Stripe hosts onboarding and a light
            # dashboard, the platform pays Stripe's fees and answers for losses.
            "controller": {"fees": {"payer": "application"},
                           "losses": {"payments": "application"},
                           "requirement_collection": "stripe",
                           "stripe_dashboard": {"type": "express"}},
            "capabilities": {"card_payments": {"requested": True},
                             "transfers": {"requested": True}},
            "email": email,
            "metadata": {"user_id": str(user_id)},
        }
        with _stripe_errors("connected account creation"):
            account = _plain(self._client.v1.accounts.create(
                params, {"idempotency_key": f"connect-account-{user_id}"}))
        # As of the account's creation by Stripe's clock, the one its events are stamped
        # with: an account.updated from the same second is never taken for an older one.
        return _account_status(account, _time(account.get("created")) or datetime.now(UTC))

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str
                            ) -> str:
        with _stripe_errors("account link creation"):
            link = _plain(self._client.v1.account_links.create(
                {"account": account_id, "refresh_url": refresh_url, "return_url": return_url,
                 "type": "account_onboarding"},
                # A link is single-use: each request is a new one, a retry the same.
                {"idempotency_key": f"account-link-{account_id}-{uuid4().hex}"}))
        url = _text(link.get("url"))
        if url is None:
            raise _bad_response("AccountLink")
        return url

    def retrieve_account(self, account_id: str) -> AccountStatus:
        with _stripe_errors("account retrieval"):
            account = self._client.v1.accounts.retrieve(account_id)
        return _account_status(_plain(account), datetime.now(UTC))

    def inline_account_event(self, account_id: str) -> PaymentEvent | None:
        return None

    def list_payouts(self, account_id: str, limit: int) -> list[PayoutRecord]:
        with _stripe_errors("payout listing"):
            page = _plain(self._client.v1.payouts.list(
                {"limit": limit}, {"stripe_account": account_id}))
        items = _listed(page) or []
        found = (_payout(_plain(item)) for item in items)
        return [payout for payout in found if payout is not None]

    # --- operations -------------------------------------------------------------------

    def webhook_endpoints(self) -> list[RegisteredWebhook]:
        """The webhook endpoints registered on the account (operators' check)."""
        with _stripe_errors("webhook endpoint listing"):
            page = self._client.v1.webhook_endpoints.list({"limit": 100})
            items = [_plain(item) for item in page.auto_paging_iter()]
        found = []
        for item in items:
            url, events = _text(item.get("url")), item.get("enabled_events")
            if url is None or not isinstance(events, list):
                continue
            found.append(RegisteredWebhook(url=url, events=tuple(str(e) for e in events),
                                           enabled=item.get("status") == "enabled"))
        return found

    # --- memberships ------------------------------------------------------------------

    def mirror_tier(self, tier: SubscriptionTier, *, apply: bool) -> TierSync:
        drift: list[str] = []
        changed: list[str] = []
        product_id = tier.stripe_product_id
        wanted = {"name": tier.name, "description": tier.description or "",
                  "active": tier.active}
        with _stripe_errors("product sync"):
            if product_id is None:
                drift.append("product: missing")
                if apply:
                    product = _plain(self._client.v1.products.create(
                        {"name": tier.name, "description": tier.description or tier.name,
                         "active": tier.active, "metadata": {"tier_id": str(tier.id)}},
                        {"idempotency_key": f"tier-{tier.id}-product"}))
                    product_id = _text(product.get("id"))
                    changed.append("product: created")
            else:
                product = _plain(self._client.v1.products.retrieve(product_id))
                differs = [field for field, value in wanted.items()
                           if field != "description" and product.get(field) != value]
                if tier.description and product.get("description") != tier.description:
                    differs.append("description")
                if differs:
                    drift.append(f"product: {', '.join(differs)} differ")
                    if apply:
                        self._client.v1.products.update(
                            product_id, {"name": tier.name, "active": tier.active,
                                         **({"description": tier.description}
                                            if tier.description else {})},
                            {"idempotency_key": f"tier-{tier.id}-product-"
                                                f"{_edition(tier)}"})
                        changed.append(f"product: {', '.join(differs)} updated")
            prices = {period: self._sync_price(tier, product_id, period, apply, drift, changed)
                      for period in BillingPeriod}
            if product_id is not None:
                self._archive_strays(tier, product_id, set(prices.values()), apply, drift,
                                     changed)
        return TierSync(TierPrices(product_id=product_id,
                                   monthly=prices[BillingPeriod.MONTHLY],
                                   yearly=prices[BillingPeriod.YEARLY]),
                        drift=tuple(drift), changed=tuple(changed))

    def _sync_price(self, tier: SubscriptionTier, product_id: str | None,
                    period: BillingPeriod, apply: bool, drift: list[str],
                    changed: list[str]) -> str | None:
        amount = tier.price_monthly if period is BillingPeriod.MONTHLY else tier.price_yearly
        price_id = tier.price_id(period)
        if amount is None:
            return None
        minor = to_minor_units(amount)
        if price_id is not None:
            price = _plain(self._client.v1.prices.retrieve(price_id))
            recurring = _plain(price.get("recurring"))
            facts = (price.get("unit_amount"), price.get("currency"),
                     recurring.get("interval"), price.get("active"), _ref(price.get("product")))
            if facts == (minor, amount.currency, _INTERVALS[period], True, product_id):
                return price_id
            shown = from_minor_units(facts[0], str(facts[1])) if isinstance(facts[0], int) \
                and isinstance(facts[1], str) else "unknown"
            drift.append(f"price {period.value}: {shown} every {facts[2]} "
                         f"(active={facts[3]}) at Stripe, {amount} here")
        else:
            drift.append(f"price {period.value}: missing")
        if not apply or product_id is None:
            return price_id
        created = _plain(self._client.v1.prices.create(
            {"product": product_id, "unit_amount": minor, "currency": amount.currency,
             "recurring": {"interval": _INTERVALS[period]},
             "metadata": {"tier_id": str(tier.id), "billing_period": period.value}},
            {"idempotency_key": f"tier-{tier.id}-{period.value}-{minor}{amount.currency}-"
                                f"{_edition(tier)}"}))
        new_id = _text(created.get("id"))
        if new_id is None:
            raise _bad_response("Price")
        changed.append(f"price {period.value}: created {new_id}")
        return new_id

    def _archive_strays(self, tier: SubscriptionTier, product_id: str, ours: set[str | None],
                        apply: bool, drift: list[str], changed: list[str]) -> None:
        """Active Prices of the product that are not the tier's (an old price after a
        change): archived, so nobody new subscribes at them; members keep theirs."""
        page = self._client.v1.prices.list({"product": product_id, "active": True,
                                            "limit": 100})
        for item in page.auto_paging_iter():
            stray = _text(_plain(item).get("id"))
            if stray is None or stray in ours:
                continue
            drift.append(f"price {stray}: active at Stripe, no longer ours")
            if apply:
                self._client.v1.prices.update(stray, {"active": False},
                                              {"idempotency_key": f"archive-{stray}"})
                changed.append(f"price {stray}: archived")

    def _subscription(self, obj: object) -> BillingState:
        return _billing_state(_plain(obj), datetime.now(UTC))

    def create_subscription(self, *, subscription: Subscription, customer_id: str,
                            price_id: str, price: Money, trial_days: int,
                            payment_method: str | None) -> BillingChange:
        params: SubscriptionCreateParams = {
            "customer": customer_id,
            "items": [{"price": price_id}],
            # The first invoice waits for the client to confirm it with the secret below.
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret"],
            "metadata": {"subscription_id": str(subscription.id),
                         "tier_id": str(subscription.tier_id),
                         "billing_period": subscription.billing_period.value},
        }
        if trial_days:
            params["trial_period_days"] = trial_days
        if payment_method:
            params["default_payment_method"] = payment_method
        with _stripe_errors("subscription creation"):
            created = _plain(self._client.v1.subscriptions.create(
                params, {"idempotency_key": f"subscription-{subscription.id}"}))
        invoice = _plain(created.get("latest_invoice"))
        secret = _text(_plain(invoice.get("confirmation_secret")).get("client_secret"))
        return BillingChange(state=_billing_state(created, datetime.now(UTC)),
                             client_secret=secret)

    def fetch_subscription(self, provider_id: str) -> BillingState:
        with _stripe_errors("subscription retrieval"):
            return self._subscription(self._client.v1.subscriptions.retrieve(provider_id))

    def change_subscription(self, subscription: Subscription, *, tier_id: UUID,
                            period: BillingPeriod, price_id: str, price: Money,
                            idempotency_key: str) -> BillingChange:
        provider_id = self._provider_id(subscription)
        with _stripe_errors("subscription change"):
            current = _plain(self._client.v1.subscriptions.retrieve(provider_id))
            items = _listed(current.get("items")) or []
            item_id = _text(_plain(items[0]).get("id")) if items else None
            if item_id is None:
                raise _bad_response("Subscription")
            updated = self._client.v1.subscriptions.update(
                provider_id,
                {"items": [{"id": item_id, "price": price_id}],
                 "proration_behavior": "create_prorations",
                 "metadata": {"tier_id": str(tier_id), "billing_period": period.value}},
                {"idempotency_key": idempotency_key})
        return BillingChange(state=self._subscription(updated))

    def set_cancel_at_period_end(self, subscription: Subscription, cancel: bool,
                                 idempotency_key: str) -> BillingChange:
        with _stripe_errors("subscription cancellation"):
            updated = self._client.v1.subscriptions.update(
                self._provider_id(subscription), {"cancel_at_period_end": cancel},
                {"idempotency_key": idempotency_key})
        return BillingChange(state=self._subscription(updated))

    def cancel_subscription(self, subscription: Subscription, idempotency_key: str
                            ) -> BillingChange:
        with _stripe_errors("subscription cancellation"):
            canceled = self._client.v1.subscriptions.cancel(
                self._provider_id(subscription), {}, {"idempotency_key": idempotency_key})
        return BillingChange(state=self._subscription(canceled))

    def renew(self, subscription: Subscription, price: Money, now: datetime) -> BillingChange:
        raise Conflict("Stripe renews subscriptions itself.", code="sandbox.not_active")

    @staticmethod
    def _provider_id(subscription: Subscription) -> str:
        if subscription.provider_id is None:
            raise Conflict("This subscription was never created at Stripe.",
                           code="subscription.not_at_provider")
        return subscription.provider_id

