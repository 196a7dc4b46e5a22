"""Statements built once (per database where the SQL differs), with named parameters.

Building a statement and working out its cache key on every call cost more CPU than
running it: a purchase's grant upsert took 11.5 % of the request in a profile
(decision 9). A statement built here is kept, so both happen once; on PostgreSQL it
runs through `Executor.rows` on the driver's cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement


class OncePerDialect:
    """A statement built the first time each database asks for it, then kept (the
    prepared-statement cache keys by its identity)."""

    def __init__(self, build: Callable[[Executor], Statement]) -> None:
        self._build = build
        self._built: dict[str, Statement] = {}

    def __call__(self, execute: Executor) -> Statement:
        found = self._built.get(execute.dialect)
        if found is None:
            found = self._built[execute.dialect] = self._build(execute)
        return found


def params(table: sa.Table, *names: str) -> dict[str, sa.BindParameter[Any]]:
    """Named parameters for these columns, typed as the columns are."""
    return {name: sa.bindparam(name, type_=table.c[name].type) for name in names}


def read_by(column: sa.Column[Any], *where: sa.ColumnElement[bool]
            ) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The row whose ``column`` equals the parameter ``key``: read plainly (index 0) and
    locked until commit (index 1), so a repository picks one with ``[lock]``. SQLite
    ignores FOR UPDATE; its writers are serialised by BEGIN IMMEDIATE."""
    read = sa.select(column.table).where(
        column == sa.bindparam("key", type_=column.type), *where)
    return read, read.with_for_update()


class OncePerCount:
    """A multi-row statement built once per database and row count, for the counts a
    hot path writes (up to ``most`` rows); None above that, for the caller's usual path."""

    def __init__(self, build: Callable[[Executor, int], Statement], most: int) -> None:
        self._build = build
        self._most = most
        self._built: dict[tuple[str, int], Statement] = {}

    def __call__(self, execute: Executor, count: int) -> Statement | None:
        if not 0 < count <= self._most:
            return None
        key = (execute.dialect, count)
        found = self._built.get(key)
        if found is None:
            found = self._built[key] = self._build(execute, count)
        return found


def numbered_params(table: sa.Table, names: Sequence[str], prefix: str, count: int
                    ) -> list[dict[str, sa.BindParameter[Any]]]:
    """``count`` rows of named parameters for a multi-row VALUES: ``{prefix}{n}_{name}``."""
    return [{name: sa.bindparam(f"{prefix}{n}_{name}", type_=table.c[name].type)
             for name in names} for n in range(count)]


def numbered(prefix: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The values of ``rows`` under the names `numbered_params` gives them."""
    return {f"{prefix}{n}_{name}": value
            for n, row in enumerate(rows) for name, value in row.items()}
