"""Building ``analytics_daily``: by hand for a range of days, or incrementally by the
worker (the days anything was written for since the last run, plus today and
yesterday).

A day is rebuilt whole from its records, in one transaction that holds the
aggregation's lock: re-running a day gives the same rows, two workers never write one
day at once, and an event written late re-opens the day it happened on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.analytics.daily import build_rows
from domain.analytics.metrics import MAX_RANGE_DAYS, DayRange, Metric
from domain.identity.permissions import Permission

RUN = "daily"
PRUNED = "pruned"  # its watermark: views before it have left the journal
# Events written up to this long before a run began are looked at again by the next
# one: a transaction that commits late (an event written at 12:00:00 but committed at
# 12:00:03) is never skipped.
SETTLE = timedelta(minutes=5)


@attrs.frozen
class AggregateAnalytics:
    actor: Principal
    first: date | None = None
    last: date | None = None


@attrs.frozen
class AggregationReport:
    days: tuple[date, ...]
    rows: int

    def __str__(self) -> str:
        if not self.days:
            return "nothing to aggregate"
        return (f"{len(self.days)} day(s) from {self.days[0]} to {self.days[-1]}, "
                f"{self.rows} row(s)")


def aggregate_analytics(cmd: AggregateAnalytics, uow: UnitOfWork, services: Services
                        ) -> AggregationReport:
    cmd.actor.require(Permission.ANALYTICS_VIEW_ALL)
    started = services.clock.now()
    today = started.date()
    if cmd.first is not None or cmd.last is not None:
        days = DayRange.of(cmd.first, cmd.last or today, today=today, default_days=1).days()
        watermark = None
    else:
        days, watermark = _due(uow, started)
    uow.rollback()
    rows = 0
    for day in days:
        rows += _rebuild(day, uow, services)
    if watermark is not None:
        uow.analytics.lock_run(RUN)
        uow.analytics.set_watermark(RUN, watermark, services.clock.now())
        uow.commit()
    return AggregationReport(tuple(days), rows)


def _due(uow: UnitOfWork, started: datetime) -> tuple[list[date], datetime]:
    """The days to rebuild, and the watermark to keep once they are."""
    today = started.date()
    before = uow.analytics.lock_run(RUN)
    if before is None:
        # The first run builds the whole history (its last three years).
        oldest = today - timedelta(days=MAX_RANGE_DAYS - 1)
        first = min(max(uow.analytics.first_day() or today, oldest), today)
        due = set(DayRange.of(first, today, today=today).days())
    else:
        due = uow.analytics.days_written_since(before)
    due |= {today, today - timedelta(days=1)}
    return sorted(d for d in due if d <= today), started - SETTLE


def _rebuild(day: date, uow: UnitOfWork, services: Services) -> int:
    uow.analytics.lock_run(RUN)
    pruned = uow.analytics.watermark(PRUNED)
    # A day whose views were pruned keeps the views it counted while it had them.
    keep = (frozenset({Metric.VIEWS}) if pruned is not None and day < pruned.date()
            else frozenset())
    built = build_rows(uow.analytics.facts(day))
    uow.analytics.replace_day(day, built, services.clock.now(), keep=keep)
    uow.commit()
    return len(built)
