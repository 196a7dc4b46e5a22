"""One day of analytics, built from that day's facts.

The facts come from the records of each kind (the earnings ledger, purchases and their
refunds, paid membership invoices, the credit ledger, the event journal); this module
turns them into ``analytics_daily`` rows. The same facts always give the same rows,
which is what makes re-running a day safe.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from uuid import UUID

import attrs

from domain.analytics.metrics import (
    TOTAL,
    Metric,
    Source,
    by_item,
    by_seller,
    by_source,
    by_tier,
)


class Flow(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"


@attrs.frozen
class MoneyFact:
    """Money in (a sale) or back out (a refund), and the platform's fee on it."""

    flow: Flow
    source: Source
    amount: Decimal
    fee: Decimal = Decimal(0)
    seller_id: UUID | None = None
    item_id: UUID | None = None
    tier_id: UUID | None = None


@attrs.frozen
class MembersFact:
    """The members of one tier at the end of the day, and who joined or left that day."""

    tier_id: UUID
    active: int
    mrr: Decimal
    started: int
    ended: int


@attrs.frozen
class CreditsFact:
    issued: int = 0
    spent: int = 0  # net of spends given back
    expired: int = 0
    adjusted: int = 0  # signed

    @classmethod
    def from_totals(cls, totals: Mapping[str, int]) -> CreditsFact:
        """From the day's credit-ledger sums by transaction type (spends and expiries are
        negative there)."""
        return cls(
            issued=totals.get("earned_subscription", 0) + totals.get("earned_purchase", 0),
            # A spend given back (a cancelled booking) undoes one.
            spent=-(totals.get("spent_offering", 0) + totals.get("refunded_offering", 0)),
            expired=-totals.get("expired", 0),
            adjusted=totals.get("adjustment", 0))


def monthly_value(billing_period: str, price_monthly: Decimal | None,
                  price_yearly: Decimal | None) -> Decimal:
    """What one subscription adds to MRR: its monthly price, or a twelfth of its yearly
    one, to the cent."""
    if billing_period == "monthly":
        return price_monthly or Decimal(0)
    return ((price_yearly or Decimal(0)) / 12).quantize(Decimal("0.01"))


@attrs.frozen
class ActivityFact:
    """Counted events of one kind about one item (a content item or an offering)."""

    metric: Metric
    item_id: UUID
    seller_id: UUID | None
    count: int


@attrs.frozen
class DayFacts:
    day: date
    money: tuple[MoneyFact, ...] = ()
    members: tuple[MembersFact, ...] = ()
    credits: CreditsFact = CreditsFact()
    activity: tuple[ActivityFact, ...] = ()


@attrs.frozen
class Row:
    day: date
    metric: Metric
    dimension: str
    value: Decimal


def build_rows(facts: DayFacts) -> list[Row]:
    """The day's rows: every metric in total and along each dimension it has; rows that
    would be zero are left out (a missing row reads as zero)."""
    values: dict[tuple[Metric, str], Decimal] = defaultdict(Decimal)

    def add(metric: Metric, amount: Decimal | int, dimensions: Iterable[str]) -> None:
        for dimension in dimensions:
            values[(metric, dimension)] += Decimal(amount)

    for fact in facts.money:
        dims = [TOTAL, by_source(fact.source)]
        dims += [by_seller(fact.seller_id)] if fact.seller_id else []
        dims += [by_item(fact.item_id)] if fact.item_id else []
        dims += [by_tier(fact.tier_id)] if fact.tier_id else []
        if fact.flow is Flow.SALE:
            add(Metric.REVENUE_GROSS, fact.amount, dims)
            add(Metric.REVENUE_FEES, fact.fee, dims)
            add(Metric.REVENUE_NET, fact.amount - fact.fee, dims)
        else:
            # A refund gives back its share of the fee: the platform's fee falls by it,
            # and the creator's net by the rest.
            add(Metric.REVENUE_REFUNDS, fact.amount, dims)
            add(Metric.REVENUE_FEES, -fact.fee, dims)
            add(Metric.REVENUE_NET, -(fact.amount - fact.fee), dims)

    for members in facts.members:
        dims = [TOTAL, by_tier(members.tier_id)]
        add(Metric.ACTIVE_MEMBERS, members.active, dims)
        add(Metric.MRR, members.mrr, dims)
        add(Metric.NEW_MEMBERS, members.started, dims)
        add(Metric.CHURNED_MEMBERS, members.ended, dims)

    credits = facts.credits
    add(Metric.CREDITS_ISSUED, credits.issued, [TOTAL])
    add(Metric.CREDITS_SPENT, credits.spent, [TOTAL])
    add(Metric.CREDITS_EXPIRED, credits.expired, [TOTAL])
    add(Metric.CREDITS_ADJUSTED, credits.adjusted, [TOTAL])

    for activity in facts.activity:
        dims = [TOTAL, by_item(activity.item_id)]
        dims += [by_seller(activity.seller_id)] if activity.seller_id else []
        add(activity.metric, activity.count, dims)

    return sorted(
        (Row(facts.day, metric, dimension, value)
         for (metric, dimension), value in values.items() if value != 0),
        key=lambda row: (row.metric.value, row.dimension))
