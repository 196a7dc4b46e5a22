"""Statements built once (per database where the SQL differs), with named parameters.

Building a statement and working out its cache key on every call cost more CPU than
running it: a purchase's grant upsert took 11.5 % of the request in a profile
(decision 9). A statement built here is kept, so both happen once; on PostgreSQL it
runs through `Executor.rows` on the driver's cursor.
"""

from __future__ import annotations

from collections.abc import Callable
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
