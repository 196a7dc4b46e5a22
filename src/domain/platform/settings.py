"""PlatformSettings: the single row of branding and homepage configuration."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import attrs

from domain.errors import ValidationError
from domain.events import Aggregate
from domain.values import Email, HexColour, TimeZoneName, Url

SOCIAL_NETWORKS_MAX = 20
FEATURED_MAX = 50

# name -> maximum length, for plain text fields
_TEXT_FIELDS: dict[str, int] = {
    "platform_name": 255,
    "hero_title": 500,
    "hero_subtitle": 5000,
    "hero_cta_text": 100,
    "about_content": 200_000,
    "email_from_name": 255,
}
# Sent in every email's From header, where a line break would end the header (every
# email would then fail): one line only.
_ONE_LINE = frozenset({"platform_name", "email_from_name"})
_URL_FIELDS = ("logo_url", "hero_background_url", "hero_cta_link")
_NULLABLE = frozenset(
    {
        "logo_url", "hero_title", "hero_subtitle", "hero_background_url", "hero_cta_text",
        "hero_cta_link", "contact_email", "about_content", "email_from_name", "custom_css",
        "custom_domain",
    }
)
CUSTOM_CSS_MAX = 100_000
# A host name as DNS has it: labels of letters, digits and inner hyphens, a dot between.
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                   r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
GRACE_DAYS_MAX = 60
# PostgreSQL's built-in text-search configurations: stemming and stop words of one
# language, or "simple" (words as written). SQLite's index ignores it.
SEARCH_LANGUAGES = (
    "simple", "arabic", "armenian", "basque", "catalan", "danish", "dutch", "english",
    "finnish", "french", "german", "greek", "hindi", "hungarian", "indonesian", "irish",
    "italian", "lithuanian", "nepali", "norwegian", "portuguese", "romanian", "russian",
    "serbian", "spanish", "swedish", "tamil", "turkish", "yiddish",
)
EDITABLE_FIELDS = frozenset(
    {*_TEXT_FIELDS, *_URL_FIELDS, "primary_color", "contact_email", "timezone",
     "featured_content_ids", "social_links", "membership_grace_days", "search_language",
     "platform_fee_percent", "custom_css", "custom_domain", "hide_platform_branding"}
)


@attrs.define
class PlatformSettings(Aggregate):
    id: UUID
    created_at: datetime
    updated_at: datetime
    platform_name: str = "My Platform"
    logo_url: str | None = None
    primary_color: str = "#3b82f6"
    hero_title: str | None = None
    hero_subtitle: str | None = None
    hero_background_url: str | None = None
    hero_cta_text: str | None = None
    hero_cta_link: str | None = None
    featured_content_ids: list[UUID] = attrs.field(factory=list)
    contact_email: str | None = None
    social_links: dict[str, str] = attrs.field(factory=dict)
    about_content: str | None = None
    stripe_account_id: str | None = None
    email_from_name: str | None = None
    timezone: str = "UTC"
    # How long a member whose renewal failed (past_due) keeps access.
    membership_grace_days: int = 7
    # The language catalog search stems and drops stop words in.
    search_language: str = "english"
    # The platform's share of a media owner's sale (the Stripe application fee).
    platform_fee_percent: Decimal = Decimal("30")
    # White-label (phase 4): the creator's own domain and styles, without our branding.
    custom_domain: str | None = None
    custom_css: str | None = None  # stored as sanitised, never as given
    hide_platform_branding: bool = False

    @classmethod
    def defaults(cls, id: UUID, now: datetime) -> PlatformSettings:
        return cls(id=id, created_at=now, updated_at=now)

    def apply(self, changes: Mapping[str, Any], now: datetime) -> None:
        """Validate every change first, then apply them all: never half an update.

        ``featured_content_ids`` must already have been checked against the catalog
        by the caller (it needs a repository); here only its shape is checked.
        """
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            raise ValidationError(f"Unknown or read-only setting {name!r}.",
                                  code="settings.unknown_field", field=name)
        cleaned = {name: _clean(name, value) for name, value in changes.items()}
        for name, value in cleaned.items():
            setattr(self, name, value)
        self.updated_at = now


def _clean(name: str, value: Any) -> Any:
    if value is None:
        if name in _NULLABLE:
            return None
        raise ValidationError(f"{name} cannot be empty.", code="validation.required", field=name)
    try:
        if name in _TEXT_FIELDS:
            if not isinstance(value, str):
                raise ValidationError(f"{name} must be text.")
            if len(value) > _TEXT_FIELDS[name]:
                raise ValidationError(f"{name} is longer than {_TEXT_FIELDS[name]} characters.",
                                      code="validation.too_long")
            if name == "platform_name" and not value.strip():
                raise ValidationError("platform_name cannot be empty.", code="validation.required")
            if name in _ONE_LINE and ("\r" in value or "\n" in value):
                raise ValidationError(f"{name} must be one line: emails carry it in a header.",
                                      code="validation.one_line")
            return value
        if name in _URL_FIELDS:
            return Url(value).value
        if name == "primary_color":
            return HexColour(value).value
        if name == "contact_email":
            return Email(value).value
        if name == "timezone":
            return TimeZoneName(value).value
        if name == "social_links":
            return _social_links(value)
        if name == "featured_content_ids":
            return parse_featured_ids(value)
        if name == "search_language":
            if value not in SEARCH_LANGUAGES:
                raise ValidationError(
                    f"search_language is one of {', '.join(SEARCH_LANGUAGES)}.",
                    code="settings.search_language")
            return value
        if name == "platform_fee_percent":
            return _percent(value)
        if name == "custom_domain":
            return _domain(value)
        if name == "custom_css":
            if not isinstance(value, str) or len(value) > CUSTOM_CSS_MAX:
                raise ValidationError(f"custom_css is text of at most {CUSTOM_CSS_MAX} "
                                      "characters.", code="settings.custom_css")
            return value or None
        if name == "hide_platform_branding":
            if not isinstance(value, bool):
                raise ValidationError("hide_platform_branding is true or false.")
            return value
        if name == "membership_grace_days":
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    0 <= value <= GRACE_DAYS_MAX):
                raise ValidationError(
                    f"membership_grace_days is a whole number from 0 to {GRACE_DAYS_MAX}.")
            return value
    except ValidationError as exc:
        exc.field = name
        raise
    raise ValidationError(f"Unknown setting {name!r}.", code="settings.unknown_field", field=name)


def _social_links(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) > SOCIAL_NETWORKS_MAX:
        raise ValidationError("social_links must be an object of network name to URL.")
    links: dict[str, str] = {}
    for network, url in value.items():
        if not isinstance(network, str) or not (1 <= len(network) <= 50):
            raise ValidationError("Social network names must be 1 to 50 characters.")
        links[network] = Url(url).value
    return links


def parse_featured_ids(value: Any) -> list[UUID]:
    if not isinstance(value, list | tuple) or len(value) > FEATURED_MAX:
        raise ValidationError(f"featured_content_ids must be a list of at most {FEATURED_MAX}.")
    ids: list[UUID] = []
    for item in value:
        try:
            uid = item if isinstance(item, UUID) else UUID(str(item))
        except ValueError as exc:
            raise ValidationError("featured_content_ids must hold content ids.") from exc
        if uid not in ids:
            ids.append(uid)
    return ids


def _percent(value: Any) -> Decimal:
    try:
        percent = Decimal(str(value)) if isinstance(value, int | str | Decimal) \
            and not isinstance(value, bool) else None
    except InvalidOperation:
        percent = None
    if percent is None or not percent.is_finite() or not 0 <= percent <= 100 \
            or percent != percent.quantize(Decimal("0.01")):
        raise ValidationError("platform_fee_percent is a number from 0 to 100, with at most "
                              "two decimals.", code="settings.platform_fee_percent")
    return percent.quantize(Decimal("0.01"))


def _domain(value: Any) -> str:
    host = value.strip().lower().rstrip(".") if isinstance(value, str) else ""
    if not _HOST.match(host):
        raise ValidationError("custom_domain is a host name such as studio.example.com "
                              "(no scheme, port or path).", code="settings.custom_domain")
    return host
