"""The public side of offerings: the listing, one offering with its seats, its sessions
and, for bookable offerings, the free slots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from application.ports.offerings import OfferingFilter
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, ValidationError
from domain.offerings.offering import Offering
from domain.offerings.schedules import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    Occurrence,
    RecurringBookable,
)
from domain.values import TimeZoneName

MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=30)


@attrs.frozen
class BrowseOfferings:
    offering_type: str | None = None
    delivery_method: str | None = None
    upcoming: bool = False
    limit: int = 20
    offset: int = 0


def browse_offerings(cmd: BrowseOfferings, uow: UnitOfWork, services: Services
                     ) -> Sequence[Offering]:
    return uow.offerings.published(OfferingFilter(
        offering_type=cmd.offering_type, delivery_method=cmd.delivery_method,
        upcoming_after=services.clock.now() if cmd.upcoming else None, limit=cmd.limit,
        offset=cmd.offset))


def live_offering(uow: UnitOfWork, slug: str) -> Offering:
    offering = uow.offerings.by_slug(slug)
    if offering is None or not offering.is_live:
        raise NotFound("No such offering.", code="offering.not_found")
    return offering


@attrs.frozen
class Session:
    occurrence: Occurrence
    seats_left: int | None  # None: unlimited


@attrs.frozen
class OfferingDetails:
    offering: Offering
    zone: str
    next_sessions: Sequence[Session]


@attrs.frozen
class GetOffering:
    slug: str


def get_offering(cmd: GetOffering, uow: UnitOfWork, services: Services) -> OfferingDetails:
    offering = live_offering(uow, cmd.slug)
    zone = offering.timezone or uow.settings.get().timezone
    now = services.clock.now()
    return OfferingDetails(offering, zone,
                           sessions(uow, offering, ZoneInfo(zone), now, now + DEFAULT_RANGE,
                                    now)[:10])


def sessions(uow: UnitOfWork, offering: Offering, zone: ZoneInfo, start: datetime,
             end: datetime, now: datetime) -> list[Session]:
    """Upcoming sessions with their seats left; for a bookable offering, the free slots."""
    seats = offering.seats_per_session
    if isinstance(offering.schedule, RecurringBookable):
        taken = uow.bookings.busy(offering.id, start - timedelta(days=1),
                                  end + timedelta(days=1))
        return [Session(slot, 1 if seats == 1 else seats)
                for slot in offering.schedule.free_slots(zone, start, end, now, taken)]
    found = offering.occurrences(zone, max(start, now), end)
    counts = uow.seats.taken(offering.id, sorted({o.key for o in found}))
    return [Session(o, None if seats is None else max(seats - counts.get(o.key, 0), 0))
            for o in found]


@attrs.frozen
class ListSessions:
    slug: str
    start: datetime | None = None
    end: datetime | None = None
    tz: str | None = None  # the viewer's zone, for display


@attrs.frozen
class SessionList:
    offering: Offering
    zone: str  # the offering's
    viewer_zone: str | None
    sessions: Sequence[Session]


def list_sessions(cmd: ListSessions, uow: UnitOfWork, services: Services) -> SessionList:
    offering = live_offering(uow, cmd.slug)
    now = services.clock.now()
    for moment, field in ((cmd.start, "from"), (cmd.end, "to")):
        if moment is not None and (moment.tzinfo is None or not (
                EARLIEST_YEAR <= moment.year <= LATEST_YEAR)):
            raise ValidationError(f"{field} is a time with a zone, from year {EARLIEST_YEAR} "
                                  f"to {LATEST_YEAR}.", code="sessions.range", field=field)
    start = cmd.start or now
    end = cmd.end or start + DEFAULT_RANGE
    if end <= start or end - start > MAX_RANGE:
        raise ValidationError("to is after from, at most a year later.", code="sessions.range",
                              field="to")
    viewer = TimeZoneName(cmd.tz).value if cmd.tz is not None else None
    zone = offering.timezone or uow.settings.get().timezone
    return SessionList(offering, zone, viewer,
                       sessions(uow, offering, ZoneInfo(zone), start, end, now))


