"""Catalog repository and read-model ports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol
from uuid import UUID

import attrs

from domain.access.decision import Grant, ItemFacts, Viewer, ViewerFacts
from domain.analytics.journal import JournalEntry
from domain.catalog.content import ContentItem
from domain.catalog.series import ContentSeries


class ContentRepository(Protocol):
    def add(self, item: ContentItem) -> None:
        """Insert; raises Conflict(content.slug_taken) when the slug is in use."""
        ...

    def get(self, content_id: UUID) -> ContentItem | None:
        """Any item not soft-deleted, drafts included."""
        ...

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool: ...

    def id_for_slug(self, slug: str) -> UUID | None: ...

    def prerequisites_of(self, ids: Iterable[UUID]) -> Mapping[UUID, list[UUID]]:
        """Current prerequisite lists of the given items (missing ids are absent)."""
        ...

    def existing_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        """Which of these ids are items that exist and are not deleted."""
        ...

    def published_ids(self, ids: Iterable[UUID]) -> set[UUID]: ...

    def count_view(self, content_id: UUID, viewer_key: str, hour: datetime,
                   view: JournalEntry) -> bool:
        """Count one view unless this viewer was counted this hour; True if counted. A
        counted view also goes into the event journal (in the same statement where the
        database allows)."""
        ...


class SeriesRepository(Protocol):
    def add(self, series: ContentSeries) -> None: ...

    def get(self, series_id: UUID) -> ContentSeries | None: ...

    def get_by_slug(self, slug: str) -> ContentSeries | None: ...

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool: ...


class CatalogEntry(NamedTuple):
    """One item as lists show it. A named tuple, not a frozen attrs class: a catalog
    page builds 21 of them, and a frozen class sets each of its 18 fields through
    ``object.__setattr__`` (2.3 us an entry against 0.3 us; decision 9)."""

    id: UUID
    slug: str
    title: str
    description: str | None
    content_type: str
    visibility: str
    category: str | None
    tags: Sequence[str]
    price: Decimal | None
    currency: str
    thumbnail_url: str | None
    duration_seconds: int | None
    series_id: UUID | None
    published_at: datetime | None
    view_count: int
    status: str
    creator_id: UUID
    relevance: float | None = None  # how well it matches a search, higher is better


@attrs.frozen
class CatalogFilter:
    category: str | None = None
    tag: str | None = None
    content_type: str | None = None
    series_id: UUID | None = None
    price: str | None = None  # "free" or "paid"
    search: str | None = None


@attrs.frozen
class CatalogPage:
    items: Sequence[CatalogEntry]
    next_cursor: str | None


class CatalogQueries(Protocol):
    def browse(self, filters: CatalogFilter, *, sort: str, after: tuple[object, UUID] | None,
               limit: int) -> Sequence[CatalogEntry]:
        """Live published items, not private, in ``sort`` order after the keyset ``after``."""
        ...

    def studio(self, *, creator_id: UUID | None, status: str | None, limit: int,
               offset: int) -> Sequence[CatalogEntry]:
        """Items of one creator (or all when None), drafts included, newest first."""
        ...

    def reindex_search(self, language: str) -> None:
        """Rebuild the search index of every item in ``language`` (where the index has
        a language; in the caller's transaction)."""
        ...


@attrs.frozen
class AccessRow:
    """One item and what is known about one viewer and it, from a single read."""

    item: ItemFacts
    facts: ViewerFacts
    slug: str
    title: str
    content_type: str
    media_key: str | None
    duration_seconds: int | None
    body_html: str | None
    excerpt: str | None
    position_seconds: int | None
    completed: bool
    entry: CatalogEntry


@attrs.frozen
class AccessLookup:
    viewer: Viewer | None
    session_valid: bool
    rows: Sequence[AccessRow]
    session_id: UUID | None = None
    session_seen: datetime | None = None
    email_verified: bool = False  # the viewer's address confirmed


class AccessFacts(Protocol):
    def lookup(
        self,
        *,
        now: datetime,
        token_hash: str | None = None,
        user_id: UUID | None = None,
        content_ids: Sequence[UUID] | None = None,
        slug: str | None = None,
        idle_since: datetime | None = None,
    ) -> AccessLookup:
        """Session, items and the viewer's grants, membership and progress: one statement.

        A session last seen before ``idle_since`` does not count (idle timeout).

        ``session_valid`` is False when a token was given and matched no live session.
        """
        ...

    def touch_grant(self, grant_id: UUID, now: datetime) -> None:
        """Record that a grant was used (content_access.last_accessed_at)."""
        ...


@attrs.frozen
class Progress:
    content_id: UUID
    position_seconds: int
    duration_seconds: int
    completed: bool
    updated_at: datetime


class ProgressRepository(Protocol):
    def upsert(self, user_id: UUID, content_id: UUID, position_seconds: int,
               duration_seconds: int, completed: bool, now: datetime,
               id_if_new: UUID, journal: Sequence[JournalEntry] = ()) -> Progress:
        """Insert or update in one statement; ``completed`` never goes back to False. The
        journal entries go in with it, each once by its source key. Returns what this
        save stores. An adapter may send it after returning, together with other
        callers' saves, when its caller waits for them before answering (decision 9)."""
        ...

    def recent_unfinished(self, user_id: UUID, limit: int) -> Sequence[Progress]: ...


__all__ = ["AccessFacts", "AccessLookup", "AccessRow", "CatalogEntry", "CatalogFilter",
           "CatalogPage", "CatalogQueries", "ContentRepository", "Grant", "Progress",
           "ProgressRepository", "SeriesRepository"]
