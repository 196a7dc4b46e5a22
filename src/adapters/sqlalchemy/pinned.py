"""Connections a thread keeps for the statements it runs itself (decision 9).

The HTTP server's event loop runs the hot reads without a hop to the thread pool.
A pool checkout and check-in per request cost about as much CPU as the read, and
the loop runs one request at a time, so each loop thread keeps one connection: in
autocommit (each hot statement is its own transaction), with short timeouts, since
a statement holds up every request of its process while it runs.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import translate_operational

# Hot statements take well under a millisecond; anything near these limits is a fault.
LOOP_STATEMENT_TIMEOUT_MS = 2000
LOOP_LOCK_TIMEOUT_MS = 1000


class PinnedConnections:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: dict[threading.Thread, sa.Connection] = {}

    def get(self) -> sa.Connection:
        connection: sa.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and not connection.invalidated and not connection.closed:
            return connection
        return self._replace(connection)

    def _replace(self, old: sa.Connection | None) -> sa.Connection:
        if old is not None:
            old.close()
        try:
            connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT", patronage_read_only=True)
            if self._engine.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    f"SET statement_timeout = {LOOP_STATEMENT_TIMEOUT_MS}; "
                    f"SET lock_timeout = {LOOP_LOCK_TIMEOUT_MS}")
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error
        self._local.connection = connection
        with self._lock:
            self._held[threading.current_thread()] = connection
            for thread in [t for t in self._held if not t.is_alive()]:
                self._close(self._held.pop(thread))
        return connection

    @staticmethod
    def _close(connection: sa.Connection) -> None:
        # Its timeouts are not the pool's: it must not go back for others to use.
        if not connection.closed:
            connection.invalidate()
            connection.close()

    def driver_connections(self) -> list[Any]:
        """The driver's connections held now (for tracing what they send)."""
        with self._lock:
            return [c.connection.driver_connection for c in self._held.values()
                    if not c.closed and not c.invalidated]

    def close(self) -> None:
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for connection in held:
            self._close(connection)
