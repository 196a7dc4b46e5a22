"""Bodies of the platform-settings routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from entrypoints.http.schemas.common import EmailText, Strict, UrlText


class SettingsPatch(Strict):
    platform_name: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    logo_url: UrlText | UnsetType | None = UNSET
    primary_color: Annotated[str, Meta(max_length=7)] | UnsetType = UNSET
    hero_title: Annotated[str, Meta(max_length=500)] | UnsetType | None = UNSET
    hero_subtitle: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    hero_background_url: UrlText | UnsetType | None = UNSET
    hero_cta_text: Annotated[str, Meta(max_length=100)] | UnsetType | None = UNSET
    hero_cta_link: UrlText | UnsetType | None = UNSET
    featured_content_ids: Annotated[list[UUID], Meta(max_length=50)] | UnsetType = UNSET
    contact_email: EmailText | UnsetType | None = UNSET
    social_links: dict[Annotated[str, Meta(max_length=50)], UrlText] | UnsetType = UNSET
    about_content: Annotated[str, Meta(max_length=200000)] | UnsetType | None = UNSET
    email_from_name: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    timezone: Annotated[str, Meta(max_length=50)] | UnsetType = UNSET
    membership_grace_days: Annotated[int, Meta(ge=0, le=60)] | UnsetType = UNSET
    search_language: Annotated[str, Meta(max_length=32, description=(
        "Language of catalog search (PostgreSQL text-search configuration, e.g. "
        "english, french, simple)"))] | UnsetType = UNSET
    platform_fee_percent: Annotated[str, Meta(
        pattern=r"^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$", description=(
            "The platform's share of a media owner's sale, in percent as a string "
            "(\"0\" to \"100\", two decimals at most, e.g. \"30\" or \"12.5\"); applies "
            "to sales started from then on"))] | UnsetType = UNSET
    custom_domain: Annotated[str, Meta(max_length=253, description=(
        "The creator's own host name, e.g. studio.example.com"))] | UnsetType | None = UNSET
    custom_css: Annotated[str, Meta(max_length=100_000, description=(
        "Styles for the front end; kept as sanitised (no @import, no url() to other "
        "origins, no expression(), no way out of <style>)"))] | UnsetType | None = UNSET
    hide_platform_branding: bool | UnsetType = UNSET


class SettingsOut(msgspec.Struct):
    platform_name: str
    logo_url: str | None
    primary_color: str
    hero_title: str | None
    hero_subtitle: str | None
    hero_background_url: str | None
    hero_cta_text: str | None
    hero_cta_link: str | None
    featured_content_ids: list[UUID]
    contact_email: str | None
    social_links: dict[str, str]
    about_content: str | None
    email_from_name: str | None
    timezone: str
    membership_grace_days: int
    search_language: str
    platform_fee_percent: Annotated[Decimal, Meta(description=(
        "The platform's share of a media owner's sale, in percent"))]
    custom_domain: str | None
    custom_css: Annotated[str | None, Meta(description="As sanitised")]
    hide_platform_branding: bool
    updated_at: datetime
