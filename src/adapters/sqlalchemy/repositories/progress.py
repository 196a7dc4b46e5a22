from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.analytics import journal_row
from adapters.sqlalchemy.tables import content, events, video_playback
from application.ports.catalog import Progress
from domain.analytics.journal import JournalEntry


class SqlProgressRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def upsert(self, user_id: UUID, content_id: UUID, position_seconds: int,
               duration_seconds: int, completed: bool, now: datetime,
               id_if_new: UUID, journal: Sequence[JournalEntry] = ()) -> Progress:
        insert = self._execute.insert(video_playback).values(
            id=id_if_new, user_id=user_id, content_id=content_id,
            position_seconds=position_seconds, duration_seconds=duration_seconds,
            completed=completed, created_at=now, updated_at=now,
        )
        # One round trip; completion is sticky (OR with what was stored).
        stmt = insert.on_conflict_do_update(
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
        if journal:
            logged = self._execute.insert(events).values(
                [journal_row(entry, now) for entry in journal]
            ).on_conflict_do_nothing(index_elements=[events.c.source_key])
            if self._execute.dialect == "postgresql":
                # Still one round trip: the journal entries ride along in a CTE.
                saved = stmt.cte("saved")
                row = self._execute(sa.select(saved).add_cte(
                    logged.returning(events.c.id).cte("logged"))).one()
                return Progress(row.content_id, row.position_seconds, row.duration_seconds,
                                bool(row.completed), row.updated_at)
            self._execute(logged)
        row = self._execute(stmt).one()
        return Progress(row.content_id, row.position_seconds, row.duration_seconds,
                        bool(row.completed), row.updated_at)

    def recent_unfinished(self, user_id: UUID, limit: int) -> Sequence[Progress]:
        rows = self._execute(
            sa.select(video_playback.c.content_id, video_playback.c.position_seconds,
                      video_playback.c.duration_seconds, video_playback.c.completed,
                      video_playback.c.updated_at)
            .join(content, content.c.id == video_playback.c.content_id)
            .where(video_playback.c.user_id == user_id, video_playback.c.completed.is_(False),
                   content.c.deleted_at.is_(None), content.c.status == "published")
            .order_by(video_playback.c.updated_at.desc(), video_playback.c.content_id)
            .limit(limit)
        )
        return [Progress(r.content_id, r.position_seconds, r.duration_seconds, bool(r.completed),
                         r.updated_at) for r in rows]
