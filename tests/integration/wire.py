"""What the app sends to PostgreSQL: statements through SQLAlchemy, and round trips on
the wire (libpq's protocol trace), for the tests that pin a hot path's cost."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from entrypoints.bootstrap import Patronage


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements sent through SQLAlchemy while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def require_libpq_tracing(engine: sa.Engine, directory: Path) -> None:
    raw = engine.raw_connection()
    assert raw.driver_connection is not None
    try:
        with (directory / "probe.trace").open("w") as probe:
            raw.driver_connection.pgconn.trace(probe.fileno())
            raw.driver_connection.pgconn.untrace()
    except Exception as exc:  # psycopg's pure-Python build or a libpq without tracing
        pytest.skip(f"libpq tracing unavailable: {exc}")
    finally:
        raw.close()


@contextmanager
def round_trips(engine: sa.Engine, directory: Path, patronage: Patronage
                ) -> Iterator[list[str]]:
    """What the app sent to PostgreSQL while the block ran, one entry per round trip.

    Traced: the connections checked out meanwhile, and those the server's threads keep
    for the hot paths (decision 9). before_cursor_execute cannot see what psycopg
    sends by itself (BEGIN, COMMIT, ROLLBACK, statement preparation), so this reads
    libpq's protocol trace of those connections: a simple-protocol "Query" or an
    extended-protocol "Sync" ends one round trip. psycopg prepares a statement on a
    connection once it has run it five times, in a round trip of its own; those
    one-off exchanges are listed as "PREPARE ...".
    """
    path = directory / f"libpq-{uuid.uuid4().hex}.trace"
    handle = path.open("w")
    traced: list[Any] = []

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.pgconn.trace(handle.fileno())
        traced.append(dbapi_connection)

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        if any(c is dbapi_connection for c in traced):
            dbapi_connection.pgconn.untrace()

    sent: list[str] = []
    kept = patronage.pinned.driver_connections() if patronage.pinned else []
    for dbapi_connection in kept:
        dbapi_connection.pgconn.trace(handle.fileno())
    sa.event.listen(engine.pool, "checkout", checkout)
    sa.event.listen(engine.pool, "checkin", checkin)
    try:
        yield sent
    finally:
        sa.event.remove(engine.pool, "checkout", checkout)
        sa.event.remove(engine.pool, "checkin", checkin)
        for dbapi_connection in kept:
            dbapi_connection.pgconn.untrace()
        handle.close()
        prepared: dict[str, str] = {}
        parsed, executed = "", False
        for line in path.read_text().splitlines():
            fields = line.split("\t")
            if "F" not in fields[:3]:
                continue
            kind = fields[fields.index("F") + 2]
            rest = "\t".join(fields[fields.index("F") + 3:]).strip()
            names = re.match(r'"([^"]*)" "([^"]*)', rest)
            if kind == "Parse" and names:
                parsed = names.group(2)[:60]
                prepared[names.group(1)] = parsed
            elif kind == "Bind" and names and names.group(2):
                parsed = prepared.get(names.group(2), f"<statement {names.group(2)}>")
            elif kind == "Execute":
                executed = True
            elif kind == "Query":
                sent.append(rest.strip('"'))
            elif kind == "Sync":
                sent.append(parsed if executed else f"PREPARE {parsed}")
                parsed, executed = "", False
