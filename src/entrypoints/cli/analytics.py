"""``patronage analytics``: build the daily aggregates, and read them in the terminal."""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from application.analytics.aggregation import AggregateAnalytics
from application.analytics.reports import AnalyticsSeries
from application.analytics.retention import PruneViews
from application.principal import Principal
from domain.analytics.metrics import Metric, Point
from domain.errors import ValidationError
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run

analytics_app = typer.Typer(help="Daily analytics: revenue, members, credits, bookings, "
                                 "views and plays.", no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()
BAR_WIDTH = 40
BLOCKS = " ▏▎▍▌▋▊▉█"


def _day(value: str | None, option: str) -> date | None:
    return None if value is None else _parse_day(value, option)


def _parse_day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError(f"{option} is a day written YYYY-MM-DD.", code="cli.date",
                              field=option.lstrip("-")) from None


@analytics_app.command("aggregate")
@cli_errors
def aggregate(
    first: Annotated[str | None, typer.Option("--from", help=(
        "First day to rebuild (YYYY-MM-DD, UTC). Without --from and --to: every day "
        "anything was written for since the last run, plus today and yesterday."))] = None,
    last: Annotated[str | None, typer.Option("--to", help=(
        "Last day to rebuild (default: today, or --from alone: that one day)."))] = None,
) -> None:
    """Rebuild analytics_daily from the records: each day whole, so running it again
    gives the same rows. The worker runs the incremental form every few minutes."""
    start, end = _day(first, "--from"), _day(last, "--to")
    if start is not None and end is None:
        end = start
    console.print(str(run(AggregateAnalytics(actor=SYSTEM, first=start, last=end))),
                  highlight=False)


@analytics_app.command("prune")
@cli_errors
def prune(
    before: Annotated[str, typer.Option("--before", help=(
        "Views that happened before this day (YYYY-MM-DD, UTC) leave the journal; at "
        "least the last 30 days stay."))],
) -> None:
    """Delete old views from the event journal (they are most of it). Their days keep
    their view counts in analytics_daily, also when rebuilt later; plays, completions,
    sales, memberships and bookings are never pruned. Refused until those days are
    aggregated."""
    day = _parse_day(before, "--before")
    gone = run(PruneViews(actor=SYSTEM, before=day))
    console.print(f"{gone} view(s) before {day} removed from the journal", highlight=False)


def bar(value: Decimal, top: Decimal) -> str:
    """A horizontal bar in eighths of a character, scaled to the largest value."""
    if top <= 0 or value <= 0:
        return ""
    eighths = int(value / top * BAR_WIDTH * 8)
    return BLOCKS[-1] * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")


@analytics_app.command("report")
@cli_errors
def report(
    metric: Annotated[str, typer.Option(help=(
        "One of: " + ", ".join(m.value for m in Metric)))] = Metric.REVENUE_GROSS.value,
    first: Annotated[str | None, typer.Option("--from", help=(
        "First day (YYYY-MM-DD, UTC; default: 29 days before --to)."))] = None,
    last: Annotated[str | None, typer.Option("--to", help=(
        "Last day (default: today)."))] = None,
    group: Annotated[str, typer.Option(help="day, week or month.")] = "day",
    dimension: Annotated[str | None, typer.Option(help=(
        "source:<kind>, seller:<id>, tier:<id> or item:<id> (default: everything)."))
    ] = None,
    output: Annotated[str, typer.Option(
        "--format", help="table (default, with a chart) or csv (to standard output).")
    ] = "table",
) -> None:
    """One metric over time: a table with a bar for each period, and the total."""
    if output not in ("table", "csv"):
        raise ValidationError("--format is table or csv.", code="cli.format", field="format")
    view = run(AnalyticsSeries(actor=SYSTEM, metric=metric, first=_day(first, "--from"),
                               last=_day(last, "--to"), group=group, dimension=dimension))
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(("period", view.metric.value))
        writer.writerows((p.period.isoformat(), view.unit.text(p.value))
                         for p in view.points)
        return
    top = max((p.value for p in view.points), default=Decimal(0))
    where = f" ({view.dimension})" if view.dimension else ""
    table = Table(view.group.value, view.metric.value, "",
                  title=f"{view.metric.value}{where}, {view.first} to {view.last}",
                  title_justify="left")
    for point in view.points:
        table.add_row(_label(point, view.group.value), view.unit.text(point.value),
                      f"[cyan]{bar(point.value, top)}[/cyan]")
    console.print(table)
    console.print(f"total: {view.unit.text(view.total)} ({view.unit.value})",
                  highlight=False)


def _label(point: Point, group: str) -> str:
    return point.period.strftime("%Y-%m") if group == "month" else point.period.isoformat()
