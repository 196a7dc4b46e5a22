from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.repositories.analytics import SqlJournal, journal_insert, journal_row
from adapters.sqlalchemy.statements import OncePerCount, numbered
from adapters.sqlalchemy.tables import content, events, video_playback
from application.ports.catalog import Progress
from domain.analytics.journal import JournalEntry


class PositionSave(NamedTuple):
    """One resume position to store, with the journal entries that go in with it."""

    id_if_new: UUID
    user_id: UUID
    content_id: UUID
    position_seconds: int
    duration_seconds: int
    completed: bool
    now: datetime
    journal: tuple[JournalEntry, ...] = ()


class SqlProgressRepository:
    def __init__(self, execute: Executor,
                 coalesce: Callable[[PositionSave], None] | None = None) -> None:
        """With ``coalesce``, a save is handed to it instead of being sent here: the
        event loop's saves go together (see `adapters/sqlalchemy/coalesced.py`)."""
        self._execute = execute
        self._coalesce = coalesce

    def upsert(self, user_id: UUID, content_id: UUID, position_seconds: int,
               duration_seconds: int, completed: bool, now: datetime,
               id_if_new: UUID, journal: Sequence[JournalEntry] = ()) -> Progress:
        if self._coalesce is not None:
            self._coalesce(PositionSave(id_if_new, user_id, content_id, position_seconds,
                                        duration_seconds, completed, now, tuple(journal)))
            # What this save stores; `completed` as given, which the caller has already
            # or-ed with what it read (the statement ors it again, for a parallel save).
            return Progress(content_id, position_seconds, duration_seconds, completed, now)
        params: dict[str, Any] = {
            "id": id_if_new, "user_id": user_id, "content_id": content_id,
            "position_seconds": position_seconds, "duration_seconds": duration_seconds,
            "completed": completed, "now": now}
        pg = self._execute.dialect == "postgresql"
        if pg:
            params.update(numbered("j", [journal_row(entry, now) for entry in journal]))
        elif journal:
            SqlJournal(self._execute).record(journal, now)
        statement = _upsert_statement(self._execute, len(journal) if pg else 0)
        row = self._execute.rows(statement, params)[0]
        return Progress(row["content_id"], row["position_seconds"], row["duration_seconds"],
                        bool(row["completed"]), row["updated_at"])

    def recent_unfinished(self, user_id: UUID, limit: int) -> Sequence[Progress]:
        rows = self._execute(
            sa.select(video_playback.c.content_id, video_playback.c.position_seconds,
                      video_playback.c.duration_seconds, video_playback.c.completed,
                      video_playback.c.updated_at)
            .join(content, content.c.id == video_playback.c.content_id)
            # `NOT completed`, as the partial index says it: `IS FALSE` does not prove
            # the index's condition to PostgreSQL's planner.
            .where(video_playback.c.user_id == user_id, ~video_playback.c.completed,
                   content.c.deleted_at.is_(None), content.c.status == "published")
            .order_by(video_playback.c.updated_at.desc(), video_playback.c.content_id)
            .limit(limit)
        )
        return [Progress(r.content_id, r.position_seconds, r.duration_seconds, bool(r.completed),
                         r.updated_at) for r in rows]



def _over_stored(insert: postgresql.Insert | sqlite.Insert) -> postgresql.Insert | sqlite.Insert:
    """A save over the viewer's stored position of the item. Completion is sticky (or-ed
    with what was stored)."""
    return insert.on_conflict_do_update(
        index_elements=[video_playback.c.user_id, video_playback.c.content_id],
        set_={
            "position_seconds": insert.excluded.position_seconds,
            "duration_seconds": insert.excluded.duration_seconds,
            "completed": sa.or_(video_playback.c.completed, insert.excluded.completed),
            "updated_at": insert.excluded.updated_at,
        },
    )


def _with_journal(execute: Executor, saved: sa.Insert, journaled: int) -> Statement:
    """``saved`` (with a RETURNING) and ``journaled`` journal entries in one statement,
    as CTEs (PostgreSQL)."""
    logged = journal_insert(execute, journaled).returning(events.c.id).cte("logged")
    return sa.select(saved.cte("saved")).add_cte(logged)


# Built once per shape (dialect, number of journal entries), with bound parameters.
_STATEMENTS: dict[tuple[str, int], Statement] = {}


def _upsert_statement(execute: Executor, journaled: int) -> Statement:
    """The resume-position upsert; on PostgreSQL with ``journaled`` journal entries
    riding along in a CTE, so that it stays one round trip."""
    key = (execute.dialect, journaled)
    if key in _STATEMENTS:
        return _STATEMENTS[key]
    now = sa.bindparam("now", type_=video_playback.c.updated_at.type)
    insert = execute.insert(video_playback).values(
        id=sa.bindparam("id", type_=video_playback.c.id.type),
        user_id=sa.bindparam("user_id", type_=video_playback.c.user_id.type),
        content_id=sa.bindparam("content_id", type_=video_playback.c.content_id.type),
        position_seconds=sa.bindparam("position_seconds", type_=sa.Integer()),
        duration_seconds=sa.bindparam("duration_seconds", type_=sa.Integer()),
        completed=sa.bindparam("completed", type_=sa.Boolean()),
        created_at=now, updated_at=now,
    )
    upsert = _over_stored(insert).returning(
        video_playback.c.content_id, video_playback.c.position_seconds,
        video_playback.c.duration_seconds, video_playback.c.completed,
        video_playback.c.updated_at)
    statement: Statement = (_with_journal(execute, upsert, journaled) if journaled
                            else upsert)
    _STATEMENTS[key] = statement
    return statement


# The columns a save sets, each sent as one array for all the saves of a statement.
_SAVED = ("id", "user_id", "content_id", "position_seconds", "duration_seconds", "completed",
          "updated_at")
# A statement carries up to this many journal entries (a save has two at most: its first
# play and its finish); more are split over several statements.
_MOST_JOURNALED = 8


def _saves_statement(execute: Executor, journaled: int) -> Statement:
    """Any number of saves in one statement (PostgreSQL): the rows come as arrays, so
    the statement has one shape however many it carries; with ``journaled`` journal
    entries in a CTE."""
    arrays = [sa.bindparam(name, type_=postgresql.ARRAY(video_playback.c[name].type))
              for name in _SAVED]
    saves = sa.func.unnest(*arrays).table_valued(*_SAVED).render_derived(name="saves")
    insert = postgresql.insert(video_playback).from_select(
        [*_SAVED, "created_at"], sa.select(*[saves.c[name] for name in _SAVED],
                                           saves.c.updated_at))
    upsert = _over_stored(insert)
    if not journaled:
        return upsert
    return _with_journal(execute, upsert.returning(video_playback.c.content_id), journaled)


_SAVES = OncePerCount(_saves_statement, most=_MOST_JOURNALED)
_UNJOURNALED: dict[str, Statement] = {}


def save_positions(execute: Executor, saves: Sequence[PositionSave]) -> None:
    """Store ``saves`` (at most one per viewer and item) in as few statements as their
    journal entries allow: one, unless they carry more than eight. PostgreSQL only."""
    chunk: list[PositionSave] = []
    entries = 0
    for save in saves:
        if chunk and entries + len(save.journal) > _MOST_JOURNALED:
            _send_saves(execute, chunk, entries)
            chunk, entries = [], 0
        chunk.append(save)
        entries += len(save.journal)
    if chunk:
        _send_saves(execute, chunk, entries)


def _send_saves(execute: Executor, saves: Sequence[PositionSave], entries: int) -> None:
    params: dict[str, Any] = {
        "id": [s.id_if_new for s in saves], "user_id": [s.user_id for s in saves],
        "content_id": [s.content_id for s in saves],
        "position_seconds": [s.position_seconds for s in saves],
        "duration_seconds": [s.duration_seconds for s in saves],
        "completed": [s.completed for s in saves], "updated_at": [s.now for s in saves]}
    if entries:
        params.update(numbered("j", [journal_row(entry, save.now)
                                     for save in saves for entry in save.journal]))
        statement = _SAVES(execute, entries)
    else:
        statement = _UNJOURNALED.get(execute.dialect)
        if statement is None:
            statement = _UNJOURNALED[execute.dialect] = _saves_statement(execute, 0)
    if statement is None:
        raise ValueError(f"{entries} journal entries are more than one statement carries")
    execute.rows(statement, params)
