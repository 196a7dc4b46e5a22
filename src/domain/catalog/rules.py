"""Catalog rules shared by items and series: tags, text limits, prerequisites."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from uuid import UUID

from domain.errors import ValidationError

TITLE_MAX = 500
DESCRIPTION_MAX = 20_000
CATEGORY_MAX = 100
TAG_MAX = 50
TAGS_MAX = 20
BODY_MAX = 1_000_000
EXCERPT_MAX = 2_000
PREREQUISITES_MAX = 20


class ContentType(enum.StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    WRITTEN = "written"

    @property
    def has_media(self) -> bool:
        return self is not ContentType.WRITTEN


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    MEMBERS_ONLY = "members_only"
    PURCHASED_ONLY = "purchased_only"


class Status(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


def clean_title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Title is required.", code="validation.title", field="title")
    value = " ".join(value.split())
    if len(value) > TITLE_MAX:
        raise ValidationError(f"Title is longer than {TITLE_MAX} characters.",
                              code="validation.title", field="title")
    return value


def clean_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters.",
                              code="validation.too_long", field=field)
    return value


def clean_category(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split()).lower()
    if not value:
        return None
    if len(value) > CATEGORY_MAX:
        raise ValidationError("Category is too long.", code="validation.category",
                              field="category")
    return value


_TAG_SPACE = re.compile(r"\s+")


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Lower-case, trimmed, inner spaces collapsed, duplicates dropped, order kept."""
    seen: list[str] = []
    for raw in tags:
        if not isinstance(raw, str):
            raise ValidationError("Tags must be text.", code="validation.tags", field="tags")
        tag = _TAG_SPACE.sub(" ", raw.strip().lower().lstrip("#"))
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise ValidationError(f"Tags are at most {TAG_MAX} characters.",
                                  code="validation.tags", field="tags")
        if tag not in seen:
            seen.append(tag)
    if len(seen) > TAGS_MAX:
        raise ValidationError(f"At most {TAGS_MAX} tags.", code="validation.tags", field="tags")
    return seen


def find_prerequisite_cycle(
    item_id: UUID,
    prerequisites: Iterable[UUID],
    prerequisites_of: Callable[[UUID], Iterable[UUID]] | Mapping[UUID, Iterable[UUID]],
) -> list[UUID] | None:
    """The cycle that giving ``item_id`` these prerequisites would create, or None.

    ``prerequisites_of`` answers the current prerequisites of any other item.
    """
    lookup = prerequisites_of.get if isinstance(prerequisites_of, Mapping) else prerequisites_of

    def edges(node: UUID) -> Iterable[UUID]:
        if node == item_id:
            return prerequisites
        return lookup(node) or ()

    # Depth-first search from the item through prerequisite edges back to itself.
    stack: list[tuple[UUID, list[UUID]]] = [(item_id, [item_id])]
    visited: set[UUID] = set()
    while stack:
        node, path = stack.pop()
        for nxt in edges(node):
            if nxt == item_id:
                return [*path, nxt]
            if nxt not in visited:
                visited.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
