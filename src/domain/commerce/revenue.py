"""The revenue-split policy: who gets what of a sale."""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.identity.roles import Role
from domain.values import Money

# The platform keeps this share of what media owners sell unless the setting
# (`platform_fee_percent`) says otherwise; the platform's own creators keep everything.
DEFAULT_FEE_PERCENT = Decimal("30")


@attrs.frozen
class RevenueSplit:
    amount: Money
    platform_fee: Money
    creator_payout: Money


def split_revenue(amount: Money, seller_role: Role,
                  fee_percent: Decimal = DEFAULT_FEE_PERCENT) -> RevenueSplit:
    """Fee rounded once (half-even, minor unit); payout is the rest, so they always add up."""
    if seller_role is Role.MEDIA_OWNER:
        fee = amount.times(fee_percent / 100)
    else:
        fee = Money.zero(amount.currency)
    return RevenueSplit(amount=amount, platform_fee=fee, creator_payout=amount - fee)


def refund_split(sale: RevenueSplit, refunded_before: Money, refund: Money) -> RevenueSplit:
    """The fee given back and the creator's share reversed by one refund of a sale.

    Each is proportional to the refund, rounded on the running total (what all refunds
    so far give back, minus what the earlier ones gave): partial refunds that add up to
    the sale give back exactly its fee and exactly its payout, never a cent more.
    """
    after = refunded_before + refund
    if refund.amount <= 0 or after.amount > sale.amount.amount:
        raise ValueError(f"a refund of {refund} after {refunded_before} exceeds {sale.amount}")

    def fee_share(refunded: Money) -> Money:
        if sale.amount.is_zero:
            return Money.zero(sale.amount.currency)
        return sale.platform_fee.times(refunded.amount / sale.amount.amount)

    fee = fee_share(after) - fee_share(refunded_before)
    return RevenueSplit(amount=refund, platform_fee=fee, creator_payout=refund - fee)
