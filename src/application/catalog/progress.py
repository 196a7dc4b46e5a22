"""Playback progress: resume positions and completion."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import attrs

from application.analytics.journal import watched
from application.catalog.entitlements import resolve
from application.catalog.views import ProgressView
from application.messagebus import Query, SingleStatementWrites
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.catalog.rules import ContentType
from domain.errors import Forbidden, NotFound, Unauthenticated, ValidationError

COMPLETION_SHARE = 0.95


@attrs.frozen(repr=False)
class RecordProgress(SingleStatementWrites):
    content_id: UUID
    position_seconds: int
    token: str

    def __repr__(self) -> str:
        return f"RecordProgress(content_id={self.content_id}, at={self.position_seconds})"


def record_progress(cmd: RecordProgress, uow: UnitOfWork, services: Services) -> ProgressView:
    resolved = resolve(uow, services, token=cmd.token, content_ids=[cmd.content_id])
    found = resolved.one()
    if found is None or found[1].hides_existence:
        raise NotFound("No such content item.", code="content.not_found")
    if resolved.viewer is None:
        raise Unauthenticated("Sign in to save progress.", code="auth.missing_token")
    row, decision = found
    if row.content_type == ContentType.WRITTEN.value or not row.duration_seconds:
        raise ValidationError("Progress is kept for video and audio only.",
                              code="progress.not_media")
    if not decision.allowed:
        raise Forbidden("You do not have access to this item.",
                        code=f"access.{decision.reason.value}")
    duration = row.duration_seconds
    if not 0 <= cmd.position_seconds <= duration:
        raise ValidationError(f"position_seconds must be between 0 and {duration}.",
                              code="progress.out_of_range", field="position_seconds")
    finished = cmd.position_seconds >= COMPLETION_SHARE * duration
    now, viewer = services.clock.now(), resolved.viewer.user_id
    # Completion is sticky: finished before stays finished, whatever this position.
    saved = uow.progress.upsert(viewer, row.item.id, cmd.position_seconds, duration,
                                finished or row.completed, now, services.ids.new_id(),
                                watched(row.item.id, viewer, finished, now,
                                        services.ids.new_id,
                                        played_before=row.position_seconds is not None,
                                        finished_before=row.completed))
    uow.commit()
    return ProgressView(saved.position_seconds, saved.duration_seconds, saved.completed,
                        saved.updated_at)


@attrs.frozen
class ContinueWatching(Query):
    actor: Principal
    limit: int = 20


@attrs.frozen
class ContinueItem:
    content_id: UUID
    slug: str
    title: str
    content_type: str
    thumbnail_url: str | None
    progress: ProgressView


def continue_watching(cmd: ContinueWatching, uow: UnitOfWork, services: Services
                      ) -> Sequence[ContinueItem]:
    """Most recent unfinished items the user may still access."""
    user_id = cmd.actor.require_user()
    recent = uow.progress.recent_unfinished(user_id, max(1, min(cmd.limit, 50)))
    if not recent:
        return []
    resolved = resolve(uow, services, user_id=user_id, content_ids=[p.content_id for p in recent])
    allowed = {row.item.id: row for row, decision in resolved.rows if decision.allowed}
    items = []
    for p in recent:
        row = allowed.get(p.content_id)
        if row is None:
            continue
        items.append(ContinueItem(
            content_id=p.content_id, slug=row.slug, title=row.title,
            content_type=row.content_type, thumbnail_url=row.entry.thumbnail_url,
            progress=ProgressView(p.position_seconds, p.duration_seconds, p.completed,
                                  p.updated_at)))
    return items
