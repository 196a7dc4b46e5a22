"""An offering's portal: the resources a booking opens, and when each unlocks.

A confirmed booking opens the portal ``access_before_days`` before its session and
keeps it open until ``access_after_days`` after (``portal_config``). Within it, each
resource unlocks by ``available_when`` (``before`` and ``always``: as the portal
opens; ``during``: when the session starts; ``after``: when it ends) and no earlier
than its own ``unlock_at`` (a drip).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from domain.errors import ValidationError
from domain.offerings.policy import PortalConfig
from domain.values import Url

TITLE_MAX = 500
TEXT_MAX = 100_000


class ResourceType(enum.StrEnum):
    CONTENT = "content"
    FILE = "file"
    LINK = "link"
    TEXT = "text"


class AvailableWhen(enum.StrEnum):
    BEFORE = "before"
    DURING = "during"
    AFTER = "after"
    ALWAYS = "always"


@attrs.frozen
class PortalWindow:
    opens_at: datetime
    closes_at: datetime

    def open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


def portal_window(config: PortalConfig, starts_at: datetime, ends_at: datetime,
                  booked_at: datetime) -> PortalWindow:
    return PortalWindow(
        opens_at=max(booked_at, starts_at - timedelta(days=config.access_before_days)),
        closes_at=ends_at + timedelta(days=config.access_after_days))


@attrs.define
class Resource:
    id: UUID
    offering_id: UUID
    resource_type: ResourceType
    title: str
    created_at: datetime
    updated_at: datetime
    content_id: UUID | None = None
    file_key: str | None = None
    link_url: str | None = None
    text_content: str | None = None
    description: str | None = None
    available_when: AvailableWhen = AvailableWhen.DURING
    unlock_at: datetime | None = None
    display_order: int = 0

    def unlocks_at(self, window: PortalWindow, starts_at: datetime, ends_at: datetime
                   ) -> datetime:
        base = {AvailableWhen.DURING: starts_at, AvailableWhen.AFTER: ends_at}.get(
            self.available_when, window.opens_at)
        base = max(base, window.opens_at)
        return max(base, self.unlock_at) if self.unlock_at else base

    @classmethod
    def create(cls, *, id: UUID, offering_id: UUID, now: datetime,
               fields: Mapping[str, Any]) -> Resource:
        try:
            kind = ResourceType(str(fields.get("resource_type")))
        except ValueError:
            raise ValidationError("resource_type is content, file, link or text.",
                                  code="resource.type", field="resource_type") from None
        resource = cls(id=id, offering_id=offering_id, resource_type=kind, title="",
                       created_at=now, updated_at=now)
        resource.edit(fields, now)
        return resource

    def edit(self, changes: Mapping[str, Any], now: datetime) -> None:
        allowed = {"resource_type", "title", "description", "content_id", "file_key",
                   "link_url", "text_content", "available_when", "unlock_at", "display_order"}
        unknown = set(changes) - allowed
        if unknown:
            name = sorted(unknown)[0]
            raise ValidationError(f"Unknown resource field {name!r}.", code="resource.unknown",
                                  field=name)
        merged = {name: getattr(self, name) for name in allowed} | dict(changes)
        title = merged["title"]
        if not isinstance(title, str) or not title.strip() or len(title) > TITLE_MAX:
            raise ValidationError(f"title is 1 to {TITLE_MAX} characters.",
                                  code="resource.title", field="title")
        try:
            when = AvailableWhen(merged["available_when"])
        except ValueError:
            raise ValidationError("available_when is before, during, after or always.",
                                  code="resource.available_when",
                                  field="available_when") from None
        unlock = merged["unlock_at"]
        if unlock is not None and (not isinstance(unlock, datetime) or unlock.tzinfo is None):
            raise ValidationError("unlock_at is a time with a zone.", code="resource.unlock",
                                  field="unlock_at")
        order = merged["display_order"]
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 10_000:
            raise ValidationError("display_order is 0 to 10000.", code="resource.order",
                                  field="display_order")
        kind = ResourceType(merged["resource_type"]) if merged["resource_type"] else \
            self.resource_type
        reference = {ResourceType.CONTENT: "content_id", ResourceType.FILE: "file_key",
                     ResourceType.LINK: "link_url", ResourceType.TEXT: "text_content"}[kind]
        value = merged[reference]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError(f"A {kind.value} resource needs {reference}.",
                                  code="resource.reference", field=reference)
        if kind is ResourceType.LINK:
            value = Url(value).value
        if kind is ResourceType.TEXT and (not isinstance(value, str) or len(value) > TEXT_MAX):
            raise ValidationError(f"text_content is at most {TEXT_MAX} characters.",
                                  code="resource.text", field="text_content")
        description = merged["description"]
        if description is not None and (not isinstance(description, str)
                                        or len(description) > 5000):
            raise ValidationError("description is at most 5000 characters.",
                                  code="resource.description", field="description")
        self.resource_type, self.title, self.description = kind, title.strip(), description
        self.available_when, self.unlock_at, self.display_order = when, unlock, order
        self.content_id = value if kind is ResourceType.CONTENT else None
        self.file_key = value if kind is ResourceType.FILE else None
        self.link_url = value if kind is ResourceType.LINK else None
        self.text_content = value if kind is ResourceType.TEXT else None
        self.updated_at = now
