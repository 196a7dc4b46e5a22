"""Reading and changing the single platform settings row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from application.messagebus import Query
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import ValidationError
from domain.identity.permissions import Permission
from domain.platform.settings import CUSTOM_CSS_MAX, PlatformSettings, parse_featured_ids


@attrs.frozen
class GetSettings(Query):
    pass


def get_settings(cmd: GetSettings, uow: UnitOfWork, services: Services) -> PlatformSettings:
    return uow.settings.get()


@attrs.frozen
class UpdateSettings:
    actor: Principal
    changes: Mapping[str, Any]


def update_settings(cmd: UpdateSettings, uow: UnitOfWork, services: Services) -> PlatformSettings:
    cmd.actor.require(Permission.SETTINGS_MANAGE)
    if "featured_content_ids" in cmd.changes and cmd.changes["featured_content_ids"] is not None:
        wanted = parse_featured_ids(cmd.changes["featured_content_ids"])
        missing = set(wanted) - uow.content.published_ids(wanted)
        if missing:
            raise ValidationError(
                "Featured items must be published content.",
                code="settings.featured_not_published", field="featured_content_ids",
                details={"ids": sorted(str(m) for m in missing)},
            )
    changes = dict(cmd.changes)
    css = changes.get("custom_css")
    if isinstance(css, str) and len(css) <= CUSTOM_CSS_MAX:
        # Kept only as sanitised: what is served is what was checked.
        changes["custom_css"] = services.css.clean(css)
    settings = uow.settings.get()
    language = settings.search_language
    settings.apply(changes, services.clock.now())
    if settings.search_language != language:
        # Searches are matched in the new language from this commit on, so the index
        # changes in the same transaction.
        uow.catalog.reindex_search(settings.search_language)
    uow.commit()
    return settings
