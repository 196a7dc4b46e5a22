"""The hot paths' own connections and prepared statements, on a real PostgreSQL.

What decision 9 relies on: each thread keeps its own connections, resume positions
alone skip the WAL flush wait, a lost connection is one 503 and then a new one, and
a prepared statement inside a writing transaction commits and rolls back with it.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.pinned import PinnedConnections
from adapters.sqlalchemy.repositories.progress import (
    PositionSave,
    SqlProgressRepository,
    save_positions,
)
from adapters.sqlalchemy.tables import content, users
from domain.errors import Unavailable

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

_RENAME = (sa.update(users).where(users.c.id == sa.bindparam("id", type_=users.c.id.type))
           .values(full_name=sa.bindparam("name", type_=users.c.full_name.type)))
_NAME = sa.select(users.c.full_name, users.c.role).where(
    users.c.id == sa.bindparam("id", type_=users.c.id.type), users.c.deleted_at.is_(None),
    users.c.role != "platform_owner")


def show(connection: sa.Connection, setting: str) -> str:
    return str(connection.exec_driver_sql(f"SHOW {setting}").scalar_one())


def a_user(engine: sa.Engine, name: str = "Ada") -> uuid.UUID:
    user_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(sa.insert(users).values(
            id=user_id, email=f"{user_id.hex}@example.com", password_hash="x",
            full_name=name, role="customer", created_at=NOW, updated_at=NOW))
    return user_id


def name_of(engine: sa.Engine, user_id: uuid.UUID) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(users.c.full_name)
                                .where(users.c.id == user_id)).scalar_one())


def test_resume_positions_alone_commit_without_waiting_for_the_flush(
        clean_db: sa.Engine) -> None:
    pinned = PinnedConnections(clean_db)
    try:
        durable, unflushed = pinned.get(), pinned.get(durable=False)
        assert durable is not unflushed
        assert pinned.get() is durable and pinned.get(durable=False) is unflushed
        assert show(durable, "synchronous_commit") == "on"
        assert show(unflushed, "synchronous_commit") == "off"
        for connection in (durable, unflushed):
            # A statement on the event loop holds up its whole process: short limits.
            assert show(connection, "statement_timeout") == "2s"
            assert show(connection, "lock_timeout") == "1s"
        # The pool's other connections keep the server's settings.
        with clean_db.connect() as pooled:
            assert show(pooled, "synchronous_commit") == "on"
            assert show(pooled, "statement_timeout") == "30s"
    finally:
        pinned.close()
    assert durable.closed and unflushed.closed


def test_each_thread_keeps_its_own_and_a_finished_threads_are_closed(
        clean_db: sa.Engine) -> None:
    pinned = PinnedConnections(clean_db)
    try:
        mine = pinned.get()
        theirs: list[sa.Connection] = []
        worker = threading.Thread(target=lambda: theirs.append(pinned.get()))
        worker.start()
        worker.join()
        assert theirs[0] is not mine and not theirs[0].closed
        assert len(pinned.driver_connections()) == 2
        # The next connection made notices the finished thread and closes its own.
        pinned.get(durable=False)
        assert theirs[0].closed
        assert len(pinned.driver_connections()) == 2
    finally:
        pinned.close()


def test_a_lost_connection_is_one_503_then_a_new_one(clean_db: sa.Engine) -> None:
    user_id = a_user(clean_db)
    pinned = PinnedConnections(clean_db)
    try:
        first = pinned.get()
        execute = Executor(first)
        assert execute.rows(_NAME, {"id": user_id}) == [{"full_name": "Ada", "role": "customer"}]
        backend = first.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with clean_db.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({backend})")
        with pytest.raises(Unavailable) as lost:
            execute.rows(_NAME, {"id": user_id})
        assert lost.value.code == "service.database_unavailable"
        assert first.invalidated
        second = pinned.get()
        assert second is not first
        assert Executor(second).rows(_NAME, {"id": user_id})[0]["full_name"] == "Ada"
    finally:
        pinned.close()


def test_a_prepared_write_in_a_transaction_commits_and_rolls_back_with_it(
        clean_db: sa.Engine) -> None:
    user_id = a_user(clean_db)
    with clean_db.connect() as conn:
        execute = Executor(conn)
        assert execute.rows(_RENAME, {"id": user_id, "name": "Grace"}) == []
        assert conn.in_transaction()
        conn.rollback()
    assert name_of(clean_db, user_id) == "Ada"
    with clean_db.connect() as conn:
        Executor(conn).rows(_RENAME, {"id": user_id, "name": "Grace"})
        conn.commit()
    assert name_of(clean_db, user_id) == "Grace"


def test_a_prepared_statement_keeps_its_constants_in_its_text(clean_db: sa.Engine) -> None:
    from adapters.sqlalchemy.prepared import prepared

    shape = prepared(_NAME, {"id": uuid.uuid4()})
    # The constant is SQL text (a partial index's predicate can match it), the caller's
    # value a parameter: never the other way round.
    assert "'platform_owner'" in shape.sql
    assert "$1" in shape.sql and "$2" not in shape.sql
    owner = a_user(clean_db, "Owner")
    with clean_db.begin() as conn:
        conn.execute(sa.update(users).where(users.c.id == owner).values(role="platform_owner"))
    with clean_db.connect() as conn:
        assert Executor(conn).rows(_NAME, {"id": owner}) == []


def test_leaving_a_unit_of_work_whose_connection_was_lost_is_not_an_error(
        clean_db: sa.Engine) -> None:
    """The database restarted while a use case talked to a payment provider: its
    transaction went with the connection, so leaving the unit of work has nothing to
    undo (it was a 500 before), and the next one works."""
    from adapters.sqlalchemy.unit_of_work import uow_factory
    from adapters.system.clock import SystemClock
    from adapters.system.ids import UUIDv7Generator

    user_id = a_user(clean_db)
    make = uow_factory(clean_db, clock=SystemClock(), ids=UUIDv7Generator(),
                       subscribers=lambda _event: [])
    with make() as uow:
        user = uow.users.get(user_id)
        assert user is not None and user.full_name == "Ada"
        backend = uow._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with clean_db.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({backend})")
    with make() as uow:
        again = uow.users.get(user_id)
        assert again is not None and again.full_name == "Ada"


@pytest.mark.parametrize("constant", ["it's", "back\\slash", "both\\' and '\\", "$1 and $2"])
def test_a_constant_in_the_prepared_text_reads_back_as_itself(
        clean_db: sa.Engine, constant: str) -> None:
    statement = sa.select(sa.literal(constant, sa.String()).label("value"),
                          sa.bindparam("n", type_=sa.Integer()).label("n"))
    with clean_db.connect() as conn:
        assert Executor(conn).rows(statement, {"n": 7}) == [{"value": constant, "n": 7}]


def test_a_saved_position_updates_its_row_in_place(clean_db: sa.Engine) -> None:
    """Positions are saved every few seconds per viewer: each save after the first is a
    heap-only update, which writes no index entry (revision 0016). An index on a column
    a save changes (`updated_at`, as before) would make every save write all of them."""
    viewer, item = a_user(clean_db), uuid.uuid4()
    with clean_db.begin() as conn:
        conn.execute(sa.insert(content).values(
            id=item, creator_id=viewer, title="A video", slug="a-video",
            content_type="video", status="published", media_duration_seconds=600,
            created_at=NOW, updated_at=NOW))
    with clean_db.begin() as conn:
        progress = SqlProgressRepository(Executor(conn))
        for second in (10, 20, 30, 600):
            saved = progress.upsert(viewer, item, second, 600, second == 600,
                                    NOW + timedelta(seconds=second), uuid.uuid4())
        assert (saved.position_seconds, saved.completed) == (600, True)
        # The statement the event loop's saves go in together (coalesced.py) as well.
        for second in (40, 50):
            save_positions(Executor(conn), [PositionSave(
                uuid.uuid4(), viewer, item, second, 600, True,
                NOW + timedelta(seconds=second))])
        inserted, updated, in_place = conn.exec_driver_sql(
            "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
            "WHERE relname = 'video_playback'").one()
    # Finishing changes `completed`, which the unfinished-items index depends on: that
    # one save may not stay in place; the ones before it must, and the ones after it.
    assert (inserted, updated) == (1, 5)
    assert in_place >= 4
    with clean_db.connect() as conn:
        fillfactor = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'video_playback'").scalar_one()
    assert fillfactor == ["fillfactor=90"]
