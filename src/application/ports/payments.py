"""The payment gateway port (Stripe in production, a sandbox by default)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs

from application.ports.billing import InvoiceFacts, TierSync
from application.ports.payouts import PayoutRecord, Transfer
from domain.errors import DomainError, ErrorKind, Unavailable, ValidationError
from domain.memberships.subscription import BillingState, Subscription
from domain.memberships.tier import BillingPeriod, SubscriptionTier
from domain.payouts.accounts import AccountStatus
from domain.values import Money


class PaymentDeclined(DomainError):
    kind = ErrorKind.PAYMENT_REQUIRED
    code = "payment.declined"
    title = "Payment declined"


class GatewayUnavailable(Unavailable):
    code = "payment.gateway_unavailable"


class InvalidWebhook(ValidationError):
    """Bad or missing signature, stale timestamp, or a payload that is not an event."""

    kind = ErrorKind.MALFORMED
    code = "webhook.invalid"
    title = "Invalid webhook"


@attrs.frozen(repr=False)
class PaymentIntent:
    id: str
    status: str  # the gateway's own words: succeeded, requires_payment_method, ...
    amount: Money
    client_secret: str | None = None
    purchase_id: UUID | None = None
    failure: str | None = None
    # The payment method it was paid with, when saved for later charges.
    payment_method: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def failed(self) -> bool:
        return self.status in ("canceled", "requires_payment_method") and self.failure is not None

    def __repr__(self) -> str:
        return f"PaymentIntent(id={self.id!r}, status={self.status!r})"


@attrs.frozen
class RefundRecord:
    id: str
    amount: Money
    status: str = "succeeded"


@attrs.frozen
class PaymentEvent:
    """A gateway event reduced to what our use cases act on."""

    id: str
    type: str
    created: datetime
    intent_id: str | None = None
    purchase_id: UUID | None = None
    amount: Money | None = None
    amount_refunded: Money | None = None
    refunds: Sequence[RefundRecord] = ()
    # Subscription and invoice events: the provider's subscription id, the invoice,
    # and (from an inline gateway only) the subscription's state as the event left it.
    subscription_ref: str | None = None
    invoice: InvoiceFacts | None = None
    billing: BillingState | None = None
    # A payment's method (the card saved with a plan's first installment).
    payment_method: str | None = None
    # account.updated: a connected account's state as the event reports it.
    account: AccountStatus | None = None

    @property
    def is_billing(self) -> bool:
        return self.type.startswith(("customer.subscription.", "invoice."))

    @property
    def fully_refunded(self) -> bool:
        return (self.amount is not None and self.amount_refunded is not None
                and self.amount_refunded.amount >= self.amount.amount > 0)


@attrs.frozen
class BillingChange:
    """A subscription as a provider call left it."""

    state: BillingState
    # What the client needs to confirm a first payment (Stripe), if anything.
    client_secret: str | None = None
    payment_method_hint: str | None = None
    # From an inline gateway (the sandbox): the events the change produced, which the
    # same use case as Stripe's webhooks then applies. Empty for Stripe.
    events: tuple[PaymentEvent, ...] = ()


class ConnectGateway(Protocol):
    def create_connected_account(self, *, user_id: UUID, email: str) -> AccountStatus:
        """A connected account the platform controls (Express-style onboarding),
        created once per user: the idempotency key is the user's."""
        ...

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str
                            ) -> str:
        """A single-use URL where the owner completes onboarding at the provider."""
        ...

    def retrieve_account(self, account_id: str) -> AccountStatus: ...

    def inline_account_event(self, account_id: str) -> PaymentEvent | None:
        """For inline gateways: the account.updated event onboarding produced; None for
        a real provider, whose webhook brings it."""
        ...

    def list_payouts(self, account_id: str, limit: int) -> Sequence[PayoutRecord]:
        """The newest payouts of a connected account."""
        ...


class PaymentGateway(ConnectGateway, Protocol):
    name: str
    # True when the gateway has no webhooks of its own and hands back the event
    # the real one would send (the sandbox); the same use case then handles it.
    delivers_events_inline: bool

    def ensure_customer(self, *, user_id: UUID, email: str, existing_id: str | None) -> str:
        """The gateway's customer id for this user, created on first use."""
        ...

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None,
                       save_card: bool = False, transfer: Transfer | None = None
                       ) -> PaymentIntent:
        """Create (and with ``payment_method``, confirm) a payment.

        The idempotency key is derived from ``purchase_id``: a retry after a
        timeout returns the same payment, never a second charge. ``save_card`` keeps
        the card for later off-session charges (``charge_saved``). With ``transfer``
        it is a destination charge: the creator's share goes to their account.
        """
        ...

    def charge_saved(self, *, amount: Money, purchase_id: UUID, customer_id: str,
                     payment_method: str, description: str, attempt: int,
                     transfer: Transfer | None = None) -> PaymentIntent:
        """Charge a saved card without the customer present (a plan's later
        installment). Keyed by ``purchase_id`` and ``attempt``: a retry of one attempt
        is the same charge. A decline raises PaymentDeclined."""
        ...

    def retrieve_payment(self, intent_id: str) -> PaymentIntent: ...

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str,
               reverse_transfer: bool = False) -> RefundRecord:
        """With ``reverse_transfer`` (a destination charge), the creator's share of the
        refund is taken back from their account and the platform's fee is refunded in
        proportion: the platform never pays the creator's share of a refund."""
        ...

    def parse_event(self, payload: bytes, signature: str | None) -> PaymentEvent:
        """Verify the signature over the raw bytes (with a freshness tolerance)."""
        ...

    def inline_event(self, intent: PaymentIntent) -> PaymentEvent | None:
        """For inline gateways: the event the payment produced, if final."""
        ...

    def inline_refund_event(self, intent_id: str, paid: Money, refund: RefundRecord
                            ) -> PaymentEvent | None:
        """For inline gateways: the charge.refunded event this refund produced."""
        ...

    # --- memberships ------------------------------------------------------------------

    def mirror_tier(self, tier: SubscriptionTier, *, apply: bool) -> TierSync:
        """Compare the tier with its Product and Prices; with ``apply``, create what is
        missing and replace what differs (a new Price, the old one archived)."""
        ...

    def create_subscription(self, *, subscription: Subscription, customer_id: str,
                            price_id: str, price: Money, trial_days: int,
                            payment_method: str | None) -> BillingChange:
        """Create it at the provider (idempotent per ``subscription.id``), first payment
        left for the client to confirm; a trial starts without one."""
        ...

    def fetch_subscription(self, provider_id: str) -> BillingState:
        """The provider's current state (events are triggers: this is the truth)."""
        ...

    def change_subscription(self, subscription: Subscription, *, tier_id: UUID,
                            period: BillingPeriod, price_id: str, price: Money,
                            idempotency_key: str) -> BillingChange:
        """Switch tier or period, prorated by the provider."""
        ...

    def set_cancel_at_period_end(self, subscription: Subscription, cancel: bool,
                                 idempotency_key: str) -> BillingChange: ...

    def cancel_subscription(self, subscription: Subscription, idempotency_key: str
                            ) -> BillingChange:
        """End it now."""
        ...

    def renew(self, subscription: Subscription, price: Money, now: datetime) -> BillingChange:
        """Sandbox only: bill a subscription that fell due at ``now``; the change carries
        the events that produced. Any other gateway refuses."""
        ...
