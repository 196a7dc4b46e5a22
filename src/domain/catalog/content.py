"""The ContentItem aggregate: one video, audio or written piece and its lifecycle."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from domain.catalog.events import ContentPublished, ContentUnpublished
from domain.catalog.rules import (
    BODY_MAX,
    DESCRIPTION_MAX,
    EXCERPT_MAX,
    PREREQUISITES_MAX,
    ContentType,
    Status,
    Visibility,
    clean_category,
    clean_text,
    clean_title,
    normalise_tags,
)
from domain.errors import Conflict, ValidationError
from domain.events import Aggregate
from domain.values import Money, Slug, Url


class ContentStateError(Conflict):
    code = "content.invalid_state"


@attrs.define
class ContentItem(Aggregate):
    id: UUID
    creator_id: UUID
    title: str
    slug: Slug
    content_type: ContentType
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    media_key: str | None = None
    media_duration_seconds: int | None = None
    thumbnail_url: str | None = None
    body_html: str | None = None
    excerpt: str | None = None  # plain text chosen by the creator as the public preview
    category: str | None = None
    tags: list[str] = attrs.field(factory=list)
    series_id: UUID | None = None
    visibility: Visibility = Visibility.PURCHASED_ONLY
    price: Money | None = None
    status: Status = Status.DRAFT
    published_at: datetime | None = None
    view_count: int = 0
    purchase_count: int = 0
    prerequisite_ids: list[UUID] = attrs.field(factory=list)
    deleted_at: datetime | None = None

    @classmethod
    def draft(
        cls,
        *,
        id: UUID,
        creator_id: UUID,
        title: str,
        slug: Slug,
        content_type: ContentType,
        now: datetime,
    ) -> ContentItem:
        # The slug is made from the title once, here; later title edits never move it,
        # so a link that was shared keeps working. The owner may rename it explicitly.
        return cls(id=id, creator_id=creator_id, title=clean_title(title), slug=slug,
                   content_type=content_type, created_at=now, updated_at=now)

    @property
    def is_live(self) -> bool:
        return self.status is Status.PUBLISHED and self.deleted_at is None

    @property
    def is_free(self) -> bool:
        return self.price is None or self.price.is_zero

    def _editable(self) -> None:
        if self.deleted_at is not None:
            raise ContentStateError("This item was deleted.", code="content.deleted")

    def edit(
        self,
        now: datetime,
        *,
        title: str | None = None,
        description: str | None = None,
        thumbnail_url: str | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
        visibility: Visibility | None = None,
        price: Money | None = None,
        body_html: str | None = None,
        excerpt: str | None = None,
        clear: frozenset[str] = frozenset(),
    ) -> None:
        """Validate all changes, then apply them. ``clear`` names fields to set to null."""
        self._editable()
        allowed_clear = {"description", "thumbnail_url", "category", "price", "body_html",
                         "excerpt"}
        if clear - allowed_clear:
            name = sorted(clear - allowed_clear)[0]
            raise ValidationError(f"{name} cannot be cleared.", code="validation.required",
                                  field=name)
        new_title = clean_title(title) if title is not None else self.title
        new_description = clean_text(description, "description", DESCRIPTION_MAX)
        new_thumbnail = Url(thumbnail_url).value if thumbnail_url is not None else None
        new_category = clean_category(category) if category is not None else None
        new_tags = normalise_tags(tags) if tags is not None else None
        new_body = clean_text(body_html, "body_html", BODY_MAX)
        new_excerpt = clean_text(excerpt, "excerpt", EXCERPT_MAX)
        if body_html is not None and self.content_type is not ContentType.WRITTEN:
            raise ValidationError("Only written content has a body.", code="validation.body",
                                  field="body_html")
        if price is not None and price.is_negative:
            raise ValidationError("Price cannot be negative.", code="validation.price",
                                  field="price")

        self.title = new_title
        if description is not None:
            self.description = new_description
        if thumbnail_url is not None:
            self.thumbnail_url = new_thumbnail
        if category is not None:
            self.category = new_category
        if new_tags is not None:
            self.tags = new_tags
        if visibility is not None:
            self.visibility = visibility
        if price is not None:
            self.price = price
        if body_html is not None:
            self.body_html = new_body
        if excerpt is not None:
            self.excerpt = new_excerpt
        for name in clear:
            setattr(self, name, None)
        self.updated_at = now

    def rename_slug(self, slug: Slug, now: datetime) -> None:
        self._editable()
        self.slug = slug
        self.updated_at = now

    def set_prerequisites(self, ids: list[UUID], now: datetime) -> None:
        self._editable()
        unique = list(dict.fromkeys(ids))
        if self.id in unique:
            raise ValidationError("An item cannot be its own prerequisite.",
                                  code="content.prerequisite_cycle", field="prerequisite_ids")
        if len(unique) > PREREQUISITES_MAX:
            raise ValidationError(f"At most {PREREQUISITES_MAX} prerequisites.",
                                  code="validation.prerequisites", field="prerequisite_ids")
        self.prerequisite_ids = unique
        self.updated_at = now

    def attach_media(self, key: str, duration_seconds: int, now: datetime) -> None:
        self._editable()
        if not self.content_type.has_media:
            raise ValidationError("Written content has no media file.", code="content.no_media")
        if duration_seconds <= 0:
            raise ValidationError("Duration must be positive.", code="validation.duration",
                                  field="duration_seconds")
        self.media_key = key
        self.media_duration_seconds = duration_seconds
        self.updated_at = now

    def join_series(self, series_id: UUID | None, now: datetime) -> None:
        """An item belongs to at most one series; None takes it out."""
        self._editable()
        self.series_id = series_id
        self.updated_at = now

    def publish(self, now: datetime) -> None:
        self._editable()
        if self.status is Status.PUBLISHED:
            return
        if self.content_type.has_media and not self.media_key:
            raise ContentStateError("Upload the media file before publishing.",
                                    code="content.media_missing")
        if self.content_type is ContentType.WRITTEN and not self.body_html:
            raise ContentStateError("Write the body before publishing.",
                                    code="content.body_missing")
        self.status = Status.PUBLISHED
        if self.published_at is None:
            self.published_at = now
        self.updated_at = now
        self.record(ContentPublished(content_id=self.id, creator_id=self.creator_id))

    def unpublish(self, now: datetime) -> None:
        self._editable()
        if self.status is Status.DRAFT:
            return
        self.status = Status.DRAFT
        self.updated_at = now
        self.record(ContentUnpublished(content_id=self.id))

    def archive(self, now: datetime) -> None:
        self._editable()
        self.status = Status.ARCHIVED
        self.updated_at = now

    def soft_delete(self, now: datetime) -> None:
        if self.deleted_at is None:
            self.deleted_at = now
            self.updated_at = now
