from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import platform_settings
from domain.platform.settings import PlatformSettings

_FIELDS = (
    "platform_name", "logo_url", "primary_color", "hero_title", "hero_subtitle",
    "hero_background_url", "hero_cta_text", "hero_cta_link", "contact_email", "about_content",
    "stripe_account_id", "email_from_name", "timezone", "created_at", "updated_at",
    "membership_grace_days", "search_language", "platform_fee_percent", "custom_domain",
    "custom_css", "hide_platform_branding",
)


def to_row(settings: PlatformSettings) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(settings, name) for name in _FIELDS}
    row["featured_content_ids"] = [str(i) for i in settings.featured_content_ids]
    row["social_links"] = dict(settings.social_links)
    return row


def from_row(row: Mapping[str, Any]) -> PlatformSettings:
    return PlatformSettings(
        id=row["id"],
        featured_content_ids=[UUID(i) for i in row["featured_content_ids"] or []],
        social_links=dict(row["social_links"] or {}),
        **{name: row[name] for name in _FIELDS},
    )


# Read by every sale (the platform's fee) and most pages: built once (decision 9).
_ALL = sa.select(platform_settings)


class SqlSettingsRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[PlatformSettings] = Tracker(execute, platform_settings, to_row)

    def get(self) -> PlatformSettings:
        for known in self.tracker.aggregates():
            return known
        (row,) = self._execute.rows(_ALL, {})
        settings = from_row(row)
        return self.tracker.track(settings.id, settings)

    def answers(self) -> bool:
        return self._execute(sa.select(platform_settings.c.id).limit(1)).first() is not None
