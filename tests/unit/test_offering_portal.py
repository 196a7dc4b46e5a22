"""When a booking's portal opens and closes, and when each resource unlocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import ValidationError
from domain.offerings.policy import PortalConfig
from domain.offerings.portal import AvailableWhen, Resource, portal_window

BOOKED = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
STARTS = datetime(2027, 3, 10, 18, 0, tzinfo=UTC)
ENDS = STARTS + timedelta(hours=2)


def resource(**fields: object) -> Resource:
    return Resource.create(id=uuid4(), offering_id=uuid4(), now=BOOKED, fields={
        "resource_type": "text", "title": "Notes", "text_content": "Hello", **fields})


def test_the_portal_opens_before_the_session_and_closes_after_it() -> None:
    window = portal_window(PortalConfig(access_before_days=3, access_after_days=7), STARTS,
                           ENDS, BOOKED)
    assert window.opens_at == STARTS - timedelta(days=3)
    assert window.closes_at == ENDS + timedelta(days=7)
    assert not window.open(window.opens_at - timedelta(seconds=1))
    assert window.open(window.opens_at)
    assert window.open(window.closes_at - timedelta(seconds=1))
    assert not window.open(window.closes_at)


def test_a_late_booking_opens_the_portal_when_it_is_made() -> None:
    late = STARTS - timedelta(hours=1)
    window = portal_window(PortalConfig(access_before_days=30), STARTS, ENDS, late)
    assert window.opens_at == late


@pytest.mark.parametrize(("when", "unlocks"), [
    (AvailableWhen.ALWAYS, STARTS - timedelta(days=3)),
    (AvailableWhen.BEFORE, STARTS - timedelta(days=3)),
    (AvailableWhen.DURING, STARTS),
    (AvailableWhen.AFTER, ENDS),
])
def test_resources_unlock_by_when_they_are_for(when: AvailableWhen, unlocks: datetime) -> None:
    window = portal_window(PortalConfig(access_before_days=3), STARTS, ENDS, BOOKED)
    assert resource(available_when=when.value).unlocks_at(window, STARTS, ENDS) == unlocks


def test_a_drip_date_only_ever_delays_a_resource() -> None:
    window = portal_window(PortalConfig(access_before_days=3), STARTS, ENDS, BOOKED)
    later = ENDS + timedelta(days=2)
    earlier = STARTS - timedelta(days=30)
    assert resource(available_when="during", unlock_at=later).unlocks_at(
        window, STARTS, ENDS) == later
    assert resource(available_when="during", unlock_at=earlier).unlocks_at(
        window, STARTS, ENDS) == STARTS
    # Never before the portal itself opens.
    assert resource(available_when="always", unlock_at=earlier).unlocks_at(
        window, STARTS, ENDS) == window.opens_at


@pytest.mark.parametrize(("fields", "field"), [
    ({"title": " "}, "title"),
    ({"resource_type": "link", "link_url": None}, "link_url"),
    ({"resource_type": "link", "link_url": "javascript:alert(1)"}, None),
    ({"available_when": "someday"}, "available_when"),
    ({"unlock_at": datetime(2027, 3, 1, 9, 0)}, "unlock_at"),
    ({"display_order": -1}, "display_order"),
    ({"colour": "red"}, "colour"),
])
def test_bad_resources_name_the_field(fields: dict[str, object], field: str | None) -> None:
    with pytest.raises(ValidationError) as raised:
        resource(**fields)
    if field is not None:
        assert raised.value.field == field


def test_a_resource_keeps_only_the_reference_its_type_uses() -> None:
    item = resource()
    item.edit({"resource_type": "link", "link_url": "https://example.com/a"}, BOOKED)
    assert (item.text_content, item.link_url) == (None, "https://example.com/a")
