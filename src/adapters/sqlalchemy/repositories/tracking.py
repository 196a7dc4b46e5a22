"""Change tracking for aggregates loaded through SQLAlchemy Core.

A repository remembers the row each aggregate was loaded from; at commit the unit
of work asks it to write back only the columns that changed. One object per id
per unit of work, so two reads of the same aggregate see the same changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from domain.events import Aggregate

A = TypeVar("A")


class Tracker(Generic[A]):
    def __init__(
        self, execute: Executor, table: sa.Table, to_row: Callable[[A], dict[str, Any]],
        key: str = "id",
    ) -> None:
        self._execute = execute
        self._table = table
        self._to_row = to_row
        self._key = key
        self._seen: dict[UUID, tuple[A, dict[str, Any]]] = {}

    def get(self, key: UUID) -> A | None:
        entry = self._seen.get(key)
        return entry[0] if entry else None

    def replace(self, key: UUID, aggregate: A) -> A:
        """Track a fresh read in place of an earlier one (a locked re-read)."""
        self._seen[key] = (aggregate, self._to_row(aggregate))
        return aggregate

    def read(self, reads: tuple[sa.Select[Any], sa.Select[Any]], key: object,
             from_row: Callable[[Any], A], *, lock: bool) -> A | None:
        """One row by a statement pair from `statements.read_by`, as `load` returns it."""
        if lock:
            self.flush()
        rows = self._execute.rows(reads[lock], {"key": key})
        return self.load(rows[0] if rows else None, from_row, locked=lock)

    def load(self, row: Mapping[Any, Any] | None, from_row: Callable[[Any], A], *,
             locked: bool) -> A | None:
        """The aggregate a row read just now stands for. An unlocked read returns the
        copy already tracked (one object per id). A locked read makes the row the truth
        from here on: the caller flushed before reading (``flush``), so the row holds
        the earlier copy's changes, and the events that copy recorded move over."""
        if row is None:
            return None
        key = row[self._key]
        known = self.get(key)
        if known is not None and not locked:
            return known
        fresh = from_row(row)
        if isinstance(known, Aggregate) and isinstance(fresh, Aggregate):
            fresh.events.extend(known.events)
        self._seen[key] = (fresh, self._to_row(fresh))
        return fresh

    def track(self, key: UUID, aggregate: A, row: dict[str, Any] | None = None) -> A:
        existing = self._seen.get(key)
        if existing is not None:
            return existing[0]
        self._seen[key] = (aggregate, row if row is not None else self._to_row(aggregate))
        return aggregate

    def flush(self) -> None:
        for key, (aggregate, snapshot) in list(self._seen.items()):
            row = self._to_row(aggregate)
            changed = {k: v for k, v in row.items() if snapshot.get(k) != v}
            if changed:
                self._execute(
                    sa.update(self._table).where(self._table.c[self._key] == key)
                    .values(**changed)
                )
                self._seen[key] = (aggregate, row)

    def forget(self, key: UUID) -> None:
        self._seen.pop(key, None)

    def clear(self) -> None:
        self._seen.clear()

    def aggregates(self) -> Iterator[A]:
        return (entry[0] for entry in self._seen.values())
