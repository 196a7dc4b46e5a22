"""Reading analytics: one metric over time (the platform's, or a creator's own), and
each item's totals over a range. Reads touch ``analytics_daily`` only, so their cost
depends on the days asked for, never on how many events there were."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

import attrs

from application.messagebus import Query
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.analytics.metrics import (
    CREATOR_METRICS,
    TOTAL,
    DayRange,
    Grouping,
    Metric,
    Point,
    Unit,
    by_seller,
    item_of,
    parse_dimension,
    rate_points,
    ratio,
    roll_up,
    total_of,
)
from domain.errors import Forbidden, NotFound, ValidationError
from domain.identity.permissions import Permission

ITEM_METRICS = (Metric.VIEWS, Metric.PLAYS, Metric.COMPLETIONS, Metric.BOOKINGS,
                Metric.ATTENDED, Metric.REVENUE_GROSS, Metric.REVENUE_REFUNDS,
                Metric.REVENUE_NET)


def parse_metric(raw: str) -> Metric:
    try:
        return Metric(raw)
    except ValueError:
        raise ValidationError(f"Unknown metric {raw[:40]!r}; one of "
                              f"{', '.join(m.value for m in Metric)}.",
                              code="analytics.metric", field="metric") from None


def parse_group(raw: str) -> Grouping:
    try:
        return Grouping(raw)
    except ValueError:
        raise ValidationError("group is day, week or month.", code="analytics.group",
                              field="group") from None


@attrs.frozen
class AnalyticsSeries(Query):
    """``mine``: the creator's own sales and items (the studio); otherwise the
    platform's (owners)."""

    actor: Principal
    metric: str
    first: date | None = None
    last: date | None = None
    group: str = "day"
    dimension: str | None = None
    mine: bool = False


@attrs.frozen
class SeriesView:
    metric: Metric
    group: Grouping
    first: date
    last: date
    dimension: str
    points: Sequence[Point]
    total: Decimal

    @property
    def unit(self) -> Unit:
        return self.metric.unit


def analytics_series(cmd: AnalyticsSeries, uow: UnitOfWork, services: Services
                     ) -> SeriesView:
    # Who may ask comes before what was asked: a refusal says nothing about the input.
    cmd.actor.require(Permission.ANALYTICS_VIEW_OWN if cmd.mine
                      else Permission.ANALYTICS_VIEW_ALL)
    metric = parse_metric(cmd.metric)
    group = parse_group(cmd.group)
    span = DayRange.of(cmd.first, cmd.last, today=services.clock.now().date())
    dimension = _dimension(cmd, uow, metric)
    if metric is Metric.COMPLETION_RATE:
        daily = uow.analytics.daily([Metric.COMPLETIONS, Metric.PLAYS], dimension,
                                    span.first, span.last)
        done = roll_up(Metric.COMPLETIONS, dict(daily.get(Metric.COMPLETIONS, {})), span,
                       group)
        started = roll_up(Metric.PLAYS, dict(daily.get(Metric.PLAYS, {})), span, group)
        points = rate_points(done, started)
        total = ratio(total_of(Metric.COMPLETIONS, done), total_of(Metric.PLAYS, started))
    else:
        daily = uow.analytics.daily([metric], dimension, span.first, span.last)
        points = roll_up(metric, dict(daily.get(metric, {})), span, group)
        total = total_of(metric, points)
    return SeriesView(metric, group, span.first, span.last, dimension, points, total)


def _dimension(cmd: AnalyticsSeries, uow: UnitOfWork, metric: Metric) -> str:
    dimension = parse_dimension(cmd.dimension)
    if not cmd.mine:
        return dimension
    seller = cmd.actor.require_user()
    if metric not in CREATOR_METRICS:
        raise Forbidden("Memberships and credits are the platform's; only its owners see "
                        "them.", code="analytics.platform_metric")
    if dimension == TOTAL:
        return by_seller(seller)
    item = item_of(dimension)
    if item is None:
        raise ValidationError("In the studio, dimension is empty (all your sales and "
                              "items) or item:<id> (one of yours).",
                              code="analytics.dimension", field="dimension")
    if item not in uow.analytics.items_of(seller):
        raise NotFound("No such item of yours.", code="analytics.item_not_found")
    return dimension


@attrs.frozen
class AnalyticsByItem(Query):
    actor: Principal
    first: date | None = None
    last: date | None = None
    mine: bool = False


@attrs.frozen
class ItemLine:
    item_id: UUID
    kind: str  # content, series, offering, pack
    title: str
    values: dict[Metric, Decimal]

    @property
    def completion_rate(self) -> Decimal:
        return ratio(self.values.get(Metric.COMPLETIONS, Decimal(0)),
                     self.values.get(Metric.PLAYS, Decimal(0)))


@attrs.frozen
class ItemsView:
    first: date
    last: date
    lines: Sequence[ItemLine]


def analytics_by_item(cmd: AnalyticsByItem, uow: UnitOfWork, services: Services
                      ) -> ItemsView:
    cmd.actor.require(Permission.ANALYTICS_VIEW_OWN if cmd.mine
                      else Permission.ANALYTICS_VIEW_ALL)
    span = DayRange.of(cmd.first, cmd.last, today=services.clock.now().date())
    if cmd.mine:
        known = uow.analytics.items_of(cmd.actor.require_user())
    totals = uow.analytics.by_item(ITEM_METRICS, span.first, span.last)
    if not cmd.mine:
        known = uow.analytics.titles(totals)
    lines = [ItemLine(item, *known[item], values=dict(values))
             for item, values in totals.items() if item in known]
    lines.sort(key=lambda line: (-line.values.get(Metric.REVENUE_GROSS, Decimal(0)),
                                 -line.values.get(Metric.VIEWS, Decimal(0)), line.title,
                                 str(line.item_id)))
    return ItemsView(span.first, span.last, lines)
