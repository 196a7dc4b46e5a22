"""Turning application read models into response bodies."""

from __future__ import annotations

from decimal import Decimal

from application.catalog.media import PlaybackUrl
from application.catalog.views import (
    AccessView,
    ContentDetail,
    ProgressView,
    SeriesView,
    StudioItem,
)
from application.ports.catalog import CatalogEntry, CatalogPage
from entrypoints.http.schemas.catalog import (
    AccessOut,
    ContentOut,
    EntryOut,
    PageOut,
    PlaybackOut,
    ProgressOut,
    SeriesItemOut,
    SeriesOut,
    StudioEntryOut,
    StudioItemOut,
)


def price_text(price: Decimal | None) -> str | None:
    # Money travels as a decimal string: JSON numbers are floats to most clients.
    return None if price is None else str(price)


def decimal_from(text: str | None) -> Decimal | None:
    # The schema's pattern has already admitted only plain decimal strings.
    return None if text is None else Decimal(text)


def entry_out(entry: CatalogEntry) -> EntryOut:
    return EntryOut(
        id=entry.id, slug=entry.slug, title=entry.title, description=entry.description,
        content_type=entry.content_type, visibility=entry.visibility, category=entry.category,
        tags=list(entry.tags), price=price_text(entry.price), currency=entry.currency,
        thumbnail_url=entry.thumbnail_url, duration_seconds=entry.duration_seconds,
        series_id=entry.series_id, published_at=entry.published_at,
        view_count=entry.view_count,
    )


def studio_entry_out(entry: CatalogEntry) -> StudioEntryOut:
    return StudioEntryOut(
        id=entry.id, slug=entry.slug, title=entry.title, content_type=entry.content_type,
        status=entry.status, visibility=entry.visibility, price=price_text(entry.price),
        currency=entry.currency, published_at=entry.published_at, view_count=entry.view_count,
    )


def access_out(view: AccessView) -> AccessOut:
    return AccessOut(allowed=view.allowed, reason=view.reason)


def page_out(page: CatalogPage) -> PageOut:
    return PageOut(items=[entry_out(e) for e in page.items], next_cursor=page.next_cursor)


def playback_out(result: PlaybackUrl) -> PlaybackOut:
    return PlaybackOut(url=result.url, expires_at=result.expires_at)


def progress_out(view: ProgressView) -> ProgressOut:
    return ProgressOut(position_seconds=view.position_seconds,
                       duration_seconds=view.duration_seconds, completed=view.completed,
                       updated_at=view.updated_at)


def progress_or_none(view: ProgressView | None) -> ProgressOut | None:
    return None if view is None else progress_out(view)


def content_out(detail: ContentDetail) -> ContentOut:
    return ContentOut(item=entry_out(detail.entry), access=access_out(detail.access),
                      body_html=detail.body_html, preview=detail.preview,
                      progress=progress_or_none(detail.progress))


def studio_item_out(item: StudioItem) -> StudioItemOut:
    return StudioItemOut(
        id=item.id, creator_id=item.creator_id, slug=item.slug, title=item.title,
        description=item.description, content_type=item.content_type, status=item.status,
        visibility=item.visibility, category=item.category, tags=list(item.tags),
        price=price_text(item.price), currency=item.currency,
        thumbnail_url=item.thumbnail_url, has_media=item.has_media,
        duration_seconds=item.duration_seconds, body_html=item.body_html,
        excerpt=item.excerpt, series_id=item.series_id,
        prerequisite_ids=list(item.prerequisite_ids),
        published_at=item.published_at, view_count=item.view_count,
        purchase_count=item.purchase_count, created_at=item.created_at,
        updated_at=item.updated_at,
    )


def series_out(view: SeriesView) -> SeriesOut:
    return SeriesOut(
        id=view.id, slug=view.slug, title=view.title, description=view.description,
        thumbnail_url=view.thumbnail_url, price=price_text(view.price),
        currency=view.currency, status=view.status, published_at=view.published_at,
        items=[SeriesItemOut(item=entry_out(i.entry), access=access_out(i.access))
               for i in view.items],
    )
