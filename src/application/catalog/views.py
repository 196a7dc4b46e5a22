"""Read models returned by catalog use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from application.ports.catalog import CatalogEntry
from domain.access.decision import AccessDecision
from domain.catalog.content import ContentItem
from domain.catalog.series import ContentSeries


@attrs.frozen
class AccessView:
    allowed: bool
    reason: str
    trace: tuple[str, ...]

    @classmethod
    def of(cls, decision: AccessDecision) -> AccessView:
        return cls(decision.allowed, decision.reason.value, decision.trace)


@attrs.frozen
class ProgressView:
    position_seconds: int
    duration_seconds: int
    completed: bool
    updated_at: datetime | None = None


@attrs.frozen
class ContentDetail:
    entry: CatalogEntry
    access: AccessView
    body_html: str | None
    preview: str | None
    progress: ProgressView | None


@attrs.frozen
class StudioItem:
    """Everything the owner sees of their own item."""

    id: UUID
    creator_id: UUID
    slug: str
    title: str
    description: str | None
    content_type: str
    status: str
    visibility: str
    category: str | None
    tags: Sequence[str]
    price: Decimal | None
    currency: str
    thumbnail_url: str | None
    has_media: bool
    duration_seconds: int | None
    body_html: str | None
    excerpt: str | None
    series_id: UUID | None
    prerequisite_ids: Sequence[UUID]
    published_at: datetime | None
    view_count: int
    purchase_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: ContentItem) -> StudioItem:
        return cls(
            id=item.id, creator_id=item.creator_id, slug=item.slug.value, title=item.title,
            description=item.description, content_type=item.content_type.value,
            status=item.status.value, visibility=item.visibility.value,
            category=item.category, tags=tuple(item.tags),
            price=item.price.amount if item.price else None,
            currency=item.price.currency if item.price else "usd",
            thumbnail_url=item.thumbnail_url, has_media=item.media_key is not None,
            duration_seconds=item.media_duration_seconds, body_html=item.body_html,
            excerpt=item.excerpt,
            series_id=item.series_id, prerequisite_ids=tuple(item.prerequisite_ids),
            published_at=item.published_at, view_count=item.view_count,
            purchase_count=item.purchase_count, created_at=item.created_at,
            updated_at=item.updated_at,
        )


@attrs.frozen
class SeriesItemView:
    entry: CatalogEntry
    access: AccessView


@attrs.frozen
class SeriesView:
    id: UUID
    slug: str
    title: str
    description: str | None
    thumbnail_url: str | None
    price: Decimal | None
    currency: str
    status: str
    published_at: datetime | None
    items: Sequence[SeriesItemView]

    @classmethod
    def of(cls, series: ContentSeries, items: Sequence[SeriesItemView]) -> SeriesView:
        return cls(
            id=series.id, slug=series.slug.value, title=series.title,
            description=series.description, thumbnail_url=series.thumbnail_url,
            price=series.price.amount if series.price else None,
            currency=series.price.currency if series.price else "usd",
            status=series.status.value, published_at=series.published_at, items=items,
        )
