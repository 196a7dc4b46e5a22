from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.repositories.analytics import journal_row
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import content, content_views, events
from domain.analytics.journal import JournalEntry
from domain.catalog.content import ContentItem
from domain.catalog.rules import ContentType, Status, Visibility
from domain.errors import Conflict
from domain.values import Money, Slug

_SLUG_TAKEN = Conflict("That slug is already used.", code="content.slug_taken", field="slug")


def to_row(item: ContentItem) -> dict[str, Any]:
    # view_count and purchase_count are absent on purpose: they change only through
    # atomic increments, never by writing back a value read earlier.
    return {
        "id": item.id,
        "creator_id": item.creator_id,
        "title": item.title,
        "slug": item.slug.value,
        "description": item.description,
        "content_type": item.content_type.value,
        "media_url": item.media_key,
        "media_duration_seconds": item.media_duration_seconds,
        "thumbnail_url": item.thumbnail_url,
        "content_body": item.body_html,
        "excerpt": item.excerpt,
        "category": item.category,
        "tags": list(item.tags),
        "series_id": item.series_id,
        "visibility": item.visibility.value,
        "price": item.price.amount if item.price else None,
        "currency": item.price.currency if item.price else "usd",
        "status": item.status.value,
        "published_at": item.published_at,
        "prerequisite_content_ids": [str(i) for i in item.prerequisite_ids],
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "deleted_at": item.deleted_at,
    }


def from_row(row: sa.RowMapping) -> ContentItem:
    return ContentItem(
        id=row["id"], creator_id=row["creator_id"], title=row["title"],
        slug=Slug(row["slug"]), content_type=ContentType(row["content_type"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
        description=row["description"], media_key=row["media_url"],
        media_duration_seconds=row["media_duration_seconds"],
        thumbnail_url=row["thumbnail_url"], body_html=row["content_body"],
        excerpt=row["excerpt"],
        category=row["category"], tags=list(row["tags"] or []), series_id=row["series_id"],
        visibility=Visibility(row["visibility"]),
        price=Money(row["price"], row["currency"]) if row["price"] is not None else None,
        status=Status(row["status"]), published_at=row["published_at"],
        view_count=row["view_count"], purchase_count=row["purchase_count"],
        prerequisite_ids=[UUID(i) for i in row["prerequisite_content_ids"] or []],
        deleted_at=row["deleted_at"],
    )


_LIVE = content.c.deleted_at.is_(None)


class SqlContentRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[ContentItem] = Tracker(execute, content, to_row)

    def add(self, item: ContentItem) -> None:
        row = to_row(item)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(content).values(**row))
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_content_slug": _SLUG_TAKEN,
                                        "content.slug": _SLUG_TAKEN}) from error
        self.tracker.track(item.id, item, row)

    def get(self, content_id: UUID) -> ContentItem | None:
        known = self.tracker.get(content_id)
        if known is not None:
            return known if known.deleted_at is None else None
        row = self._execute(
            sa.select(content).where(content.c.id == content_id, _LIVE)
        ).mappings().first()
        return self.tracker.track(row["id"], from_row(row)) if row else None

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        # Deleted items keep their slug: an old link must never lead to a new item.
        query = sa.select(content.c.id).where(content.c.slug == slug)
        if excluding is not None:
            query = query.where(content.c.id != excluding)
        return self._execute(query.limit(1)).first() is not None

    def id_for_slug(self, slug: str) -> UUID | None:
        return self._execute(sa.select(content.c.id).where(
            content.c.slug == slug, _LIVE)).scalar_one_or_none()

    def prerequisites_of(self, ids: Iterable[UUID]) -> Mapping[UUID, list[UUID]]:
        wanted = list(ids)
        if not wanted:
            return {}
        rows = self._execute(
            sa.select(content.c.id, content.c.prerequisite_content_ids)
            .where(content.c.id.in_(wanted), _LIVE)
        )
        return {r.id: [UUID(i) for i in r.prerequisite_content_ids or []] for r in rows}

    def existing_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        wanted = list(ids)
        if not wanted:
            return set()
        return set(self._execute(
            sa.select(content.c.id).where(content.c.id.in_(wanted), _LIVE)).scalars())

    def published_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        wanted = list(ids)
        if not wanted:
            return set()
        return set(self._execute(
            sa.select(content.c.id).where(content.c.id.in_(wanted), _LIVE,
                                          content.c.status == "published")).scalars())

    def count_view(self, content_id: UUID, viewer_key: str, hour: datetime,
                   view: JournalEntry) -> bool:
        if self._execute.dialect == "postgresql":
            # One statement: the de-duplication row, the increment and the journal
            # entry, or none of them.
            seen = (
                postgresql.insert(content_views)
                .values(content_id=content_id, viewer_key=viewer_key[:80], hour=hour)
                .on_conflict_do_nothing()
                .returning(content_views.c.content_id)
                .cte("seen")
            )
            row = journal_row(view, view.occurred_at)
            logged = (
                postgresql.insert(events)
                .from_select(list(row), sa.select(*[
                    sa.literal(value, type_=events.c[name].type)
                    for name, value in row.items()]).select_from(seen))
                .returning(events.c.id)
                .cte("logged")
            )
            counted = self._execute(
                sa.update(content)
                .where(content.c.id == content_id, sa.exists(sa.select(1).select_from(seen)))
                .values(view_count=content.c.view_count + 1)
                .add_cte(seen, logged)
            ).rowcount
            return counted == 1
        # SQLite has no data-modifying CTE: three statements in the same transaction.
        first = self._execute(
            sqlite.insert(content_views)
            .values(content_id=content_id, viewer_key=viewer_key[:80], hour=hour)
            .on_conflict_do_nothing()
            .returning(content_views.c.content_id)
        ).first()
        if first is None:
            return False
        self._execute(
            sa.update(content).where(content.c.id == content_id)
            .values(view_count=content.c.view_count + 1)
        )
        self._execute(sa.insert(events).values(journal_row(view, view.occurred_at)))
        return True
