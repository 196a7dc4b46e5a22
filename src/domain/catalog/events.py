from __future__ import annotations

from uuid import UUID

import attrs

from domain.events import DomainEvent


@attrs.frozen
class ContentPublished(DomainEvent):
    content_id: UUID
    creator_id: UUID


@attrs.frozen
class ContentUnpublished(DomainEvent):
    content_id: UUID


@attrs.frozen
class SeriesPublished(DomainEvent):
    series_id: UUID
