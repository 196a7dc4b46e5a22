"""Calendar files (iCalendar, RFC 5545) for bookings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs


@attrs.frozen
class CalendarEvent:
    uid: str
    title: str
    starts_at: datetime  # UTC
    ends_at: datetime
    zone: str  # the offering's IANA zone: the event is written in it, with its VTIMEZONE
    description: str | None = None
    location: str | None = None
    url: str | None = None
    canceled: bool = False


class CalendarWriter(Protocol):
    def calendar(self, events: Sequence[CalendarEvent], *, name: str) -> bytes:
        """A VCALENDAR holding the events."""
        ...
