"""The event journal and the daily analytics built from it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from domain.analytics.daily import DayFacts, Row
from domain.analytics.journal import JournalEntry
from domain.analytics.metrics import Metric


class Journal(Protocol):
    def record(self, entries: Sequence[JournalEntry], now: datetime) -> int:
        """Append the entries (one statement); those whose source key is already
        recorded are skipped. Returns how many were written."""
        ...


class AnalyticsStore(Protocol):
    def lock_run(self, name: str) -> datetime | None:
        """Take the aggregation's lock (held until the transaction ends; a second worker
        waits) and return its watermark (None: never run)."""
        ...

    def set_watermark(self, name: str, watermark: datetime, now: datetime) -> None: ...

    def watermark(self, name: str) -> datetime | None:
        """A run's watermark, read without its lock."""
        ...

    def days_written_since(self, since: datetime) -> set[date]:
        """The days of the events written at or after ``since`` (a late event re-opens
        the day it happened on)."""
        ...

    def first_day(self) -> date | None:
        """The day of the earliest record anything is aggregated from."""
        ...

    def facts(self, day: date) -> DayFacts: ...

    def replace_day(self, day: date, rows: Sequence[Row], now: datetime,
                    keep: frozenset[Metric] = frozenset()) -> None:
        """The day's rows become exactly these; the stored rows of ``keep`` stay as they
        are (their events were pruned from the journal)."""
        ...

    def prune_views(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` journaled views older than ``before``; how many went."""
        ...

    def daily(self, metrics: Iterable[Metric], dimension: str, first: date, last: date
              ) -> Mapping[Metric, Mapping[date, Decimal]]: ...

    def by_item(self, metrics: Iterable[Metric], first: date, last: date
                ) -> Mapping[UUID, Mapping[Metric, Decimal]]:
        """Each item's totals over the days (items with anything to show)."""
        ...

    def items_of(self, seller_id: UUID) -> Mapping[UUID, tuple[str, str]]:
        """The seller's content items, series and offerings: id -> (kind, title)."""
        ...

    def titles(self, item_ids: Iterable[UUID]) -> Mapping[UUID, tuple[str, str]]: ...
