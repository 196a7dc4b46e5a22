"""Calendar files: each zone's VTIMEZONE covers the events that use it, and says what
the zone database says about their local times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from adapters.calendar.ics import IcsCalendarWriter
from application.ports.calendar import CalendarEvent


def event(n: int, zone: str, at: datetime) -> CalendarEvent:
    return CalendarEvent(uid=f"booking-{n}@patronage", title=f"Class {n}", starts_at=at,
                         ends_at=at + timedelta(hours=1), zone=zone,
                         description=None, location=None, url=None, canceled=False)


def test_each_zone_is_described_for_the_times_its_events_use() -> None:
    # Either side of both DST changes, over two years, in two zones; and one in UTC.
    paris = [datetime(2027, 3, 27, 17, tzinfo=UTC), datetime(2027, 3, 29, 16, tzinfo=UTC),
             datetime(2027, 10, 30, 16, tzinfo=UTC), datetime(2028, 11, 1, 17, tzinfo=UTC)]
    new_york = [datetime(2026, 12, 31, 23, tzinfo=UTC), datetime(2027, 7, 4, 16, tzinfo=UTC)]
    events = ([event(n, "Europe/Paris", at) for n, at in enumerate(paris)]
              + [event(10 + n, "America/New_York", at) for n, at in enumerate(new_york)]
              + [event(20, "UTC", datetime(2027, 1, 1, 9, tzinfo=UTC))])
    writer = IcsCalendarWriter()
    data = writer.calendar(events, name="Bookings")
    parsed = icalendar.Calendar.from_ical(data)
    zones = {str(tz["TZID"]): tz for tz in parsed.walk("VTIMEZONE")
             if isinstance(tz, icalendar.Timezone)}
    assert sorted(zones) == ["America/New_York", "Europe/Paris"]
    # Every zone is given before the events that use it.
    text = data.decode()
    assert text.rindex("END:VTIMEZONE") < text.index("BEGIN:VEVENT")
    for item in parsed.walk("VEVENT"):
        start = item.decoded("DTSTART")
        tzid = item["DTSTART"].params.get("TZID")
        if tzid is None:
            assert start == datetime(2027, 1, 1, 9, tzinfo=UTC)
            continue
        described = zones[tzid].to_tz(lookup_tzid=False)
        local = start.replace(tzinfo=None)
        # The file's own description of the zone gives the offset the database gives.
        assert local.replace(tzinfo=described).utcoffset() == \
            local.replace(tzinfo=ZoneInfo(tzid)).utcoffset(), (tzid, local)
    again = writer.calendar(events, name="Bookings")
    assert again.split(b"DTSTAMP")[0] == data.split(b"DTSTAMP")[0]
