"""The metrics kept per day in ``analytics_daily``, and how days roll up into weeks and
months.

A flow (revenue, new members, views) adds up over a period. A level (MRR, active
members) is a state at the end of a day: a week or month shows its last day.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import attrs

from domain.errors import ValidationError
from domain.values import FIRST_DAY, LAST_DAY

MAX_RANGE_DAYS = 3 * 366 + 1


class Unit(enum.StrEnum):
    MONEY = "money"
    COUNT = "count"
    RATIO = "ratio"

    def text(self, value: Decimal) -> str:
        """Money to the cent ("57.00"), counts whole ("3"), ratios as short as exact
        ("0.5")."""
        if self is Unit.MONEY:
            return str(value.quantize(Decimal("0.01")))
        if self is Unit.COUNT:
            return str(int(value))
        return format(value.normalize(), "f")


class Metric(enum.StrEnum):
    REVENUE_GROSS = "revenue_gross"
    REVENUE_FEES = "revenue_fees"
    REVENUE_REFUNDS = "revenue_refunds"
    REVENUE_NET = "revenue_net"
    MRR = "mrr"
    ACTIVE_MEMBERS = "active_members"
    NEW_MEMBERS = "new_members"
    CHURNED_MEMBERS = "churned_members"
    CREDITS_ISSUED = "credits_issued"
    CREDITS_SPENT = "credits_spent"
    CREDITS_EXPIRED = "credits_expired"
    CREDITS_ADJUSTED = "credits_adjusted"
    BOOKINGS = "bookings"
    BOOKINGS_CANCELED = "bookings_canceled"
    ATTENDED = "attended"
    NO_SHOWS = "no_shows"
    VIEWS = "views"
    PLAYS = "plays"
    COMPLETIONS = "completions"
    # Derived when read: completions over plays in the period, never stored.
    COMPLETION_RATE = "completion_rate"

    @property
    def unit(self) -> Unit:
        if self in MONEY_METRICS:
            return Unit.MONEY
        return Unit.RATIO if self is Metric.COMPLETION_RATE else Unit.COUNT

    @property
    def is_level(self) -> bool:
        return self in (Metric.MRR, Metric.ACTIVE_MEMBERS)

    @property
    def stored(self) -> bool:
        return self is not Metric.COMPLETION_RATE


MONEY_METRICS = frozenset({Metric.REVENUE_GROSS, Metric.REVENUE_FEES, Metric.REVENUE_REFUNDS,
                           Metric.REVENUE_NET, Metric.MRR})
# What a creator may see of their own sales and items; the rest is the platform's
# (memberships and credits belong to the platform, not to one creator).
CREATOR_METRICS = frozenset({
    Metric.REVENUE_GROSS, Metric.REVENUE_FEES, Metric.REVENUE_REFUNDS, Metric.REVENUE_NET,
    Metric.BOOKINGS, Metric.BOOKINGS_CANCELED, Metric.ATTENDED, Metric.NO_SHOWS,
    Metric.VIEWS, Metric.PLAYS, Metric.COMPLETIONS, Metric.COMPLETION_RATE,
})


class Source(enum.StrEnum):
    """Where revenue comes from."""

    CONTENT = "content"
    SERIES = "series"
    PACK = "pack"
    MEMBERSHIP = "membership"
    OFFERING = "offering"


class Grouping(enum.StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, from Monday
    MONTH = "month"

    def period_of(self, day: date) -> date:
        if self is Grouping.WEEK:
            return day - timedelta(days=day.weekday())
        if self is Grouping.MONTH:
            return day.replace(day=1)
        return day

    def periods(self, first: date, last: date) -> list[date]:
        found: list[date] = []
        day = first
        while day <= last:
            period = self.period_of(day)
            if not found or found[-1] != period:
                found.append(period)
            day += timedelta(days=1)
        return found


# --- dimensions ------------------------------------------------------------------------

TOTAL = ""
_DIMENSION = re.compile(
    r"^(source:(content|series|pack|membership|offering)"
    r"|(seller|tier|item):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def by_source(source: Source) -> str:
    return f"source:{source.value}"


def by_seller(seller_id: UUID) -> str:
    return f"seller:{seller_id}"


def by_tier(tier_id: UUID) -> str:
    return f"tier:{tier_id}"


def by_item(item_id: UUID) -> str:
    return f"item:{item_id}"


def parse_dimension(raw: str | None) -> str:
    """'' (the whole platform), source:<kind>, seller:<id>, tier:<id> or item:<id>."""
    value = (raw or "").strip().lower()
    if value and not _DIMENSION.match(value):
        raise ValidationError(
            "dimension must be empty, source:<content|series|pack|membership|offering>, "
            "seller:<id>, tier:<id> or item:<id>.", code="analytics.dimension",
            field="dimension")
    return value


def item_of(dimension: str) -> UUID | None:
    return UUID(dimension[5:]) if dimension.startswith("item:") else None


# --- ranges and roll-ups ---------------------------------------------------------------


@attrs.frozen
class DayRange:
    first: date
    last: date  # inclusive

    @classmethod
    def of(cls, first: date | None, last: date | None, *, today: date,
           default_days: int = 30) -> DayRange:
        for day in (first, last):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise ValidationError(f"Days run from {FIRST_DAY} to {LAST_DAY}.",
                                      code="analytics.range", field="from")
        last = last or today
        first = first or max(last - timedelta(days=default_days - 1), FIRST_DAY)
        if first > last:
            raise ValidationError("from must not be after to.", code="analytics.range",
                                  field="from")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise ValidationError(f"A range covers at most {MAX_RANGE_DAYS} days.",
                                  code="analytics.range", field="from")
        return cls(first, last)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@attrs.frozen
class Point:
    period: date
    value: Decimal


def roll_up(metric: Metric, daily: dict[date, Decimal], span: DayRange,
            grouping: Grouping) -> list[Point]:
    """One point per period of the span (zero where nothing happened). A level takes the
    value of the period's last day within the span."""
    totals: dict[date, Decimal] = {p: Decimal(0) for p in grouping.periods(span.first,
                                                                           span.last)}
    for day in span.days():
        period = grouping.period_of(day)
        value = daily.get(day, Decimal(0))
        totals[period] = value if metric.is_level else totals[period] + value
    return [Point(period, value) for period, value in totals.items()]


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    if denominator == 0:
        return Decimal(0)
    return (numerator / denominator).quantize(Decimal("0.0001"))


def rate_points(completions: Sequence[Point], plays: Sequence[Point]) -> list[Point]:
    return [Point(c.period, ratio(c.value, p.value)) for c, p in zip(completions, plays,
                                                                      strict=True)]


def total_of(metric: Metric, points: Iterable[Point]) -> Decimal:
    values = [p.value for p in points]
    if not values:
        return Decimal(0)
    return values[-1] if metric.is_level else sum(values, Decimal(0))
