"""The revenue-split policy: who gets what of a sale."""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.identity.roles import Role
from domain.values import Money

# Phase 3: the platform keeps 30% of what media owners sell; the platform's own
# creators keep everything.
MEDIA_OWNER_FEE = Decimal("0.30")


@attrs.frozen
class RevenueSplit:
    amount: Money
    platform_fee: Money
    creator_payout: Money


def split_revenue(amount: Money, seller_role: Role) -> RevenueSplit:
    """Fee rounded once (half-even, minor unit); payout is the rest, so they always add up."""
    if seller_role is Role.MEDIA_OWNER:
        fee = amount.times(MEDIA_OWNER_FEE)
    else:
        fee = Money.zero(amount.currency)
    return RevenueSplit(amount=amount, platform_fee=fee, creator_payout=amount - fee)
