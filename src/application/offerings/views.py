"""Bookings as customers and hosts see them, and their calendar files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from application.ports.calendar import CalendarEvent
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, Unavailable
from domain.identity.permissions import Permission
from domain.offerings.booking import Booking, BookingStatus
from domain.offerings.installments import Installment
from domain.offerings.offering import Offering


@attrs.frozen
class BookingView:
    booking: Booking
    offering: Offering
    zone: str
    # Only for a confirmed booking: where to join or go.
    join_url: str | None
    location: str | None
    # Paid in monthly installments: each one, in order.
    installments: Sequence[Installment] = ()


def view(uow: UnitOfWork, booking: Booking) -> BookingView:
    offering = uow.offerings.get(booking.offering_id)
    if offering is None:
        raise NotFound("No such booking.", code="booking.not_found")
    confirmed = booking.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
    return BookingView(booking, offering, offering.timezone or uow.settings.get().timezone,
                       offering.join_url if confirmed else None,
                       offering.location_details if confirmed else None,
                       uow.installments.of_booking(booking.id)
                       if booking.in_installments else ())


@attrs.frozen
class MyBookings:
    actor: Principal
    limit: int = 50
    offset: int = 0


def my_bookings(cmd: MyBookings, uow: UnitOfWork, services: Services) -> list[BookingView]:
    return [view(uow, b) for b in uow.bookings.for_customer(cmd.actor.require_user(),
                                                            cmd.limit, cmd.offset)]


def _mine(uow: UnitOfWork, actor: Principal, booking_id: UUID) -> Booking:
    booking = uow.bookings.get(booking_id)
    if booking is None or booking.customer_id != actor.user_id:
        raise NotFound("No such booking.", code="booking.not_found")
    return booking


@attrs.frozen
class MyBooking:
    actor: Principal
    booking_id: UUID


def my_booking(cmd: MyBooking, uow: UnitOfWork, services: Services) -> BookingView:
    return view(uow, _mine(uow, cmd.actor, cmd.booking_id))


def calendar_events(v: BookingView, public_url: str) -> list[CalendarEvent]:
    """The booking in a calendar: one event per session it holds (a whole series, a
    program's days, a cohort's sessions), or one for the time it spans."""
    b, o = v.booking, v.offering
    title = o.title if not b.details.get("session_title") else \
        f"{o.title}: {b.details['session_title']}"
    base = CalendarEvent(
        uid=f"booking-{b.id}@patronage", title=title, starts_at=b.starts_at, ends_at=b.ends_at,
        zone=v.zone, description=(f"Join: {v.join_url}" if v.join_url else None),
        location=v.location, url=f"{public_url.rstrip('/')}/offerings/{o.slug.value}",
        canceled=b.status is BookingStatus.CANCELED)
    sessions = [s for s in o.occurrences(ZoneInfo(v.zone), b.starts_at,
                                         b.ends_at + timedelta(seconds=1))
                if s.key == b.session_key and s.ends_at <= b.ends_at]
    if len(sessions) < 2:
        return [base]
    return [attrs.evolve(base, uid=f"booking-{b.id}-{int(s.starts_at.timestamp())}@patronage",
                         title=f"{o.title}: {s.title}" if s.title else o.title,
                         starts_at=s.starts_at, ends_at=s.ends_at)
            for s in sessions]


@attrs.frozen
class BookingCalendar:
    actor: Principal
    booking_id: UUID


def booking_calendar(cmd: BookingCalendar, uow: UnitOfWork, services: Services) -> bytes:
    """An iCalendar file for one of your bookings."""
    if services.calendar is None:
        raise Unavailable("Calendar files are not available.", code="calendar.unavailable")
    v = view(uow, _mine(uow, cmd.actor, cmd.booking_id))
    return services.calendar.calendar(calendar_events(v, services.config.public_url),
                                      name=v.offering.title)


@attrs.frozen
class OfferingBookings:
    actor: Principal
    offering_id: UUID
    limit: int = 100
    offset: int = 0


def offering_bookings(cmd: OfferingBookings, uow: UnitOfWork, services: Services
                      ) -> Sequence[Booking]:
    """The bookings of an offering, for its creator and platform owners."""
    offering = uow.offerings.get(cmd.offering_id)
    if offering is None or not cmd.actor.may_manage(
            offering.creator_id, own=Permission.OFFERINGS_CREATE,
            any_=Permission.BOOKINGS_MANAGE_ANY):
        raise NotFound("No such offering.", code="offering.not_found")
    return uow.bookings.for_offering(offering.id, cmd.limit, cmd.offset)


@attrs.frozen
class MarkBooking:
    actor: Principal
    booking_id: UUID
    status: str  # completed or no_show


def mark_booking(cmd: MarkBooking, uow: UnitOfWork, services: Services) -> Booking:
    booking = uow.bookings.get(cmd.booking_id, lock=True)
    offering = uow.offerings.get(booking.offering_id) if booking else None
    if booking is None or offering is None or not cmd.actor.may_manage(
            offering.creator_id, own=Permission.OFFERINGS_CREATE,
            any_=Permission.BOOKINGS_MANAGE_ANY):
        raise NotFound("No such booking.", code="booking.not_found")
    try:
        status = BookingStatus(cmd.status)
    except ValueError:
        status = BookingStatus.CANCELED  # refused just below with a clear code
    booking.mark(status, services.clock.now())
    uow.commit()
    return booking
