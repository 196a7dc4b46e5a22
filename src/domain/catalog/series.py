"""The ContentSeries aggregate: an ordered set of items, optionally sold as a bundle."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from domain.catalog.events import SeriesPublished
from domain.catalog.rules import DESCRIPTION_MAX, Status, clean_text, clean_title
from domain.errors import Conflict, ValidationError
from domain.events import Aggregate
from domain.values import Money, Slug, Url

SERIES_MAX_ITEMS = 500


@attrs.define
class ContentSeries(Aggregate):
    id: UUID
    creator_id: UUID
    title: str
    slug: Slug
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    thumbnail_url: str | None = None
    price: Money | None = None
    content_order: list[UUID] = attrs.field(factory=list)
    status: Status = Status.DRAFT
    published_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.status is Status.PUBLISHED and self.deleted_at is None

    def edit(self, now: datetime, *, title: str | None = None, description: str | None = None,
             thumbnail_url: str | None = None, price: Money | None = None,
             clear: frozenset[str] = frozenset()) -> None:
        if self.deleted_at is not None:
            raise Conflict("This series was deleted.", code="series.deleted")
        new_title = clean_title(title) if title is not None else self.title
        new_description = clean_text(description, "description", DESCRIPTION_MAX)
        new_thumbnail = Url(thumbnail_url).value if thumbnail_url is not None else None
        if price is not None and price.is_negative:
            raise ValidationError("Price cannot be negative.", code="validation.price",
                                  field="price")
        self.title = new_title
        if description is not None:
            self.description = new_description
        if thumbnail_url is not None:
            self.thumbnail_url = new_thumbnail
        if price is not None:
            self.price = price
        for name in clear & {"description", "thumbnail_url", "price"}:
            setattr(self, name, None)
        self.updated_at = now

    def add_item(self, content_id: UUID, now: datetime, position: int | None = None) -> None:
        if content_id in self.content_order:
            return
        if len(self.content_order) >= SERIES_MAX_ITEMS:
            raise ValidationError(f"A series holds at most {SERIES_MAX_ITEMS} items.",
                                  code="series.too_many_items")
        index = len(self.content_order) if position is None else max(0, position)
        self.content_order.insert(index, content_id)
        self.updated_at = now

    def remove_item(self, content_id: UUID, now: datetime) -> None:
        if content_id not in self.content_order:
            raise ValidationError("That item is not in this series.", code="series.not_member")
        self.content_order.remove(content_id)
        self.updated_at = now

    def reorder(self, order: list[UUID], now: datetime) -> None:
        if sorted(order) != sorted(self.content_order) or len(set(order)) != len(order):
            raise ValidationError("The new order must list exactly the series' items.",
                                  code="series.bad_order", field="content_order")
        self.content_order = list(order)
        self.updated_at = now

    def publish(self, now: datetime) -> None:
        if self.status is Status.PUBLISHED:
            return
        if not self.content_order:
            raise Conflict("Add items before publishing the series.", code="series.empty")
        self.status = Status.PUBLISHED
        if self.published_at is None:
            self.published_at = now
        self.updated_at = now
        self.record(SeriesPublished(series_id=self.id))

    def unpublish(self, now: datetime) -> None:
        self.status = Status.DRAFT
        self.updated_at = now

    def soft_delete(self, now: datetime) -> None:
        if self.deleted_at is None:
            self.deleted_at = now
            self.updated_at = now
