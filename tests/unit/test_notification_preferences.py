"""Notification kinds and channels: what a preference may say, and what it changes."""

from __future__ import annotations

import pytest

from domain.errors import ValidationError
from domain.notifications.kinds import (
    DEFAULT,
    EMAIL_REQUIRED,
    IN_APP_ONLY,
    Channel,
    Kind,
    choose,
    emails,
    shows_in_app,
)


def test_the_default_is_both() -> None:
    assert DEFAULT is Channel.BOTH and DEFAULT.in_app and DEFAULT.email


@pytest.mark.parametrize("kind", sorted(EMAIL_REQUIRED))
def test_a_required_email_goes_whatever_the_channel_and_cannot_be_switched_off(
        kind: Kind) -> None:
    for channel in Channel:
        assert emails(kind, channel)
    for channel in (Channel.NONE, Channel.IN_APP):
        with pytest.raises(ValidationError) as refused:
            choose({kind.value: channel.value})
        assert refused.value.code == "notifications.email_required"
        assert refused.value.field == kind.value


@pytest.mark.parametrize("kind", sorted(set(Kind) - EMAIL_REQUIRED - IN_APP_ONLY))
def test_a_switchable_email_follows_the_channel(kind: Kind) -> None:
    assert {c for c in Channel if emails(kind, c)} == {Channel.EMAIL, Channel.BOTH}
    assert choose({kind.value: "none"}) == {kind: Channel.NONE}


def test_reminders_and_news_are_the_switchable_ones() -> None:
    assert set(Kind) - EMAIL_REQUIRED - IN_APP_ONLY == {
        Kind.BOOKING_REMINDER, Kind.PAYOUTS_ENABLED, Kind.CREDITS_EXPIRING}


def test_series_news_is_told_in_the_app_only_unless_switched_off() -> None:
    kind = Kind.SERIES_NEW_ITEM
    assert {c for c in Channel if shows_in_app(kind, c)} == {
        Channel.IN_APP, Channel.EMAIL, Channel.BOTH}
    assert not any(emails(kind, c) for c in Channel)


@pytest.mark.parametrize(("changes", "code"), [
    ({"sms_blast": "both"}, "notifications.kind"),
    ({"booking_reminder": "pigeon"}, "notifications.channel"),
    ({"booking_reminder": None}, "notifications.channel")])
def test_unknown_kinds_and_channels_are_refused(changes: dict[str, object], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        choose(changes)
    assert refused.value.code == code
