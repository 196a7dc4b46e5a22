"""Catalog read model: one statement per page, keyset pagination on indexed orders."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.tables import content
from application.catalog_ports import CatalogEntry, CatalogFilter

ENTRY_COLUMNS = (
    content.c.id, content.c.slug, content.c.title, content.c.description,
    content.c.content_type, content.c.visibility, content.c.category, content.c.tags,
    content.c.price, content.c.currency, content.c.thumbnail_url,
    content.c.media_duration_seconds, content.c.series_id, content.c.published_at,
    content.c.view_count, content.c.status, content.c.creator_id,
)


def entry_from(row: sa.Row[object] | sa.RowMapping) -> CatalogEntry:
    m = row._mapping if isinstance(row, sa.Row) else row
    return CatalogEntry(
        id=m["id"], slug=m["slug"], title=m["title"], description=m["description"],
        content_type=m["content_type"], visibility=m["visibility"], category=m["category"],
        tags=tuple(m["tags"] or ()), price=m["price"], currency=m["currency"],
        thumbnail_url=m["thumbnail_url"], duration_seconds=m["media_duration_seconds"],
        series_id=m["series_id"], published_at=m["published_at"], view_count=m["view_count"],
        status=m["status"], creator_id=m["creator_id"],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlCatalogQueries:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def _has_tag(self, tag: str) -> sa.ColumnElement[bool]:
        if self._execute.dialect == "postgresql":
            # Served by the GIN index on content.tags.
            return content.c.tags.op("@>")(sa.literal([tag], type_=JSONB()))
        each = sa.func.json_each(content.c.tags).table_valued("value")
        return sa.exists(sa.select(1).select_from(each).where(each.c.value == tag))

    def browse(self, filters: CatalogFilter, *, sort: str, after: tuple[object, UUID] | None,
               limit: int) -> Sequence[CatalogEntry]:
        query = sa.select(*ENTRY_COLUMNS).where(
            content.c.status == "published",
            content.c.deleted_at.is_(None),
            content.c.visibility != "private",
        )
        if filters.category:
            query = query.where(content.c.category == filters.category)
        if filters.content_type:
            query = query.where(content.c.content_type == filters.content_type)
        if filters.series_id:
            query = query.where(content.c.series_id == filters.series_id)
        if filters.tag:
            query = query.where(self._has_tag(filters.tag))
        if filters.price == "free":
            query = query.where(sa.or_(content.c.price.is_(None), content.c.price == 0))
        elif filters.price == "paid":
            query = query.where(content.c.price > 0)
        if filters.search:
            pattern = f"%{_escape_like(filters.search.lower())}%"
            query = query.where(sa.func.lower(content.c.title).like(pattern, escape="\\"))
        key = content.c.published_at if sort == "newest" else content.c.view_count
        if after is not None:
            query = query.where(sa.tuple_(key, content.c.id) < sa.tuple_(
                sa.literal(after[0], key.type), sa.literal(after[1], content.c.id.type)))
        query = query.order_by(key.desc(), content.c.id.desc()).limit(limit)
        return [entry_from(r) for r in self._execute(query)]

    def studio(self, *, creator_id: UUID | None, status: str | None, limit: int,
               offset: int) -> Sequence[CatalogEntry]:
        query = sa.select(*ENTRY_COLUMNS).where(content.c.deleted_at.is_(None))
        if creator_id is not None:
            query = query.where(content.c.creator_id == creator_id)
        if status is not None:
            query = query.where(content.c.status == status)
        query = query.order_by(content.c.created_at.desc(), content.c.id.desc())
        return [entry_from(r) for r in self._execute(query.limit(limit).offset(offset))]
