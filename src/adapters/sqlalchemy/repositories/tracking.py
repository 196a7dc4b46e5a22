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
from adapters.sqlalchemy.prepared import Statement
from domain.events import Aggregate

A = TypeVar("A")

# One UPDATE per table and set of changed columns, built once (decision 9): building it
# per flush was a twentieth of a purchase's CPU. The shapes are the column sets the
# commands change, a few dozen; the bound only guards against the unforeseen.
_UPDATES: dict[tuple[str, str, tuple[str, ...]], Statement] = {}
_UPDATES_LIMIT = 1000


def _update(table: sa.Table, key: str, columns: tuple[str, ...]) -> Statement:
    shape = (table.name, key, columns)
    found = _UPDATES.get(shape)
    if found is None:
        if len(_UPDATES) >= _UPDATES_LIMIT:
            _UPDATES.clear()
        # Named apart from the columns: an UPDATE keeps their names for its SET values.
        found = _UPDATES[shape] = (
            sa.update(table)
            .where(table.c[key] == sa.bindparam("tracked_key", type_=table.c[key].type))
            .values({name: sa.bindparam(f"new_{name}", type_=table.c[name].type)
                     for name in columns}))
    return found


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

    def by_key(self, reads: tuple[sa.Select[Any], sa.Select[Any]], key: UUID,
               from_row: Callable[[Any], A], *, lock: bool) -> A | None:
        """`read` by the tracked key (``reads`` select on it): an unlocked read of a copy
        already tracked returns that copy without asking the database, as `load` would."""
        known = self.get(key)
        if known is not None and not lock:
            return known
        return self.read(reads, key, from_row, lock=lock)

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

    def flush(self, *, held: bool = False) -> None:
        """Write back what changed; ``held``: as writes the executor sends later
        (`Executor.hold`), with the rest of a commit."""
        for key, (aggregate, snapshot) in list(self._seen.items()):
            row = self._to_row(aggregate)
            changed = {k: v for k, v in row.items() if snapshot.get(k) != v}
            if changed:
                statement = _update(self._table, self._key, tuple(sorted(changed)))
                values = {"tracked_key": key, **{f"new_{k}": v for k, v in changed.items()}}
                if held:
                    self._execute.hold(statement, values)
                else:
                    self._execute.rows(statement, values)
                self._seen[key] = (aggregate, row)

    def forget(self, key: UUID) -> None:
        self._seen.pop(key, None)

    def clear(self) -> None:
        self._seen.clear()

    def aggregates(self) -> Iterator[A]:
        return (entry[0] for entry in self._seen.values())
