"""A catalog page's rows are read by position: the positions must be the columns'."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from adapters.sqlalchemy.repositories.catalog import ENTRY_COLUMNS, entry_from, entry_from_values

SAMPLE = {
    "id": UUID(int=1), "slug": "a-slug", "title": "A title", "description": "About it",
    "content_type": "video", "visibility": "public", "category": "yoga",
    "tags": ["calm", "morning"], "price": Decimal("9.99"), "currency": "usd",
    "thumbnail_url": "https://example.com/t.jpg", "media_duration_seconds": 61,
    "series_id": UUID(int=2), "published_at": datetime(2026, 1, 2, tzinfo=UTC),
    "view_count": 7, "status": "published", "creator_id": UUID(int=3),
}


def test_every_entry_column_is_read_from_its_position() -> None:
    assert sorted(c.name for c in ENTRY_COLUMNS) == sorted(SAMPLE)
    by_position = [SAMPLE[c.name] for c in ENTRY_COLUMNS]
    assert entry_from_values(by_position) == entry_from(SAMPLE)
    assert entry_from_values(by_position).tags == ("calm", "morning")


def test_a_ranked_row_carries_its_relevance_last() -> None:
    ranked = [*(SAMPLE[c.name] for c in ENTRY_COLUMNS), 0.25]
    assert entry_from_values(ranked) == entry_from({**SAMPLE, "relevance": 0.25})
    assert entry_from_values(ranked).relevance == 0.25


def test_no_tags_read_as_none_are_an_empty_tuple() -> None:
    row = [None if c.name == "tags" else SAMPLE[c.name] for c in ENTRY_COLUMNS]
    assert entry_from_values(row).tags == ()
