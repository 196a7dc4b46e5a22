"""Connections a thread keeps for the statements it runs itself (decision 9).

The HTTP server's event loop runs the hot reads without a hop to the thread pool.
A pool checkout and check-in per request cost about as much CPU as the read, and
the loop runs one request at a time, so each loop thread keeps one connection: in
autocommit (each hot statement is its own transaction), with short timeouts, since
a statement holds up every request of its process while it runs.

A second connection per thread commits without waiting for the WAL flush, for
resume positions only (`synchronous_commit = off`): a crash may lose the last
second of positions and play events, never anything else. While the loop waits
for a flush it serves nobody; measured on the progress row of `bench/run.py`, the
flush wait cost about a quarter of its throughput (decision 9).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.coalesced import CoalescedPositions
from adapters.sqlalchemy.executor import translate_operational

# Hot statements take well under a millisecond; anything near these limits is a fault.
LOOP_STATEMENT_TIMEOUT_MS = 2000
LOOP_LOCK_TIMEOUT_MS = 1000


class PinnedConnections:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: dict[threading.Thread, list[sa.Connection]] = {}
        # Resume positions saved on the event loop go together (see coalesced.py).
        self.positions = CoalescedPositions(lambda: self.get(durable=False))

    def get(self, *, durable: bool = True) -> sa.Connection:
        """The calling thread's connection; with ``durable=False`` the one whose
        commits do not wait for the WAL flush (resume positions only)."""
        name = "connection" if durable else "unflushed"
        connection: sa.Connection | None = getattr(self._local, name, None)
        if connection is not None and not connection.invalidated and not connection.closed:
            return connection
        connection = self._replace(connection, durable)
        setattr(self._local, name, connection)
        return connection

    def _replace(self, old: sa.Connection | None, durable: bool) -> sa.Connection:
        if old is not None:
            old.close()
        try:
            connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT", patronage_read_only=True)
            if self._engine.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    f"SET statement_timeout = {LOOP_STATEMENT_TIMEOUT_MS}; "
                    f"SET lock_timeout = {LOOP_LOCK_TIMEOUT_MS}"
                    + ("" if durable else "; SET synchronous_commit = off"))
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error
        with self._lock:
            mine = self._held.setdefault(threading.current_thread(), [])
            mine[:] = [c for c in mine if not c.closed] + [connection]
            for thread in [t for t in self._held if not t.is_alive()]:
                for dead in self._held.pop(thread):
                    self._close(dead)
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
            return [c.connection.driver_connection for held in self._held.values()
                    for c in held if not c.closed and not c.invalidated]

    def close(self) -> None:
        with self._lock:
            held = [c for connections in self._held.values() for c in connections]
            self._held = {}
        for connection in held:
            self._close(connection)
