"""The sandbox's clock: real time plus an offset kept in the database, so the server,
the worker and the CLI all see the same moved time."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from adapters.sqlalchemy.tables import platform_settings
from application.ports.system import Clock

# Other processes see an advance within this many seconds; reading the offset on
# every call would cost a query per request.
REFRESH_SECONDS = 1.0


class SandboxClock:
    def __init__(self, base: Clock, engine: sa.Engine) -> None:
        self._base = base
        self._engine = engine
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._read_at = float("-inf")

    def _current_offset(self) -> timedelta:
        with self._lock:
            if time.monotonic() - self._read_at < REFRESH_SECONDS:
                return self._offset
        try:
            # Its own statement, outside any transaction: on SQLite a plain connection
            # would ask for the write lock a caller's unit of work may be holding.
            with self._engine.connect().execution_options(
                    patronage_read_only=True, isolation_level="AUTOCOMMIT") as connection:
                seconds = connection.execute(
                    sa.select(platform_settings.c.sandbox_clock_offset_seconds)).scalar()
        except sa.exc.SQLAlchemyError:
            seconds = None  # not migrated yet, or the database is away: keep the last
        with self._lock:
            if seconds is not None:
                self._offset = timedelta(seconds=seconds)
            self._read_at = time.monotonic()
            return self._offset

    def now(self) -> datetime:
        return self._base.now() + self._current_offset()

    def advance(self, by: timedelta) -> datetime:
        if by <= timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._engine.begin() as connection:
            column = platform_settings.c.sandbox_clock_offset_seconds
            connection.execute(sa.update(platform_settings).values(
                {column: column + int(by.total_seconds())}))
            seconds = connection.execute(sa.select(column)).scalar_one()
        with self._lock:
            self._offset = timedelta(seconds=seconds)
            self._read_at = time.monotonic()
        return self._base.now() + self._offset
