from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.tables import auth_throttle
from adapters.sqlalchemy.types import UTCDateTime
from application.ports.identity import ThrottleState


class SqlThrottleRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def record_failure(self, key: str, now: datetime, window: timedelta) -> ThrottleState:
        # One atomic upsert: parallel failures are all counted, none lost.
        insert = self._execute.insert(auth_throttle).values(
            key=key, failures=1, window_started_at=now, updated_at=now
        )
        expired = auth_throttle.c.window_started_at <= now - window
        stmt = insert.on_conflict_do_update(
            index_elements=[auth_throttle.c.key],
            set_={
                "failures": sa.case((expired, 1), else_=auth_throttle.c.failures + 1),
                "window_started_at": sa.case(
                    (expired, sa.literal(now, UTCDateTime)),
                    else_=auth_throttle.c.window_started_at,
                ),
                "updated_at": now,
            },
        ).returning(auth_throttle.c.failures, auth_throttle.c.window_started_at)
        row = self._execute(stmt).one()
        return ThrottleState(row.failures, row.window_started_at)

    def release(self, key: str) -> None:
        self._execute(sa.update(auth_throttle).where(
            auth_throttle.c.key == key, auth_throttle.c.failures > 0,
        ).values(failures=auth_throttle.c.failures - 1))

    def clear(self, key: str) -> None:
        self._execute(sa.delete(auth_throttle).where(auth_throttle.c.key == key))
