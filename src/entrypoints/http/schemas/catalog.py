"""Bodies of the catalog, studio, series, playback and progress routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from entrypoints.http.schemas.common import Currency, PriceText, Strict, UrlText

# The catalog page's query parameters: their bounds, for the route and for the hot
# routes' layer, which takes a page's parameters only within them.
LONGEST_QUERY = {"category": 100, "tag": 50, "q": 100, "cursor": 200}
PRICES = ("free", "paid")
MOST_A_PAGE = 50

ContentKind = Annotated[str, Meta(pattern="^(video|audio|written)$")]
VisibilityText = Annotated[str, Meta(pattern="^(public|private|members_only|purchased_only)$")]
Title = Annotated[str, Meta(min_length=1, max_length=500)]
SlugText = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=20_000)]
Category = Annotated[str, Meta(max_length=100)]
Tag = Annotated[str, Meta(max_length=50)]
Html = Annotated[str, Meta(max_length=1_000_000)]
Excerpt = Annotated[str, Meta(max_length=2_000, description=(
    "Plain text shown to readers who may not open a written item, instead of its opening "
    "words"))]


class ContentCreate(Strict):
    title: Title
    content_type: ContentKind
    slug: SlugText | None = None
    description: Description | None = None
    category: Category | None = None
    tags: Annotated[list[Tag], Meta(max_length=20)] = []
    visibility: VisibilityText = "purchased_only"
    price: PriceText | None = None
    currency: Currency | None = None
    thumbnail_url: UrlText | None = None
    body_html: Html | None = None
    excerpt: Excerpt | None = None


class ContentPatch(Strict):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    category: Category | UnsetType | None = UNSET
    tags: Annotated[list[Tag], Meta(max_length=20)] | UnsetType = UNSET
    visibility: VisibilityText | UnsetType = UNSET
    price: PriceText | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    thumbnail_url: UrlText | UnsetType | None = UNSET
    body_html: Html | UnsetType | None = UNSET
    excerpt: Excerpt | UnsetType | None = UNSET


class SlugBody(Strict):
    slug: SlugText


class PrerequisitesBody(Strict):
    prerequisite_ids: Annotated[list[UUID], Meta(max_length=20)]


class UploadRequest(Strict):
    content_type: Annotated[str, Meta(max_length=100)]
    size: Annotated[int, Meta(ge=1, le=2**53,
                              description="Bytes; the server's upload limit applies")]


class UploadOut(msgspec.Struct):
    key: str
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class UploadConfirm(Strict):
    key: Annotated[str, Meta(max_length=300)]
    duration_seconds: Annotated[int, Meta(ge=1, le=60 * 60 * 24)]


class AccessOut(msgspec.Struct):
    allowed: bool
    reason: str


class ProgressOut(msgspec.Struct):
    position_seconds: int
    duration_seconds: int
    completed: bool
    updated_at: datetime | None = None


class ProgressBody(Strict):
    position_seconds: Annotated[int, Meta(ge=0, le=60 * 60 * 24)]


class EntryOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    description: str | None
    content_type: str
    visibility: str
    category: str | None
    tags: list[str]
    price: str | None
    currency: str
    thumbnail_url: str | None
    duration_seconds: int | None
    series_id: UUID | None
    published_at: datetime | None
    view_count: int


class PageOut(msgspec.Struct):
    items: list[EntryOut]
    next_cursor: str | None


class ContentOut(msgspec.Struct):
    item: EntryOut
    access: AccessOut
    body_html: Annotated[str | None, Meta(description=(
        "Sanitised HTML of a written item, when the reader may open it"))]
    preview: Annotated[str | None, Meta(description=(
        "When the reader may not open a written item: HTML-safe text (no tags; &, < and > "
        "as entities) from the creator's excerpt, or the opening words, never more than a "
        "quarter of the item"))]
    progress: ProgressOut | None


class StudioItemOut(msgspec.Struct):
    id: UUID
    creator_id: UUID
    slug: str
    title: str
    description: str | None
    content_type: str
    status: str
    visibility: str
    category: str | None
    tags: list[str]
    price: str | None
    currency: str
    thumbnail_url: str | None
    has_media: bool
    duration_seconds: int | None
    body_html: str | None
    excerpt: str | None
    series_id: UUID | None
    prerequisite_ids: list[UUID]
    published_at: datetime | None
    view_count: int
    purchase_count: int
    created_at: datetime
    updated_at: datetime


class StudioEntryOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    content_type: str
    status: str
    visibility: str
    price: str | None
    currency: str
    published_at: datetime | None
    view_count: int


class PlaybackOut(msgspec.Struct):
    url: str
    expires_at: datetime


class ContinueOut(msgspec.Struct):
    content_id: UUID
    slug: str
    title: str
    content_type: str
    thumbnail_url: str | None
    progress: ProgressOut


class SeriesCreate(Strict):
    title: Title
    slug: SlugText | None = None
    description: Description | None = None
    price: PriceText | None = None
    currency: Currency | None = None
    thumbnail_url: UrlText | None = None


class SeriesPatch(Strict):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    price: PriceText | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    thumbnail_url: UrlText | UnsetType | None = UNSET


class SeriesItemBody(Strict):
    content_id: UUID
    position: Annotated[int, Meta(ge=0, le=10_000)] | None = None


class SeriesOrderBody(Strict):
    content_order: Annotated[list[UUID], Meta(max_length=500)]


class SeriesItemOut(msgspec.Struct):
    item: EntryOut
    access: AccessOut


class SeriesOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    description: str | None
    thumbnail_url: str | None
    price: str | None
    currency: str
    status: str
    published_at: datetime | None
    items: list[SeriesItemOut]
