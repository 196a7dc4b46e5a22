"""Writes held for the commit (`Executor.hold`): on PostgreSQL sent as one statement, in
the order they were made, before any later statement; never two changes to one table in
one statement (of two changes to one row, only one would take effect); forgotten on
rollback. On SQLite each runs at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.analytics import SqlJournal
from adapters.sqlalchemy.repositories.outbox import SqlOutboxRepository
from adapters.sqlalchemy.tables import events as journal
from adapters.sqlalchemy.tables import outbox_messages, users
from adapters.system.ids import UUIDv7Generator
from application.analytics.journal import watched
from domain.identity.events import UserRegistered
from tests.integration.wire import statements

NOW = datetime(2026, 3, 1, tzinfo=UTC)

SET_ATTEMPTS = (sa.update(outbox_messages)
                .where(outbox_messages.c.id == sa.bindparam("key", type_=sa.Uuid()))
                .values(attempts=sa.bindparam("attempts", type_=sa.Integer())))
RENAME = (sa.update(users).where(users.c.id == sa.bindparam("key", type_=sa.Uuid()))
          .values(full_name=sa.bindparam("name", type_=sa.String())))
ATTEMPTS = sa.select(outbox_messages.c.attempts).where(
    outbox_messages.c.id == sa.bindparam("key", type_=sa.Uuid()))
SET_ERROR = (sa.update(outbox_messages)
             .where(outbox_messages.c.id == sa.bindparam("key", type_=sa.Uuid()))
             .values(last_error=sa.bindparam("error", type_=sa.Text())))


@pytest.fixture
def engine(either_engine: sa.Engine) -> sa.Engine:
    return either_engine


def _messages(engine: sa.Engine) -> dict[uuid.UUID, Any]:
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(outbox_messages))}


def _write_a_commit(conn: sa.Connection) -> tuple[Executor, list[uuid.UUID], uuid.UUID]:
    """Outbox messages, journal entries and an aggregate's update held, as a commit holds
    them (each to a table of its own)."""
    execute = Executor(conn)
    user, item = uuid.uuid4(), uuid.uuid4()
    execute(sa.insert(users).values(id=user, email=f"{user}@example.com", password_hash="-",
                                    full_name="Viewer", role="customer"))
    outbox = SqlOutboxRepository(execute, UUIDv7Generator())
    ids = outbox.add_all([(UserRegistered(uuid.uuid4()), "email.welcome"),
                          (UserRegistered(uuid.uuid4()), "in_app.welcome")], NOW, held=True)
    SqlJournal(execute).hold(watched(item, user, True, NOW, uuid.uuid4), NOW)
    execute.hold(RENAME, {"key": user, "name": "Renamed"})
    return execute, ids, user


def test_a_commits_held_writes_go_as_one_statement(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        execute, ids, user = _write_a_commit(conn)
        with statements(engine) as seen:
            execute.send_held()
        conn.commit()
    if engine.dialect.name == "postgresql":
        # Outbox messages, journal entries and the update: three CTEs, one statement.
        assert len(seen) == 1 and seen[0].startswith("WITH held_0 AS (INSERT INTO outbox"), seen
        assert seen[0].count(" AS (") == 3, seen[0]
    else:
        assert seen == []  # each ran when it was held
    messages = _messages(engine)
    assert set(ids) == messages.keys()
    assert [messages[i].handler for i in ids] == ["email.welcome", "in_app.welcome"]
    with engine.connect() as conn:
        kinds = sorted(conn.execute(sa.select(journal.c.event_type)).scalars())
        name = conn.execute(sa.select(users.c.full_name).where(users.c.id == user)).scalar()
    assert kinds == ["content.completed", "content.played"] and name == "Renamed"


def test_a_later_statement_sends_the_held_writes_first(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        execute, ids, _ = _write_a_commit(conn)
        # Any later statement, by either path, reads what was held before it.
        counted = execute(sa.select(sa.func.count()).select_from(outbox_messages)).scalar()
        assert counted == 2
        assert execute(sa.select(sa.func.count()).select_from(journal)).scalar() == 2
        execute.hold(SET_ATTEMPTS, {"key": ids[0], "attempts": 4})
        rows = execute.rows(ATTEMPTS, {"key": ids[0]})
        assert [r["attempts"] for r in rows] == [4]
        conn.commit()


def test_two_changes_to_one_row_both_take_effect(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        execute, ids, _ = _write_a_commit(conn)
        execute.send_held()
        with statements(engine) as seen:
            execute.hold(SET_ATTEMPTS, {"key": ids[1], "attempts": 7})
            execute.hold(SET_ERROR, {"key": ids[1], "error": "both"})
            execute.send_held()
        conn.commit()
    # The second update of the table sent the first on its own: two statements.
    assert len(seen) == 2 and all(s.startswith("UPDATE outbox_messages") for s in seen), seen
    row = _messages(engine)[ids[1]]
    assert (row.attempts, row.last_error) == (7, "both")


def test_held_writes_are_forgotten_when_dropped(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        execute = Executor(conn)
        outbox = SqlOutboxRepository(execute, UUIDv7Generator())
        outbox.add_all([(UserRegistered(uuid.uuid4()), "email.welcome")], NOW, held=True)
        execute.drop_held()
        conn.rollback()
        with statements(engine) as seen:
            assert execute(sa.select(sa.func.count()).select_from(outbox_messages)).scalar() == 0
            execute.send_held()
        assert not [s for s in seen if s.startswith(("INSERT", "WITH"))], seen


def test_a_statement_with_its_own_ctes_runs_at_once_after_the_held_ones(
        engine: sa.Engine) -> None:
    """PostgreSQL wants data-modifying CTEs at the top level: a statement that has CTEs
    of its own is not held (nor is a query), and sends what was held before it."""
    five = sa.select(sa.literal(5).label("n")).cte("five")
    with_five = (sa.update(outbox_messages)
                 .where(outbox_messages.c.id == sa.bindparam("key", type_=sa.Uuid()))
                 .values(attempts=sa.select(five.c.n).scalar_subquery()).add_cte(five))
    with engine.connect() as conn:
        execute, ids, _ = _write_a_commit(conn)
        execute.send_held()
        with statements(engine) as seen:
            execute.hold(SET_ERROR, {"key": ids[0], "error": "first"})
            execute.hold(with_five, {"key": ids[1]})
            sent_by_then = list(seen)
            execute.send_held()
        conn.commit()
    if engine.dialect.name == "postgresql":
        assert [s.split(" ")[0] for s in sent_by_then] == ["UPDATE", "WITH"], sent_by_then
    assert len(seen) == len(sent_by_then)  # nothing was left to send
    rows = _messages(engine)
    assert rows[ids[0]].last_error == "first" and rows[ids[1]].attempts == 5
