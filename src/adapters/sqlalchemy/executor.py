"""Statement execution with database errors translated into domain errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sqlalchemy.prepared import Prepared, Statement, prepared
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
        self._held: list[tuple[Prepared, list[Any]]] = []
        self._held_tables: set[sa.Table] = set()

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
        if self._held:
            self.send_held()
        try:
            with self.connection.begin_nested():
                yield
        except sa_exc.IntegrityError:
            raise
        except sa_exc.OperationalError as error:
            raise translate_operational(error) from error

    def __call__(self, statement: sa.Executable, params: Any = None) -> sa.CursorResult[Any]:
        if self._held:
            self.send_held()
        with _translated():
            return self.connection.execute(statement, params)

    def rows(self, statement: Statement, params: Mapping[str, Any]
             ) -> Sequence[Mapping[str, Any]]:
        """The rows of a hot statement, by column name (none for a write without
        RETURNING).

        ``statement`` must be built once per shape and kept (it is prepared once, keyed
        by identity). On PostgreSQL it runs on the driver's connection with its SQL
        compiled once; on SQLite it takes the usual path.
        """
        if self.dialect != "postgresql":
            result = self(statement, params)
            if not result.returns_rows:
                return []
            return cast(Sequence[Mapping[str, Any]], result.mappings().all())
        names, found = self._run(statement, params)
        return [dict(zip(names, row, strict=True)) for row in found]

    def values(self, statement: Statement, params: Mapping[str, Any]
               ) -> Sequence[Sequence[Any]]:
        """`rows` as tuples in the statement's column order: for a caller that reads
        many rows by position, building a dict per row cost more than reading it."""
        if self.dialect != "postgresql":
            result = self(statement, params)
            return cast(Sequence[Sequence[Any]], result.all()) if result.returns_rows else []
        return self._run(statement, params)[1]

    def hold(self, statement: Statement, params: Mapping[str, Any]) -> None:
        """A write whose outcome nobody reads, sent with the others held when
        `send_held` is called, or before the next statement, whichever comes first.

        On PostgreSQL the held writes go as one statement of data-modifying CTEs: a
        commit's aggregate updates, outbox messages and journal entries cost one round
        trip instead of one each. They run on one snapshot and cannot see each other's
        rows, and of two changes to one row in one statement only one takes effect: so
        a write to a table that already has one held sends those first. On SQLite, and
        outside a transaction (where each write commits on its own, and nothing may wait
        for a commit that will not come), the write runs at once.
        """
        if self.dialect != "postgresql" or _autocommit(self.connection) \
                or isinstance(statement, sa.Select):
            self.rows(statement, params)
            return
        shape = prepared(statement, params)
        if shape.sql.startswith("WITH"):
            # A statement with CTEs of its own cannot be one of the CTEs of another
            # (PostgreSQL wants data-modifying CTEs at the top level).
            self.rows(statement, params)
            return
        table = cast(sa.Table, statement.table)
        if table in self._held_tables:
            self.send_held()
        self._held.append((shape, shape.values(params)))
        self._held_tables.add(table)

    def send_held(self) -> None:
        held, self._held = self._held, []
        self._held_tables.clear()
        if len(held) == 1:
            self._send(held[0][0].sql, held[0][1], None)
        elif held:
            self._send(_together(tuple(shape for shape, _ in held)),
                       [value for _, values in held for value in values], None)

    def drop_held(self) -> None:
        """Forget the held writes (the transaction they belonged to rolled back)."""
        self._held = []
        self._held_tables.clear()

    def _run(self, statement: Statement, params: Mapping[str, Any]
             ) -> tuple[Sequence[str], Sequence[Sequence[Any]]]:
        if self._held:
            self.send_held()  # in the order they were made
        shape = prepared(statement, params)
        return self._send(shape.sql, shape.values(params), shape)

    def _send(self, sql: str, values: list[Any], shape: Prepared | None
              ) -> tuple[Sequence[str], Sequence[Sequence[Any]]]:
        connection = self.connection
        if not connection.in_transaction() and not _autocommit(connection):
            connection.begin()  # so that the unit of work's commit covers this statement
        cursor = _cursor_of(cast(psycopg.Connection[Any],
                                 connection.connection.driver_connection))
        if connection._has_events or connection.engine._has_events:
            # Listeners (statement counts in tests) see these statements like any other.
            connection.dispatch.before_cursor_execute(
                connection, cast(Any, cursor), sql, values, None, False)
        try:
            cursor.execute(sql, values)
            outcome = cursor.pgresult
            if outcome is None or outcome.status != psycopg.pq.ExecStatus.TUPLES_OK:
                return (), []  # an UPDATE or INSERT without RETURNING
            found = cursor.fetchall()
            return (shape.names(cursor) if shape else ()), found
        except psycopg.Error as error:
            with _translated():
                # SQLAlchemy's own handling: wraps the error, and on a lost connection
                # invalidates it and the pool's older ones, as for any other statement.
                connection._handle_dbapi_exception(error, sql, values, cast(Any, cursor),
                                                  None)
            raise


_CURSOR = "_patronage_cursor"


def _cursor_of(driver: psycopg.Connection[Any]) -> psycopg.RawCursor[Any]:
    """The connection's own cursor, made once and kept with it: a new cursor builds its
    adapters map and looks up every column's loader again, 10 to 25 us of CPU a
    statement. Its last result stays until the next statement replaces it."""
    cursor: psycopg.RawCursor[Any] | None = getattr(driver, _CURSOR, None)
    if cursor is None or cursor.closed:
        cursor = psycopg.RawCursor(driver)
        setattr(driver, _CURSOR, cursor)
    return cursor


# The text of held writes sent together, by the statements they are: a commit's
# shapes are few (which aggregates' columns changed, how many messages), so the text
# is built once per shape and psycopg prepares it like any other.
_TOGETHER: dict[tuple[Prepared, ...], str] = {}
_TOGETHER_LIMIT = 1000


def _together(shapes: tuple[Prepared, ...]) -> str:
    found = _TOGETHER.get(shapes)
    if found is None:
        if len(_TOGETHER) >= _TOGETHER_LIMIT:
            _TOGETHER.clear()
        parts, first = [], 1
        for n, shape in enumerate(shapes):
            parts.append(f"held_{n} AS ({shape.sql_from(first)})")
            first += shape.width
        found = _TOGETHER[shapes] = "WITH " + ", ".join(parts) + " SELECT 1"
    return found


@contextmanager
def _translated() -> Iterator[None]:
    """A failed statement as the domain error it means (see `translate`); constraint
    violations pass through for the repository that knows what they mean."""
    try:
        yield
    except sa_exc.IntegrityError:
        raise
    except sa_exc.DBAPIError as error:
        translated = translate(error)
        if translated is error:
            raise
        raise translated from error


def _autocommit(connection: sa.Connection) -> bool:
    return bool(connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT")


def translate(error: sa_exc.DBAPIError) -> Exception:
    """The domain error a failed statement means; the driver's own error otherwise."""
    if isinstance(error, sa_exc.OperationalError):
        return translate_operational(error)
    if sqlstate(error) in RETRYABLE_SQLSTATES:
        return ConcurrencyConflict("Concurrent update; please retry.")
    if sqlstate(error) in LOCK_TIMEOUT_SQLSTATES:
        return Unavailable("The resource is busy; please retry.", code="service.busy")
    return error


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
