from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.repositories.analytics import SqlJournal, journal_insert, journal_row
from adapters.sqlalchemy.statements import numbered
from adapters.sqlalchemy.tables import content, events, video_playback
from application.ports.catalog import Progress
from domain.analytics.journal import JournalEntry


class SqlProgressRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def upsert(self, user_id: UUID, content_id: UUID, position_seconds: int,
               duration_seconds: int, completed: bool, now: datetime,
               id_if_new: UUID, journal: Sequence[JournalEntry] = ()) -> Progress:
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
    # Completion is sticky (OR with what was stored).
    upsert = insert.on_conflict_do_update(
        index_elements=[video_playback.c.user_id, video_playback.c.content_id],
        set_={
            "position_seconds": insert.excluded.position_seconds,
            "duration_seconds": insert.excluded.duration_seconds,
            "completed": sa.or_(video_playback.c.completed, insert.excluded.completed),
            "updated_at": insert.excluded.updated_at,
        },
    ).returning(video_playback.c.content_id, video_playback.c.position_seconds,
                video_playback.c.duration_seconds, video_playback.c.completed,
                video_playback.c.updated_at)
    statement: Statement = upsert
    if journaled:
        logged = journal_insert(execute, journaled)
        statement = sa.select(upsert.cte("saved")).add_cte(
            logged.returning(events.c.id).cte("logged"))
    _STATEMENTS[key] = statement
    return statement
