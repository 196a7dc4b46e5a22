"""iCalendar files with the ``icalendar`` package: times in the offering's own zone
(TZID) with its VTIMEZONE, so calendars show sessions right across DST changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from application.ports.calendar import CalendarEvent


class IcsCalendarWriter:
    def __init__(self, product: str = "-//Patronage//Bookings//EN") -> None:
        self._product = product

    def calendar(self, events: Sequence[CalendarEvent], *, name: str) -> bytes:
        cal = icalendar.Calendar()
        cal.add("prodid", self._product)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", name)
        for item in events:
            zone = ZoneInfo(item.zone)
            event = icalendar.Event()
            event.add("uid", item.uid)
            event.add("dtstamp", datetime.now(UTC))
            event.add("summary", item.title)
            event.add("dtstart", item.starts_at.astimezone(zone))
            event.add("dtend", item.ends_at.astimezone(zone))
            if item.description:
                event.add("description", item.description)
            if item.location:
                event.add("location", item.location)
            if item.url:
                event.add("url", item.url)
            event.add("status", "CANCELLED" if item.canceled else "CONFIRMED")
            cal.add_component(event)
        cal.add_missing_timezones()
        data: bytes = cal.to_ical()
        return data
