"""The content and series repositories, catalog queries and viewing progress."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from application.ports.catalog import CatalogEntry, CatalogFilter, Progress
from domain.analytics.journal import JournalEntry
from domain.catalog.content import ContentItem
from domain.catalog.rules import Visibility
from domain.catalog.series import ContentSeries
from domain.errors import Conflict
from tests.unit.fakes.store import Store


class FakeContentRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, ContentItem] = {}

    def add(self, item: ContentItem) -> None:
        if self.slug_taken(item.slug.value):
            raise Conflict("That slug is already used.", code="content.slug_taken")
        self.seen[item.id] = item

    def _all(self) -> dict[UUID, ContentItem]:
        return {**self._staged.content, **self.seen}

    def get(self, content_id: UUID) -> ContentItem | None:
        if content_id not in self.seen and content_id in self._staged.content:
            self.seen[content_id] = copy.deepcopy(self._staged.content[content_id])
        item = self.seen.get(content_id)
        return item if item is not None and item.deleted_at is None else None

    def tracked(self, content_id: UUID) -> ContentItem | None:
        """The unit of work's copy of any item, deleted ones included (for counters)."""
        if content_id not in self.seen and content_id in self._staged.content:
            self.seen[content_id] = copy.deepcopy(self._staged.content[content_id])
        return self.seen.get(content_id)

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        return any(i.slug.value == slug and i.id != excluding for i in self._all().values())

    def id_for_slug(self, slug: str) -> UUID | None:
        return next((i.id for i in self._all().values()
                     if i.slug.value == slug and i.deleted_at is None), None)

    def prerequisites_of(self, ids: Iterable[UUID]) -> dict[UUID, list[UUID]]:
        items = self._all()
        return {i: list(items[i].prerequisite_ids) for i in ids
                if i in items and items[i].deleted_at is None}

    def existing_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        items = self._all()
        return {i for i in ids if i in items and items[i].deleted_at is None}

    def published_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        items = self._all()
        published = {i for i in ids if i in items and items[i].is_live}
        return published | {i for i in ids if i in self._staged.published_content}

    def count_view(self, content_id: UUID, viewer_key: str, hour: datetime,
                   view: JournalEntry) -> bool:
        key = (content_id, viewer_key, hour)
        if key in self._staged.views:
            return False
        self._staged.views.add(key)
        self._staged.journal.append((view, view.occurred_at))
        item = self.tracked(content_id)
        if item is not None:
            item.view_count += 1
        return True


class FakeSeriesRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, ContentSeries] = {}

    def add(self, series: ContentSeries) -> None:
        self.seen[series.id] = series

    def get(self, series_id: UUID) -> ContentSeries | None:
        if series_id not in self.seen and series_id in self._staged.series:
            self.seen[series_id] = copy.deepcopy(self._staged.series[series_id])
        return self.seen.get(series_id)

    def get_by_slug(self, slug: str) -> ContentSeries | None:
        for series in {**self._staged.series, **self.seen}.values():
            if series.slug.value == slug:
                return self.get(series.id)
        return None

    def slug_taken(self, slug: str, *, excluding: UUID | None = None) -> bool:
        return any(s.slug.value == slug and s.id != excluding
                   for s in {**self._staged.series, **self.seen}.values())


def entry_of(item: ContentItem) -> CatalogEntry:
    """The catalog row of an item, as ``adapters...catalog.entry_from`` builds it."""
    return CatalogEntry(
        id=item.id, slug=item.slug.value, title=item.title, description=item.description,
        content_type=item.content_type.value, visibility=item.visibility.value,
        category=item.category, tags=tuple(item.tags),
        price=item.price.amount if item.price else None,
        currency=item.price.currency if item.price else "usd",
        thumbnail_url=item.thumbnail_url, duration_seconds=item.media_duration_seconds,
        series_id=item.series_id, published_at=item.published_at,
        view_count=item.view_count, status=item.status.value, creator_id=item.creator_id,
    )


class FakeCatalogQueries:
    def __init__(self, content: FakeContentRepository) -> None:
        self._content = content

    def browse(self, filters: CatalogFilter, *, sort: str, after: tuple[object, UUID] | None,
               limit: int) -> Sequence[CatalogEntry]:
        def matches(item: ContentItem) -> bool:
            if not item.is_live or item.visibility is Visibility.PRIVATE:
                return False
            if filters.category and item.category != filters.category:
                return False
            if filters.content_type and item.content_type.value != filters.content_type:
                return False
            if filters.series_id and item.series_id != filters.series_id:
                return False
            if filters.tag and filters.tag not in item.tags:
                return False
            if filters.price == "free" and not item.is_free:
                return False
            if filters.price == "paid" and item.is_free:
                return False
            return not filters.search or relevance(item) > 0

        def relevance(item: ContentItem) -> float:
            # As the databases do it: every word matches a word or a word's start; title
            # words weigh most, then tags, then the description.
            wanted = re.findall(r"[^\W_]+", (filters.search or "").lower())
            fields = ((10.0, item.title), (5.0, " ".join(item.tags)),
                      (1.0, item.description or ""))
            score = 0.0
            for word in wanted:
                hits = [weight for weight, text in fields
                        if any(w.startswith(word)
                               for w in re.findall(r"[^\W_]+", text.lower()))]
                if not hits:
                    return 0.0
                score += sum(hits)
            return score

        def key(item: ContentItem) -> tuple[Any, UUID]:
            if sort == "relevance":
                return relevance(item), item.id
            return (item.published_at if sort == "newest" else item.view_count), item.id

        rows = sorted((i for i in self._content._all().values() if matches(i)),
                      key=key, reverse=True)
        if after is not None:
            rows = [i for i in rows if key(i) < after]
        return [entry_of(i)._replace(relevance=relevance(i) if filters.search else None)
                for i in rows[:limit]]

    def reindex_search(self, language: str) -> None:
        """The fake's search has no language: nothing to rebuild."""

    def studio(self, *, creator_id: UUID | None, status: str | None, limit: int,
               offset: int) -> Sequence[CatalogEntry]:
        rows = sorted((i for i in self._content._all().values()
                       if i.deleted_at is None
                       and (creator_id is None or i.creator_id == creator_id)
                       and (status is None or i.status.value == status)),
                      key=lambda i: (i.created_at, i.id), reverse=True)
        return [entry_of(i) for i in rows[offset:offset + limit]]


class FakeProgressRepository:
    def __init__(self, staged: Store, content: FakeContentRepository) -> None:
        self._staged = staged
        self._content = content

    def upsert(self, user_id: UUID, content_id: UUID, position_seconds: int,
               duration_seconds: int, completed: bool, now: datetime,
               id_if_new: UUID, journal: Sequence[JournalEntry] = ()) -> Progress:
        recorded = {e.source_key for e, _ in self._staged.journal}
        self._staged.journal += [(e, now) for e in journal if e.source_key not in recorded]
        old = self._staged.progress.get((user_id, content_id))
        saved = Progress(content_id, position_seconds, duration_seconds,
                         completed or (old is not None and old.completed), now)
        self._staged.progress[(user_id, content_id)] = saved
        return saved

    def recent_unfinished(self, user_id: UUID, limit: int) -> Sequence[Progress]:
        items = self._content._all()
        rows = [p for (uid, cid), p in self._staged.progress.items()
                if uid == user_id and not p.completed and cid in items
                and items[cid].is_live]
        rows.sort(key=lambda p: p.content_id)
        rows.sort(key=lambda p: p.updated_at, reverse=True)
        return rows[:limit]
