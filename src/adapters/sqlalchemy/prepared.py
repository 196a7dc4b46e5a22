"""Hot statements compiled once to PostgreSQL's own `$n` placeholders (decision 9).

SQLAlchemy's execution path costs more CPU than PostgreSQL spends running our hot
reads: every call re-renders expanding `IN` lists, psycopg re-parses any statement
over 4 KiB (its parse cache stops there, and the access read is about 4 KiB), and the
result layer builds a description and a row object per column. A `Prepared` statement
does all of that once per shape; each call then binds values in a fixed order on a
raw cursor, which psycopg prepares on the server after a few uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

# `numeric_dollar` renders each named parameter as one `$n`, however often it is used.
_DIALECT = PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]

# What may be prepared: statements that compile (a text() would not need it).
# A SELECT of any number of columns (Select is generic over each column's type).
Statement = sa.Select[*tuple[Any, ...]] | sa.Insert | sa.Update | sa.Delete


class _Slot:
    """Stands in for a caller's value while the statement is expanded."""

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int | None) -> None:
        self.name = name
        self.index = index


class Prepared:
    """One statement shape: its SQL text, and where each `$n` takes its value from.

    A list parameter (an expanding `IN`) is fixed to the length it was prepared with;
    the caller keys its cache by that length.
    """

    __slots__ = ("_names", "_placeholders", "_plan", "_source", "sql", "statement")

    def __init__(self, statement: Statement, shape: Mapping[str, Any]) -> None:
        self.statement = statement  # kept alive: callers key their caches by its id
        compiled = statement.compile(dialect=_DIALECT)
        # Only an expanding parameter (`IN`) takes a list apart; a JSON document that
        # is a list is one value.
        expanding = {bind.key for bind in compiled.binds.values() if bind.expanding}
        slots = {name: ([_Slot(name, i) for i in range(len(value))]
                        if name in expanding else _Slot(name, None))
                 for name, value in shape.items()}
        state = compiled.construct_expanded_state(slots)
        # The column types' own conversions (a JSON document to text, an aware time
        # to UTC), as SQLAlchemy would apply them.
        processors: dict[str, Callable[[Any], Any]] = {}
        for key, found in compiled._bind_processors.items():
            if not callable(found):  # one per element: tuple-typed parameters
                raise TypeError(f"parameter {key} of a tuple type cannot be prepared")
            processors[key] = found
        # The statement's own constants (a status it compares with) go into its text:
        # PostgreSQL's generic plan for a prepared statement can then prove a partial
        # index's predicate (`status = 'published'`), which it cannot for `status = $1`.
        plan: list[tuple[str, int | None, Callable[[Any], Any] | None]] = []
        placeholders: dict[int, str] = {}
        for number, position in enumerate(state.positiontup or (), start=1):
            value = state.parameters[position]
            if isinstance(value, _Slot):
                plan.append((value.name, value.index, processors.get(value.name)))
                placeholders[number] = f"${len(plan)}"
            else:
                placeholders[number] = _literal(value)
        self._source, self._placeholders = state.statement, placeholders
        self.sql = self.sql_from(1)
        self._plan = tuple(plan)
        self._names: tuple[str, ...] | None = None

    def sql_from(self, first: int) -> str:
        """The text with its parameters numbered from ``$first`` (1 when alone; later
        in a statement that carries several, see `Executor.send_held`)."""
        shift = first - 1

        def number(match: re.Match[str]) -> str:
            found = self._placeholders[int(match.group(1))]
            return f"${int(found[1:]) + shift}" if shift and found[0] == "$" else found

        return _PLACEHOLDER.sub(number, self._source)

    @property
    def width(self) -> int:
        """How many parameters it binds."""
        return len(self._plan)

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, index, convert in self._plan:
            value = params[name] if index is None else params[name][index]
            values.append(value if convert is None or value is None else convert(value))
        return values

    def names(self, cursor: psycopg.RawCursor[Any]) -> tuple[str, ...]:
        # psycopg builds the description anew on each access: read it once per shape.
        if self._names is None:
            self._names = tuple(column.name for column in cursor.description or ())
        return self._names


_PLACEHOLDER = re.compile(r"\$(\d+)")


def _literal(value: object) -> str:
    """A constant of our own statements as SQL text (never a caller's value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "\\" in value:  # an escape string reads the same whatever the server's settings
            return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal form for a constant of type {type(value).__name__}")


_CACHE: dict[tuple[int, tuple[tuple[str, int], ...]], Prepared] = {}
# Statements are built once per shape and kept; this bound only guards against a
# caller that builds a new one per call.
_CACHE_LIMIT = 2000


def prepared(statement: Statement, params: Mapping[str, Any]) -> Prepared:
    """The prepared form of ``statement`` for parameters shaped like ``params``."""
    lengths = tuple((k, len(v)) for k, v in params.items() if isinstance(v, list | tuple))
    key = (id(statement), lengths)
    found = _CACHE.get(key)
    if found is None or found.statement is not statement:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        found = _CACHE[key] = Prepared(statement, params)
    return found
