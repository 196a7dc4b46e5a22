"""Analytics over HTTP: one metric over time, and each item's totals, for the whole
platform (/admin/analytics, owners) or one's own sales and items (/studio/analytics),
each as JSON or CSV. Reads come from the daily aggregates only: a year of days costs
the same however many events there were."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import QueryParameter

from application.analytics.reports import (
    AnalyticsByItem,
    AnalyticsSeries,
    ItemLine,
    ItemsView,
    SeriesView,
)
from domain.analytics.metrics import Metric, Unit
from domain.identity.api_keys import Scope
from domain.values import spreadsheet_text
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App, takes_key
from entrypoints.http.openapi import AUTHENTICATED, OWNER
from entrypoints.http.schemas.analytics import ItemAnalyticsOut, ItemsOut, PointOut, SeriesOut

MetricParam = Annotated[str, QueryParameter(name="metric", description=(
    "One of: " + ", ".join(m.value for m in Metric)))]
From = Annotated[date | None, QueryParameter(name="from", description=(
    "First day (inclusive, UTC); default: 29 days before `to`"))]
To = Annotated[date | None, QueryParameter(name="to", description=(
    "Last day (inclusive, UTC); default: today"))]
Group = Annotated[str, QueryParameter(name="group", description="day, week or month")]
Dimension = Annotated[str | None, QueryParameter(name="dimension", description=(
    "Empty for everything; source:<content|series|pack|membership|offering>, "
    "seller:<id>, tier:<id> or item:<id> (in the studio: empty or item:<id>)"))]
NO_STORE = {"Cache-Control": "private, no-store"}
ITEM_HEADER = ("item_id", "kind", "title", "views", "plays", "completions",
               "completion_rate", "bookings", "attended", "revenue_gross", "revenue_refunds",
               "revenue_net")


def series_out(v: SeriesView) -> SeriesOut:
    return SeriesOut(metric=v.metric.value, unit=v.unit.value, group=v.group.value,
                     start=v.first, end=v.last, dimension=v.dimension,
                     points=[PointOut(p.period, v.unit.text(p.value))
                             for p in v.points],
                     total=v.unit.text(v.total))


def _count(line: ItemLine, metric: Metric) -> int:
    return int(line.values.get(metric, Decimal(0)))


def _money(line: ItemLine, metric: Metric) -> str:
    return Unit.MONEY.text(line.values.get(metric, Decimal(0)))


def item_out(line: ItemLine) -> ItemAnalyticsOut:
    return ItemAnalyticsOut(
        item_id=line.item_id, kind=line.kind, title=line.title,
        views=_count(line, Metric.VIEWS), plays=_count(line, Metric.PLAYS),
        completions=_count(line, Metric.COMPLETIONS),
        completion_rate=Unit.RATIO.text(line.completion_rate),
        bookings=_count(line, Metric.BOOKINGS), attended=_count(line, Metric.ATTENDED),
        revenue_gross=_money(line, Metric.REVENUE_GROSS),
        revenue_refunds=_money(line, Metric.REVENUE_REFUNDS),
        revenue_net=_money(line, Metric.REVENUE_NET))


def items_out(v: ItemsView) -> ItemsOut:
    return ItemsOut(start=v.first, end=v.last, items=[item_out(x) for x in v.lines])


def csv_response(rows: Iterable[Sequence[object]], name: str) -> Response[bytes]:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return Response(out.getvalue().encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                             **NO_STORE})


def series_csv(v: SeriesView, prefix: str) -> Response[bytes]:
    rows: list[Sequence[object]] = [("period", v.metric.value)]
    rows += [(p.period.isoformat(), v.unit.text(p.value)) for p in v.points]
    return csv_response(rows, f"{prefix}-{v.metric.value}-{v.first}-{v.last}")


def items_csv(v: ItemsView, prefix: str) -> Response[bytes]:
    rows: list[Sequence[object]] = [ITEM_HEADER]
    for line in v.lines:
        out = item_out(line)
        cells = [getattr(out, name) for name in ITEM_HEADER]
        cells[ITEM_HEADER.index("title")] = spreadsheet_text(out.title)
        rows.append(cells)
    return csv_response(rows, f"{prefix}-items-{v.first}-{v.last}")


class AdminAnalyticsController(Controller):
    path = "/api/v1/admin"
    tags = ["analytics"]
    security = SECURED
    opt = takes_key(Scope.ANALYTICS_READ)

    @get("/analytics", sync_to_thread=True, responses=OWNER)
    def series(self, actor: Actor, patronage: App, metric: MetricParam, start: From = None,
               end: To = None, group: Group = "day", dimension: Dimension = None
               ) -> Response[SeriesOut]:
        """One metric of the whole platform over time (owners). Revenue in total, by
        source, seller, tier or item (`revenue_fees + revenue_net == revenue_gross -
        revenue_refunds`); mrr and active_members at each day's end; members joining and
        leaving; credits issued, spent, expired and adjusted; bookings and attendance;
        views, plays (viewers who started an item), completions and completion_rate.
        Built by `patronage analytics aggregate` and the worker (every few minutes)."""
        view = patronage.handle(AnalyticsSeries(actor=actor, metric=metric, first=start,
                                                last=end, group=group, dimension=dimension))
        return Response(series_out(view), headers=NO_STORE)

    @get("/analytics.csv", sync_to_thread=True, responses=OWNER, media_type="text/csv")
    def series_csv(self, actor: Actor, patronage: App, metric: MetricParam,
                   start: From = None, end: To = None, group: Group = "day",
                   dimension: Dimension = None) -> Response[bytes]:
        """The same series as CSV: `period`, then the metric."""
        view = patronage.handle(AnalyticsSeries(actor=actor, metric=metric, first=start,
                                                last=end, group=group, dimension=dimension))
        return series_csv(view, "platform")

    @get("/analytics/items", sync_to_thread=True, responses=OWNER)
    def items(self, actor: Actor, patronage: App, start: From = None, end: To = None
              ) -> Response[ItemsOut]:
        """Every item's views, plays, completions, completion rate, bookings, attendance
        and revenue over the range, best-selling first."""
        view = patronage.handle(AnalyticsByItem(actor=actor, first=start, last=end))
        return Response(items_out(view), headers=NO_STORE)

    @get("/analytics/items.csv", sync_to_thread=True, responses=OWNER, media_type="text/csv")
    def items_csv(self, actor: Actor, patronage: App, start: From = None, end: To = None
                  ) -> Response[bytes]:
        """The same as CSV."""
        return items_csv(patronage.handle(AnalyticsByItem(actor=actor, first=start,
                                                          last=end)), "platform")


class StudioAnalyticsController(Controller):
    path = "/api/v1/studio"
    tags = ["analytics"]
    security = SECURED
    opt = takes_key(Scope.ANALYTICS_READ)

    @get("/analytics", sync_to_thread=True, responses=AUTHENTICATED)
    def series(self, actor: Actor, patronage: App, metric: MetricParam, start: From = None,
               end: To = None, group: Group = "day", dimension: Dimension = None
               ) -> Response[SeriesOut]:
        """One metric of your own sales and items over time (creators): revenue,
        bookings and attendance, views, plays, completions and completion_rate, for all
        of yours or one item (`dimension=item:<id>`). Memberships and credits are the
        platform's (403 `analytics.platform_metric`)."""
        view = patronage.handle(AnalyticsSeries(actor=actor, metric=metric, first=start,
                                                last=end, group=group, dimension=dimension,
                                                mine=True))
        return Response(series_out(view), headers=NO_STORE)

    @get("/analytics.csv", sync_to_thread=True, responses=AUTHENTICATED, media_type="text/csv")
    def series_csv(self, actor: Actor, patronage: App, metric: MetricParam,
                   start: From = None, end: To = None, group: Group = "day",
                   dimension: Dimension = None) -> Response[bytes]:
        """The same series as CSV."""
        view = patronage.handle(AnalyticsSeries(actor=actor, metric=metric, first=start,
                                                last=end, group=group, dimension=dimension,
                                                mine=True))
        return series_csv(view, "studio")

    @get("/analytics/items", sync_to_thread=True, responses=AUTHENTICATED)
    def items(self, actor: Actor, patronage: App, start: From = None, end: To = None
              ) -> Response[ItemsOut]:
        """Each of your items over the range, best-selling first."""
        view = patronage.handle(AnalyticsByItem(actor=actor, first=start, last=end,
                                                mine=True))
        return Response(items_out(view), headers=NO_STORE)

    @get("/analytics/items.csv", sync_to_thread=True, responses=AUTHENTICATED,
         media_type="text/csv")
    def items_csv(self, actor: Actor, patronage: App, start: From = None, end: To = None
                  ) -> Response[bytes]:
        """The same as CSV."""
        return items_csv(patronage.handle(AnalyticsByItem(actor=actor, first=start,
                                                          last=end, mine=True)), "studio")
