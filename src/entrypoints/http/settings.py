"""/api/v1/settings: the platform's branding and homepage."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.params import JSONBody

from application.platform.settings import GetSettings, UpdateSettings
from domain.identity.api_keys import Scope
from domain.platform.settings import PlatformSettings
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App, takes_key
from entrypoints.http.openapi import OWNER, PUBLIC
from entrypoints.http.schemas.common import set_fields
from entrypoints.http.schemas.settings import SettingsOut, SettingsPatch


def settings_out(s: PlatformSettings) -> SettingsOut:
    return SettingsOut(
        platform_name=s.platform_name,
        logo_url=s.logo_url,
        primary_color=s.primary_color,
        hero_title=s.hero_title,
        hero_subtitle=s.hero_subtitle,
        hero_background_url=s.hero_background_url,
        hero_cta_text=s.hero_cta_text,
        hero_cta_link=s.hero_cta_link,
        featured_content_ids=list(s.featured_content_ids),
        contact_email=s.contact_email,
        social_links=dict(s.social_links),
        about_content=s.about_content,
        email_from_name=s.email_from_name,
        timezone=s.timezone,
        membership_grace_days=s.membership_grace_days,
        search_language=s.search_language,
        platform_fee_percent=s.platform_fee_percent,
        custom_domain=s.custom_domain,
        custom_css=s.custom_css,
        hide_platform_branding=s.hide_platform_branding,
        updated_at=s.updated_at,
    )


class SettingsController(Controller):
    path = "/api/v1/settings"
    tags = ["settings"]

    @get("/", sync_to_thread=True, responses=PUBLIC)
    def show(self, patronage: App) -> SettingsOut:
        """Public platform settings: branding, homepage, contact."""
        return settings_out(patronage.handle(GetSettings()))

    @patch("/", sync_to_thread=True, security=SECURED, responses=OWNER,
           opt=takes_key(Scope.SETTINGS_WRITE))
    def update(self, data: JSONBody[SettingsPatch], actor: Actor, patronage: App) -> SettingsOut:
        """Change settings (platform owners only). All changes apply, or none.

        Colours are #rrggbb, URLs absolute http(s), timezone an IANA name, featured
        ids must be published content; `membership_grace_days` (0-60) is how long a
        member whose renewal failed keeps access; a new `search_language` re-indexes
        the catalog in the same request (on PostgreSQL); `platform_fee_percent` is the
        platform's share of media owners' sales started from then on; `custom_css` is
        kept as sanitised (what is dropped is gone, the rest applies).
        """
        return settings_out(patronage.handle(UpdateSettings(actor=actor, changes=set_fields(data))))
