"""The event journal and the daily analytics store, in memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from domain.analytics.daily import DayFacts, Row
from domain.analytics.journal import EventType, JournalEntry
from domain.analytics.metrics import Metric, item_of
from tests.unit.fakes.store import Store


class FakeJournal:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def record(self, entries: Sequence[JournalEntry], now: datetime) -> int:
        written = 0
        for entry in entries:
            keys = {e.source_key for e, _ in self._staged.journal if e.source_key}
            if entry.source_key is not None and entry.source_key in keys:
                continue
            self._staged.journal.append((entry, now))
            written += 1
        return written


class FakeAnalyticsStore:
    """Facts are what the test says the records hold (``Store.analytics_facts``); the
    rows, the watermark and the reads behave as the SQL store's."""

    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def lock_run(self, name: str) -> datetime | None:
        self._staged.analytics_locks += 1
        return self._staged.analytics_watermarks.get(name)

    def set_watermark(self, name: str, watermark: datetime, now: datetime) -> None:
        self._staged.analytics_watermarks[name] = watermark

    def watermark(self, name: str) -> datetime | None:
        return self._staged.analytics_watermarks.get(name)

    def prune_views(self, before: datetime, limit: int) -> int:
        gone = [pair for pair in self._staged.journal
                if pair[0].event_type is EventType.CONTENT_VIEWED
                and pair[0].occurred_at < before][:limit]
        self._staged.journal = [pair for pair in self._staged.journal if pair not in gone]
        return len(gone)

    def days_written_since(self, since: datetime) -> set[date]:
        return {entry.occurred_at.date() for entry, recorded in self._staged.journal
                if recorded >= since}

    def first_day(self) -> date | None:
        days = [e.occurred_at.date() for e, _ in self._staged.journal]
        days += list(self._staged.analytics_facts)
        return min(days) if days else None

    def facts(self, day: date) -> DayFacts:
        return self._staged.analytics_facts.get(day, DayFacts(day))

    def replace_day(self, day: date, rows: Sequence[Row], now: datetime,
                    keep: frozenset[Metric] = frozenset()) -> None:
        kept = {k: v for k, v in self._staged.analytics_rows.items()
                if k[0] != day or k[1] in keep}
        kept.update({(r.day, r.metric, r.dimension): r.value for r in rows
                     if r.metric not in keep})
        self._staged.analytics_rows = kept

    def daily(self, metrics: Iterable[Metric], dimension: str, first: date, last: date
              ) -> Mapping[Metric, Mapping[date, Decimal]]:
        wanted = set(metrics)
        found: dict[Metric, dict[date, Decimal]] = defaultdict(dict)
        for (day, metric, dim), value in self._staged.analytics_rows.items():
            if metric in wanted and dim == dimension and first <= day <= last:
                found[metric][day] = value
        return found

    def by_item(self, metrics: Iterable[Metric], first: date, last: date
                ) -> Mapping[UUID, Mapping[Metric, Decimal]]:
        wanted = set(metrics)
        found: dict[UUID, dict[Metric, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for (day, metric, dim), value in self._staged.analytics_rows.items():
            item = item_of(dim)
            if item is not None and metric in wanted and first <= day <= last:
                found[item][metric] += value
        return {item: dict(values) for item, values in found.items()}

    def items_of(self, seller_id: UUID) -> Mapping[UUID, tuple[str, str]]:
        named = {c.id: ("content", c.title) for c in self._staged.content.values()
                 if c.creator_id == seller_id}
        named.update({o.id: ("offering", o.title) for o in self._staged.offerings.values()
                      if o.creator_id == seller_id})
        return named

    def titles(self, item_ids: Iterable[UUID]) -> Mapping[UUID, tuple[str, str]]:
        wanted = set(item_ids)
        named = {c.id: ("content", c.title) for c in self._staged.content.values()
                 if c.id in wanted}
        named.update({o.id: ("offering", o.title) for o in self._staged.offerings.values()
                      if o.id in wanted})
        return named
