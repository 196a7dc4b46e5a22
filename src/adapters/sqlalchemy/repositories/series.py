from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import content_series
from domain.catalog.rules import Status
from domain.catalog.series import ContentSeries
from domain.errors import Conflict
from domain.values import Money, Slug

_SLUG_TAKEN = Conflict("That slug is already used.", code="series.slug_taken", field="slug")


def to_row(series: ContentSeries) -> dict[str, Any]:
    return {
        "id": series.id, "creator_id": series.creator_id, "title": series.title,
        "slug": series.slug.value, "description": series.description,
        "thumbnail_url": series.thumbnail_url,
        "price": series.price.amount if series.price else None,
        "currency": series.price.currency if series.price else "usd",
        "content_order": [str(i) for i in series.content_order],
        "status": series.status.value, "published_at": series.published_at,
        "created_at": series.created_at, "updated_at": series.updated_at,
        "deleted_at": series.deleted_at,
    }


def from_row(row: sa.RowMapping) -> ContentSeries:
    return ContentSeries(
        id=row["id"], creator_id=row["creator_id"], title=row["title"],
        slug=Slug(row["slug"]), created_at=row["created_at"], updated_at=row["updated_at"],
        description=row["description"], thumbnail_url=row["thumbnail_url"],
        price=Money(row["price"], row["currency"]) if row["price"] is not None else None,
        content_order=[UUID(i) for i in row["content_order"] or []],
        status=Status(row["status"]), published_at=row["published_at"],
        deleted_at=row["deleted_at"],
    )


class SqlSeriesRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[ContentSeries] = Tracker(execute, content_series, to_row)

    def add(self, series: ContentSeries) -> None:
        row = to_row(series)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(content_series).values(**row))
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_content_series_slug": _SLUG_TAKEN,
                                        "content_series.slug": _SLUG_TAKEN}) from error
        self.tracker.track(series.id, series, row)

    def _one(self, condition: sa.ColumnElement[bool]) -> ContentSeries | None:
        row = self._execute(sa.select(content_series).where(
            condition, content_series.c.deleted_at.is_(None))).mappings().first()
        if row is None:
            return None
        known = self.tracker.get(row["id"])
        return known if known is not None else self.tracker.track(row["id"], from_row(row))

    def get(self, series_id: UUID) -> ContentSeries | None:
        return self.tracker.get(series_id) or self._one(content_series.c.id == series_id)

    def get_by_slug(self, slug: str) -> ContentSeries | None:
        return self._one(content_series.c.slug == slug)

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        query = sa.select(content_series.c.id).where(content_series.c.slug == slug)
        if excluding is not None:
            query = query.where(content_series.c.id != excluding)
        return self._execute(query.limit(1)).first() is not None
