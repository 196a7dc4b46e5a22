"""Engines for the two supported databases, configured for safe concurrent use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from psycopg.types.json import set_json_loads
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

# Bounded lock waits: a contended row surfaces as a retryable error, never a hang.
POSTGRES_LOCK_TIMEOUT_MS = 5000
POSTGRES_STATEMENT_TIMEOUT_MS = 30000


def normalise_url(url: str) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str, **kwargs: Any) -> Engine:
    parsed = normalise_url(url)
    # A failed statement's error text must not carry its bound values (password hashes,
    # token hashes) into a log line.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed, **kwargs)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")


def _postgres_engine(url: URL, **kwargs: Any) -> Engine:
    # No parallel plans: our statements are short, and under concurrent requests a
    # Gather's worker start-up (~5 ms, measured on a catalog search at a million items)
    # costs more than it saves and takes cores from other requests (decision 18).
    options = (
        f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS} "
        f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS} -c timezone=UTC "
        "-c max_parallel_workers_per_gather=0"
    )
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # No pre-ping: it costs a round trip on every checkout. A dropped connection
    # fails one statement (a 503), and SQLAlchemy then replaces the pool's connections.
    kwargs.setdefault("pool_recycle", 1800)
    engine = sa.create_engine(
        url, connect_args={"options": options, "application_name": "patronage"}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # json/jsonb values decoded by msgspec: 15 times the stdlib's speed on the
        # catalog's tag lists (a page of 20 items spent 17 % of its time there).
        set_json_loads(msgspec.json.decode, dbapi_connection)

    return engine


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
        # transaction handling would defer it past our first SELECT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A writing transaction takes the write lock up front: two deferred
        # transactions that both read then write would otherwise deadlock, and
        # SQLite answers that with an immediate "database is locked". In autocommit
        # mode there is no transaction to begin: each statement is its own.
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        if options.get("patronage_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
