"""Statement execution with database errors translated into domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from domain.errors import ConcurrencyConflict, Conflict, Unavailable

# PostgreSQL SQLSTATEs that mean "try again": serialization failure, deadlock.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
LOCK_TIMEOUT_SQLSTATES = {"55P03", "57014"}


def sqlstate(error: sa_exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def constraint_name(error: sa_exc.IntegrityError) -> str:
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name or str(error.orig)


class Executor:
    """The one path statements take, so failures look the same on both databases."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT of this connection's dialect, for ON CONFLICT upserts."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SAVEPOINT around a statement that may meet a constraint. Its own SAVEPOINT
        and RELEASE can meet a lost connection too: that is Unavailable (503, retry), as
        for every other statement, never the driver's error."""
        try:
            with self.connection.begin_nested():
                yield
        except sa_exc.IntegrityError:
            raise
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error

    def __call__(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        try:
            return self.connection.execute(statement, params)
        except sa_exc.IntegrityError:
            raise
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error
        except sa_exc.DBAPIError as error:
            if sqlstate(error) in RETRYABLE_SQLSTATES:
                raise ConcurrencyConflict("Concurrent update; please retry.") from error
            if sqlstate(error) in LOCK_TIMEOUT_SQLSTATES:
                raise Unavailable("The resource is busy; please retry.",
                                  code="service.busy") from error
            raise


def translate_operational(error: sa_exc.OperationalError) -> Exception:
    state = sqlstate(error)
    if state in RETRYABLE_SQLSTATES:
        return ConcurrencyConflict("Concurrent update; please retry.")
    if state in LOCK_TIMEOUT_SQLSTATES or "database is locked" in str(error.orig):
        return Unavailable("The resource is busy; please retry.", code="service.busy")
    return Unavailable("The database is unavailable.", code="service.database_unavailable")


def conflict_from(error: sa_exc.IntegrityError, mapping: dict[str, Conflict]) -> Exception:
    """Map a unique/foreign-key violation to the domain error its constraint means."""
    text = f"{constraint_name(error)} {error.orig}"
    for needle, conflict in mapping.items():
        if needle in text:
            return conflict
    return Conflict("The change conflicts with existing data.", code="conflict.integrity")
