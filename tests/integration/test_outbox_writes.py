"""What a commit writes beside its aggregates, in as few statements as the databases
allow: outbox messages (a commit with more than one statement can carry loses none) and
analytics journal entries; and an outbox message's claim, which marks it processed in the
same statement unless its transaction is rolled back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.analytics import SqlJournal
from adapters.sqlalchemy.repositories.outbox import SqlOutboxRepository
from adapters.sqlalchemy.tables import events as journal
from adapters.sqlalchemy.tables import outbox_messages, users
from adapters.system.ids import UUIDv7Generator
from application import event_codec
from application.analytics.journal import watched
from domain.identity.events import UserRegistered
from tests.integration.wire import statements


@pytest.fixture
def engine(either_engine: sa.Engine) -> sa.Engine:
    return either_engine


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


def _pending(engine: sa.Engine) -> list[uuid.UUID]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox_messages.c.id).where(
            outbox_messages.c.status == "pending")).scalars())


def test_a_claim_marks_the_message_processed_unless_its_transaction_is_rolled_back(
        engine: sa.Engine) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    event = UserRegistered(uuid.uuid4())
    with engine.connect() as conn:
        (message_id,) = SqlOutboxRepository(Executor(conn), UUIDv7Generator()).add_all(
            [(event, "email.welcome")], now)
        conn.commit()
    with engine.connect() as conn, statements(engine) as seen:
        claimed = SqlOutboxRepository(Executor(conn), UUIDv7Generator()).claim(message_id, now)
        assert claimed is not None and claimed.event == event
        assert claimed.handler == "email.welcome" and claimed.attempts == 0
        conn.rollback()  # a failing handler
    sent = [s for s in seen if not s.upper().startswith("BEGIN")]  # SQLite's BEGIN IMMEDIATE
    assert len(sent) == 1 and sent[0].upper().startswith("UPDATE OUTBOX_MESSAGES"), seen
    assert _pending(engine) == [message_id]
    with engine.connect() as conn:
        outbox = SqlOutboxRepository(Executor(conn), UUIDv7Generator())
        assert outbox.claim(message_id, now) is not None
        conn.commit()
    assert _pending(engine) == []
    with engine.connect() as conn:
        assert SqlOutboxRepository(Executor(conn), UUIDv7Generator()).claim(
            message_id, now) is None
        status, processed_at = conn.execute(
            sa.select(outbox_messages.c.status, outbox_messages.c.processed_at)
            .where(outbox_messages.c.id == message_id)).one()
    assert status == "processed" and processed_at == now


def test_a_message_claimed_by_one_worker_is_skipped_by_another(clean_db: sa.Engine) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with clean_db.connect() as conn:
        (message_id,) = SqlOutboxRepository(Executor(conn), UUIDv7Generator()).add_all(
            [(UserRegistered(uuid.uuid4()), "email.welcome")], now)
        conn.commit()
    with clean_db.connect() as first, clean_db.connect() as second:
        assert SqlOutboxRepository(Executor(first), UUIDv7Generator()).claim(
            message_id, now) is not None
        # SKIP LOCKED: the second worker does not wait for the first, it moves on.
        assert SqlOutboxRepository(Executor(second), UUIDv7Generator()).claim(
            message_id, now) is None
        first.rollback()
        assert SqlOutboxRepository(Executor(second), UUIDv7Generator()).claim(
            message_id, now) is not None
        second.commit()
    assert _pending(clean_db) == []


@pytest.mark.parametrize("count", [1, 2, 9])
def test_journal_entries_are_counted_as_written_and_once_each(engine: sa.Engine,
                                                              count: int) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    ids = UUIDv7Generator()
    # Each viewer's first play of an item, the last of them finished too.
    entries = [entry for n in range(count)
               for entry in watched(uuid.uuid4(), uuid.uuid4(), False, now, ids.new_id)]
    entries += watched(entries[-1].subject_id, entries[-1].user_id or uuid.uuid4(), True,
                       now, ids.new_id)[1:]
    user_ids = {entry.user_id for entry in entries}
    with engine.begin() as conn:
        conn.execute(sa.insert(users), [
            {"id": user_id, "email": f"{user_id}@example.com", "password_hash": "-",
             "full_name": "Viewer", "role": "customer"} for user_id in user_ids])
    with engine.connect() as conn:
        recorded = SqlJournal(Executor(conn))
        assert recorded.record(entries, now) == count + 1
        assert recorded.record(entries, now) == 0  # the same source keys: none again
        conn.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(journal)).scalar_one() \
            == count + 1
