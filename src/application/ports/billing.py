"""What the payment gateway says about tiers, subscriptions and invoices."""

from __future__ import annotations

import attrs

from domain.values import Money


@attrs.frozen
class TierPrices:
    """A tier's mirror at the provider: its Product and one Price per billing period."""

    product_id: str | None = None
    monthly: str | None = None
    yearly: str | None = None


@attrs.frozen
class TierSync:
    prices: TierPrices
    # What differs between the tier and its mirror ("price yearly: 90.00 USD at the
    # provider, 99.00 USD here"); empty when they agree.
    drift: tuple[str, ...] = ()
    # What was created or changed at the provider (only when asked to apply).
    changed: tuple[str, ...] = ()


@attrs.frozen
class InvoiceFacts:
    id: str
    subscription_ref: str | None
    # subscription_create, subscription_cycle, subscription_update, ...
    billing_reason: str | None = None
    amount_paid: Money | None = None

    @property
    def renewal(self) -> bool:
        return self.billing_reason == "subscription_cycle"

    @property
    def grants_credits(self) -> bool:
        """The invoices that open a period: the first one and each renewal (not the
        proration invoices of a switch)."""
        return self.billing_reason in ("subscription_create", "subscription_cycle", None)
