"""Keeping the journal from growing without end: views older than a day the owner
names leave the journal, while their daily counts stay in ``analytics_daily``.

Views are most of the journal (one per viewer and hour) and nothing else reads them once
their days are aggregated. Everything else stays: plays and completions keep counting
each viewer once, and purchases, memberships and bookings are records.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import attrs

from application.analytics.aggregation import PRUNED, RUN
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, ValidationError
from domain.identity.permissions import Permission
from domain.values import FIRST_DAY

KEEP_AT_LEAST = timedelta(days=30)
BATCH = 10_000  # rows per statement and transaction: no long lock on the journal


@attrs.frozen
class PruneViews:
    actor: Principal
    before: date


def prune_views(cmd: PruneViews, uow: UnitOfWork, services: Services) -> int:
    """Returns how many views left the journal."""
    cmd.actor.require(Permission.ANALYTICS_VIEW_ALL)
    now = services.clock.now()
    if not FIRST_DAY <= cmd.before <= now.date() - KEEP_AT_LEAST:
        raise ValidationError(f"Keep at least the last {KEEP_AT_LEAST.days} days: --before "
                              f"is at most {now.date() - KEEP_AT_LEAST}.",
                              code="analytics.prune_too_recent", field="before")
    horizon = datetime.combine(cmd.before, time(), tzinfo=UTC)
    aggregated = uow.analytics.watermark(RUN)
    if aggregated is None or aggregated < horizon:
        raise Conflict("Those days are not aggregated yet: run `patronage analytics "
                       "aggregate` (or the worker) first.", code="analytics.not_aggregated")
    # The horizon first: a day rebuilt from here on keeps its stored views, even while
    # the rows are being deleted.
    uow.analytics.lock_run(PRUNED)
    earlier = uow.analytics.watermark(PRUNED)
    uow.analytics.set_watermark(PRUNED, max(horizon, earlier or horizon), now)
    uow.commit()
    pruned = 0
    while True:
        gone = uow.analytics.prune_views(horizon, BATCH)
        uow.commit()
        pruned += gone
        if gone < BATCH:
            return pruned
