"""A commit's outbox messages are written in as few statements as the databases allow,
and a commit with more messages than one statement can carry loses none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.outbox import SqlOutboxRepository
from adapters.sqlalchemy.tables import outbox_messages
from adapters.system.ids import UUIDv7Generator
from application import event_codec
from domain.identity.events import UserRegistered
from tests.integration.wire import statements


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "postgresql":
        yield request.getfixturevalue("clean_db")
        return
    url = f"sqlite:///{tmp_path}/outbox.db"
    migrate.upgrade(url)
    sqlite = create_engine(url)
    yield sqlite
    sqlite.dispose()


@pytest.mark.parametrize("count", [1, 2, 1201])
def test_a_commits_messages_in_one_insert_per_500(engine: sa.Engine, count: int) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    events = [UserRegistered(uuid.uuid4()) for _ in range(count)]
    with engine.connect() as conn, statements(engine) as seen:
        outbox = SqlOutboxRepository(Executor(conn), UUIDv7Generator())
        ids = outbox.add_all([(event, "email.welcome") for event in events], now)
        conn.commit()
    inserts = [s for s in seen if s.upper().startswith("INSERT INTO OUTBOX_MESSAGES")]
    assert len(inserts) == -(-count // 500)  # 1, 1, 3
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_messages.c.id, outbox_messages.c.status,
                                      outbox_messages.c.event_type,
                                      outbox_messages.c.payload)).all()
    assert sorted(r.id for r in rows) == sorted(ids) and len(set(ids)) == count
    assert {r.status for r in rows} == {"pending"}
    # Each row carries its own event, in the order given.
    by_id = {r.id: event_codec.decode(r.event_type, r.payload) for r in rows}
    assert [by_id[i] for i in ids] == events
