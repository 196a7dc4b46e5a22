"""PlatformSettings.apply: per-field validation, read-only fields and all-or-nothing updates."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.platform.settings import (
    EDITABLE_FIELDS,
    FEATURED_MAX,
    SOCIAL_NETWORKS_MAX,
    PlatformSettings,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
SETTINGS_ID = UUID("0190c0de-0000-7000-8000-0000000000aa")
ID_A = UUID("0190c0de-0000-7000-8000-00000000000a")
ID_B = UUID("0190c0de-0000-7000-8000-00000000000b")

TEXT_CAPS = {
    "platform_name": 255,
    "hero_title": 500,
    "hero_subtitle": 5000,
    "hero_cta_text": 100,
    "about_content": 200_000,
    "email_from_name": 255,
}
URL_FIELDS = ["logo_url", "hero_background_url", "hero_cta_link"]
NULLABLE = [
    "logo_url", "hero_title", "hero_subtitle", "hero_background_url", "hero_cta_text",
    "hero_cta_link", "contact_email", "about_content", "email_from_name",
]


def settings() -> PlatformSettings:
    return PlatformSettings.defaults(SETTINGS_ID, T0)


def apply_error(target: PlatformSettings, changes: dict[str, Any]) -> ValidationError:
    """Apply changes that must be refused; check the object was left exactly as it was."""
    before = copy.deepcopy(target)
    with pytest.raises(ValidationError) as exc_info:
        target.apply(changes, LATER)
    assert target == before
    assert target.updated_at == before.updated_at
    return exc_info.value


def test_defaults() -> None:
    s = settings()
    assert s.platform_name == "My Platform"
    assert s.primary_color == "#3b82f6"
    assert s.timezone == "UTC"
    assert s.featured_content_ids == []
    assert s.social_links == {}
    assert s.created_at == s.updated_at == T0


def test_editable_fields_are_exactly_the_documented_ones() -> None:
    documented = {
        *TEXT_CAPS, *URL_FIELDS, "primary_color", "contact_email", "timezone",
        "featured_content_ids", "social_links", "membership_grace_days", "search_language",
        "platform_fee_percent", "custom_css", "custom_domain", "hide_platform_branding",
    }
    assert documented == EDITABLE_FIELDS


@pytest.mark.parametrize(("given", "kept"), [
    ("25", Decimal("25.00")), (0, Decimal("0.00")), ("100", Decimal("100.00")),
    ("12.5", Decimal("12.50")), (Decimal("30.25"), Decimal("30.25"))])
def test_the_platform_fee_is_a_percentage_with_cents(given: object, kept: Decimal) -> None:
    s = settings()
    s.apply({"platform_fee_percent": given}, T0)
    assert s.platform_fee_percent == kept


@pytest.mark.parametrize("given", ["-1", "100.01", "12.345", "NaN", "Infinity", "thirty",
                                   "", None, True, 30.5, [30]])
def test_a_platform_fee_outside_zero_to_a_hundred_is_refused(given: object) -> None:
    s = settings()
    with pytest.raises(ValidationError) as raised:
        s.apply({"platform_fee_percent": given}, T0)
    assert raised.value.field == "platform_fee_percent"
    assert s.platform_fee_percent == Decimal("30")


@pytest.mark.parametrize("language", ["English", "klingon", "", None, 7])
def test_the_search_language_is_one_postgresql_knows(language: object) -> None:
    s = settings()
    with pytest.raises(ValidationError) as raised:
        s.apply({"search_language": language}, T0)
    assert raised.value.field == "search_language"
    assert s.search_language == "english"
    s.apply({"search_language": "french"}, T0)
    assert s.search_language == "french"


@pytest.mark.parametrize("days", [-1, 61, 1.5, True, "7"])
def test_grace_days_are_whole_days_up_to_sixty(days: object) -> None:
    s = settings()
    with pytest.raises(ValidationError) as raised:
        s.apply({"membership_grace_days": days}, T0)
    assert raised.value.field == "membership_grace_days"
    s.apply({"membership_grace_days": 0}, T0)
    assert s.membership_grace_days == 0


# -- text fields -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "cap"), sorted(TEXT_CAPS.items()))
def test_text_length_caps(name: str, cap: int) -> None:
    s = settings()
    s.apply({name: "x" * cap}, LATER)
    assert getattr(s, name) == "x" * cap
    assert s.updated_at == LATER

    error = apply_error(s, {name: "y" * (cap + 1)})
    assert error.code == "validation.too_long"
    assert error.field == name
    assert getattr(s, name) == "x" * cap


@pytest.mark.parametrize("name", sorted(TEXT_CAPS))
@pytest.mark.parametrize("value", [42, ["text"], {"a": "b"}, True])
def test_text_fields_must_be_strings(name: str, value: object) -> None:
    error = apply_error(settings(), {name: value})
    assert error.field == name


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_platform_name_cannot_be_blank(value: str) -> None:
    error = apply_error(settings(), {"platform_name": value})
    assert error.code == "validation.required"
    assert error.field == "platform_name"


@pytest.mark.parametrize("name", ["platform_name", "email_from_name"])
@pytest.mark.parametrize("value", ["Ana\nStudio", "Ana\r\nBcc: eve@example.com", "Ana\r"])
def test_names_emails_are_sent_from_are_one_line(name: str, value: str) -> None:
    s = settings()
    before = getattr(s, name)
    error = apply_error(s, {name: value})
    assert error.code == "validation.one_line"
    assert error.field == name
    assert getattr(s, name) == before


def test_nullable_text_may_be_empty_string() -> None:
    s = settings()
    s.apply({"hero_title": ""}, LATER)
    assert s.hero_title == ""


# -- URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", URL_FIELDS)
def test_url_fields_accept_http_urls(name: str) -> None:
    s = settings()
    s.apply({name: "https://cdn.example.com/logo.png"}, LATER)
    assert getattr(s, name) == "https://cdn.example.com/logo.png"


@pytest.mark.parametrize("name", URL_FIELDS)
@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "ftp://example.com/x", "/relative", "not a url", 7,
              "https://example.com/" + "a" * 2048],
)
def test_url_fields_reject_bad_urls(name: str, value: object) -> None:
    error = apply_error(settings(), {name: value})
    assert error.code == "validation.url"
    assert error.field == name


# -- colour, email, timezone --------------------------------------------------------------


def test_primary_color_is_lower_cased() -> None:
    s = settings()
    s.apply({"primary_color": "#ABCDEF"}, LATER)
    assert s.primary_color == "#abcdef"


@pytest.mark.parametrize("value", ["red", "#abc", "abcdef", "#abcdeg", 0xABCDEF])
def test_primary_color_rejects_bad_values(value: object) -> None:
    error = apply_error(settings(), {"primary_color": value})
    assert error.code == "validation.colour"
    assert error.field == "primary_color"


def test_contact_email_is_normalised() -> None:
    s = settings()
    s.apply({"contact_email": "  Owner@Example.COM "}, LATER)
    assert s.contact_email == "owner@example.com"
    s.apply({"contact_email": "hello@Bücher.de"}, LATER)
    assert s.contact_email == "hello@xn--bcher-kva.de"


@pytest.mark.parametrize("value", ["not-an-email", "owner@localhost", "a b@example.com", 5])
def test_contact_email_rejects_bad_values(value: object) -> None:
    error = apply_error(settings(), {"contact_email": value})
    assert error.code == "validation.email"
    assert error.field == "contact_email"


def test_timezone_accepts_iana_name() -> None:
    s = settings()
    s.apply({"timezone": "Europe/Paris"}, LATER)
    assert s.timezone == "Europe/Paris"


@pytest.mark.parametrize("value", ["Mars/Olympus", "", "paris", 3])
def test_timezone_rejects_unknown(value: object) -> None:
    error = apply_error(settings(), {"timezone": value})
    assert error.code == "validation.timezone"
    assert error.field == "timezone"


# -- social links -------------------------------------------------------------------------


def test_social_links_map_names_to_urls() -> None:
    s = settings()
    links = {"mastodon": "https://mastodon.social/@me", "x" * 50: "http://example.com"}
    s.apply({"social_links": links}, LATER)
    assert s.social_links == links


def test_social_links_at_the_limit() -> None:
    s = settings()
    links = {f"net{i}": f"https://example.com/{i}" for i in range(SOCIAL_NETWORKS_MAX)}
    s.apply({"social_links": links}, LATER)
    assert s.social_links == links


def test_social_links_can_be_emptied() -> None:
    s = settings()
    s.apply({"social_links": {"a": "https://example.com"}}, LATER)
    s.apply({"social_links": {}}, LATER)
    assert s.social_links == {}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"mastodon": "javascript:alert(1)"}, id="bad-url"),
        pytest.param({"mastodon": None}, id="null-url"),
        pytest.param({"": "https://example.com"}, id="empty-name"),
        pytest.param({"x" * 51: "https://example.com"}, id="name-too-long"),
        pytest.param({1: "https://example.com"}, id="non-string-name"),
        pytest.param({f"n{i}": "https://example.com" for i in range(SOCIAL_NETWORKS_MAX + 1)},
                     id="too-many"),
        pytest.param(["https://example.com"], id="list"),
        pytest.param("https://example.com", id="string"),
    ],
)
def test_social_links_rejections(value: object) -> None:
    error = apply_error(settings(), {"social_links": value})
    assert error.field == "social_links"


def test_social_links_bad_url_code() -> None:
    error = apply_error(settings(), {"social_links": {"site": "ftp://example.com"}})
    assert error.code == "validation.url"


# -- featured content ids -------------------------------------------------------------------


def test_featured_ids_are_parsed_and_deduplicated_in_order() -> None:
    s = settings()
    s.apply(
        {"featured_content_ids": [str(ID_B), ID_A, str(ID_B).upper(), ID_B, str(ID_A)]}, LATER
    )
    assert s.featured_content_ids == [ID_B, ID_A]
    assert all(isinstance(i, UUID) for i in s.featured_content_ids)


def test_featured_ids_accept_tuple_and_limit() -> None:
    s = settings()
    ids = tuple(UUID(int=i) for i in range(1, FEATURED_MAX + 1))
    s.apply({"featured_content_ids": ids}, LATER)
    assert s.featured_content_ids == list(ids)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(["not-a-uuid"], id="bad-item"),
        pytest.param([str(ID_A), 12], id="int-item"),
        pytest.param([None], id="none-item"),
        pytest.param(str(ID_A), id="string-not-list"),
        pytest.param({"id": str(ID_A)}, id="mapping"),
        pytest.param([UUID(int=i) for i in range(1, FEATURED_MAX + 2)], id="too-many"),
    ],
)
def test_featured_ids_rejections(value: object) -> None:
    error = apply_error(settings(), {"featured_content_ids": value})
    assert error.field == "featured_content_ids"


# -- unknown / read-only / null ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["stripe_account_id", "id", "created_at", "updated_at", "events", "nonsense"]
)
def test_unknown_or_read_only_fields_refused(name: str) -> None:
    error = apply_error(settings(), {name: "x"})
    assert error.code == "settings.unknown_field"
    assert error.field == name


def test_read_only_field_refused_alongside_valid_changes() -> None:
    s = settings()
    error = apply_error(
        s, {"platform_name": "Renamed", "stripe_account_id": "acct_123", "timezone": "Europe/Paris"}
    )
    assert error.code == "settings.unknown_field"
    assert error.field == "stripe_account_id"
    assert s.platform_name == "My Platform"
    assert s.stripe_account_id is None


@pytest.mark.parametrize(
    "name", ["platform_name", "primary_color", "timezone", "social_links",
             "featured_content_ids"],
)
def test_null_refused_for_non_nullable_fields(name: str) -> None:
    error = apply_error(settings(), {name: None})
    assert error.code == "validation.required"
    assert error.field == name


@pytest.mark.parametrize("name", NULLABLE)
def test_null_clears_nullable_fields(name: str) -> None:
    s = settings()
    s.apply({name: None}, LATER)
    assert getattr(s, name) is None
    assert s.updated_at == LATER


# -- all-or-nothing ----------------------------------------------------------------------------


VALID_CHANGES: dict[str, Any] = {
    "platform_name": "Patronage",
    "hero_title": "Welcome",
    "hero_subtitle": "Sub",
    "hero_cta_text": "Join",
    "about_content": "About us",
    "email_from_name": "The Team",
    "logo_url": "https://example.com/logo.png",
    "hero_background_url": "https://example.com/bg.png",
    "hero_cta_link": "https://example.com/join",
    "primary_color": "#112233",
    "contact_email": "Hello@Example.com",
    "timezone": "Europe/Paris",
    "social_links": {"mastodon": "https://mastodon.social/@me"},
    "featured_content_ids": [str(ID_A)],
}

INVALID_CHANGES: list[tuple[str, Any]] = [
    ("platform_name", None),
    ("platform_name", "x" * 256),
    ("hero_title", "x" * 501),
    ("hero_cta_text", 5),
    ("logo_url", "javascript:alert(1)"),
    ("hero_cta_link", "//example.com"),
    ("primary_color", "blue"),
    ("contact_email", "nope"),
    ("timezone", "Mars/Olympus"),
    ("timezone", None),
    ("social_links", {"site": "not a url"}),
    ("featured_content_ids", ["zzz"]),
    ("stripe_account_id", "acct_1"),
    ("id", str(ID_A)),
]


def test_all_valid_changes_apply_together() -> None:
    s = settings()
    s.apply(VALID_CHANGES, LATER)
    assert s.platform_name == "Patronage"
    assert s.contact_email == "hello@example.com"
    assert s.primary_color == "#112233"
    assert s.timezone == "Europe/Paris"
    assert s.featured_content_ids == [ID_A]
    assert s.social_links == {"mastodon": "https://mastodon.social/@me"}
    assert s.updated_at == LATER


@pytest.mark.parametrize(("bad_name", "bad_value"), INVALID_CHANGES)
@pytest.mark.parametrize("bad_first", [True, False], ids=["bad-first", "bad-last"])
def test_one_invalid_change_applies_nothing(bad_name: str, bad_value: Any, bad_first: bool) -> None:
    others = {k: v for k, v in VALID_CHANGES.items() if k != bad_name}
    changes = {bad_name: bad_value, **others} if bad_first else {**others, bad_name: bad_value}
    s = settings()
    error = apply_error(s, changes)
    assert error.field == bad_name


@given(
    valid=st.dictionaries(st.sampled_from(sorted(VALID_CHANGES)), st.just(None), max_size=14),
    bad=st.sampled_from(INVALID_CHANGES),
    position=st.integers(min_value=0, max_value=14),
)
def test_apply_is_all_or_nothing(
    valid: dict[str, None], bad: tuple[str, Any], position: int
) -> None:
    bad_name, bad_value = bad
    items = [(k, VALID_CHANGES[k]) for k in valid if k != bad_name]
    items.insert(min(position, len(items)), (bad_name, bad_value))
    s = settings()
    s.apply({"hero_title": "Before", "social_links": {"a": "https://a.example"}}, T0)
    before = copy.deepcopy(s)
    with pytest.raises(ValidationError) as exc_info:
        s.apply(dict(items), LATER)
    assert exc_info.value.field == bad_name
    assert s == before
    assert s.updated_at == T0


@pytest.mark.parametrize(("given", "kept"), [
    ("studio.example.com", "studio.example.com"), ("Studio.Example.COM.", "studio.example.com"),
    ("a.b.c.example.org", "a.b.c.example.org"), ("xn--bcher-kva.example", "xn--bcher-kva.example")])
def test_a_custom_domain_is_a_host_name(given: str, kept: str) -> None:
    s = settings()
    s.apply({"custom_domain": given}, T0)
    assert s.custom_domain == kept


@pytest.mark.parametrize("given", ["https://studio.example.com", "studio.example.com:8443",
                                   "studio.example.com/path", "localhost", "-bad.example.com",
                                   "exa mple.com", "", 7, "a" * 300 + ".com"])
def test_anything_else_is_not_a_custom_domain(given: object) -> None:
    s = settings()
    with pytest.raises(ValidationError) as raised:
        s.apply({"custom_domain": given}, T0)
    assert raised.value.field == "custom_domain"
    assert s.custom_domain is None


def test_branding_and_css_settings_take_their_types() -> None:
    s = settings()
    s.apply({"hide_platform_branding": True, "custom_css": "h1 { color: red }"}, T0)
    assert s.hide_platform_branding is True and s.custom_css == "h1 { color: red }"
    for bad in ({"hide_platform_branding": "yes"}, {"custom_css": "x" * 100_001},
                {"custom_css": 5}):
        with pytest.raises(ValidationError):
            s.apply(bad, T0)
    s.apply({"custom_css": None, "custom_domain": None}, T0)
    assert s.custom_css is None and s.custom_domain is None
