"""Hosts moving a whole session: every booking of it, to another session or slot.

For offerings booked session by session (a class paid per session, a bookable 1:1).
All or nothing, in one transaction with the bookings locked (then, for a bookable
offering, its row, as a single move does): the target's seats are taken for every
booking before the source's are given back, so a session that cannot take them all
moves nobody. Each customer is emailed (with the new time) and
reminded again before it; their payment stays as it was.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from application.offerings.authoring import managed
from application.offerings.booking import (
    BookOffering,
    OfferingFull,
    offer_freed_seat,
    session_for,
)
from application.offerings.portals import sync_portal
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, NotFound
from domain.offerings.booking import Booking, BookingStatus
from domain.offerings.schedules import OfferingType, RecurringBookable

MAX_MOVED = 1000


@attrs.frozen
class MoveSession:
    actor: Principal
    offering_id: UUID
    starts_at: datetime  # the session whose bookings move
    to: datetime  # the session (or slot) they move to


def move_session(cmd: MoveSession, uow: UnitOfWork, services: Services) -> list[Booking]:
    offering = managed(uow, cmd.actor, cmd.offering_id)
    if offering.whole_series or offering.offering_type not in (
            OfferingType.RECURRING_FIXED, OfferingType.RECURRING_BOOKABLE):
        raise Conflict("Only offerings booked session by session move a session; edit the "
                       "schedule of this one instead.", code="session.not_movable")
    now = services.clock.now()
    zone = offering.zone(uow.settings.get().timezone)
    moving = [b for b in uow.bookings.in_session(offering.id, cmd.starts_at, MAX_MOVED,
                                                 lock=True)
              if b.status is BookingStatus.CONFIRMED]
    if isinstance(offering.schedule, RecurringBookable):
        offering = uow.offerings.get(offering.id, lock=True) or offering
    if not moving:
        raise NotFound("No confirmed bookings start then.", code="session.no_bookings",
                       field="starts_at")
    source_key = moving[0].session_key
    source = (moving[0].starts_at, moving[0].ends_at)
    target = session_for(uow, offering, zone, BookOffering(
        actor=cmd.actor, offering_id=offering.id, payment_method="credits",
        starts_at=cmd.to), now, ignore=source if isinstance(
            offering.schedule, RecurringBookable) else None)
    if target.key == source_key:
        raise Conflict("That is the same session.", code="booking.same_session")
    if target.starts_at <= now:
        raise Conflict("That session has started or is over.", code="booking.session_past")
    for booking in moving:
        if uow.bookings.live_for(booking.customer_id, offering.id, target.key) is not None:
            raise Conflict("A customer of this session already holds a place in that one; "
                           "cancel or move that booking first.", code="booking.exists",
                           details={"booking_id": str(booking.id)})
        if not uow.seats.take(offering_id=offering.id, session_key=target.key,
                              starts_at=target.starts_at, ends_at=target.ends_at,
                              capacity=offering.seats_per_session):
            raise OfferingFull(f"That session has fewer free seats than the {len(moving)} "
                               f"bookings to move.", details={"bookings": len(moving)})
    for booking in moving:
        uow.seats.release(offering_id=offering.id, session_key=source_key)
        booking.move(target.key, target.starts_at, target.ends_at, now)
        uow.bookings.forget_reminders(booking.id)
        sync_portal(uow, services, booking, offering)
    # The seats given back may go to people waiting for the old time.
    for _ in moving:
        offer_freed_seat(uow, services, offering.id, source_key)
    uow.commit()
    return moving

