"""Waiting lists for full sessions (offerings that turn them on)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from application.offerings.booking import BookOffering, offer_freed_seat, session_for
from application.ports.offerings import WaitlistEntry
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, Forbidden, NotFound
from domain.offerings.schedules import RecurringBookable


@attrs.frozen
class JoinWaitlist:
    actor: Principal
    offering_id: UUID
    starts_at: datetime | None = None
    cohort: str | None = None


@attrs.frozen
class Place:
    entry: WaitlistEntry
    position: int


def join_waitlist(cmd: JoinWaitlist, uow: UnitOfWork, services: Services) -> Place:
    """Queue for a full session. When a seat frees, it is held for the first in line for
    ``waitlist_hold_minutes`` (they are emailed), then for the next."""
    user_id = cmd.actor.require_user()
    if not cmd.actor.email_verified:
        raise Forbidden("Confirm your email address first.", code="booking.email_unverified")
    offering = uow.offerings.get(cmd.offering_id)
    if offering is None or not offering.is_live:
        raise NotFound("No such offering.", code="offering.not_found")
    if not offering.payment_options.waitlist or isinstance(offering.schedule,
                                                          RecurringBookable):
        raise Conflict("This offering has no waiting list.", code="waitlist.not_offered")
    now = services.clock.now()
    session = session_for(uow, offering, offering.zone(uow.settings.get().timezone),
                       BookOffering(actor=cmd.actor, offering_id=offering.id,
                                    payment_method="credits", starts_at=cmd.starts_at,
                                    cohort=cmd.cohort), now)
    if session.starts_at <= now:
        raise Conflict("That session has started or is over.", code="booking.session_past")
    if uow.bookings.live_for(user_id, offering.id, session.key) is not None:
        raise Conflict("You already hold a place in this session.", code="booking.exists")
    seats = offering.seats_per_session
    taken = uow.seats.taken(offering.id, [session.key]).get(session.key, 0)
    if seats is None or taken < seats:
        raise Conflict("There are seats left: book one.", code="waitlist.seats_available")
    entry = WaitlistEntry(id=services.ids.new_id(), offering_id=offering.id,
                          customer_id=user_id, session_key=session.key,
                          starts_at=session.starts_at, ends_at=session.ends_at,
                          status="waiting", created_at=now)
    uow.waitlist.join(entry)
    uow.commit()
    return Place(entry, uow.waitlist.position(entry))


@attrs.frozen
class LeaveWaitlist:
    actor: Principal
    entry_id: UUID


def leave_waitlist(cmd: LeaveWaitlist, uow: UnitOfWork, services: Services) -> None:
    entry = uow.waitlist.of_customer(cmd.actor.require_user(), cmd.entry_id)
    if entry is None or entry.status not in ("waiting", "offered"):
        raise NotFound("You are not on that waiting list.", code="waitlist.not_found")
    now = services.clock.now()
    uow.waitlist.set_status(entry.id, "left", now)
    if entry.status == "offered":
        # The seat held for them goes to the next in line, or back to everyone.
        uow.seats.release(offering_id=entry.offering_id, session_key=entry.session_key)
        offer_freed_seat(uow, services, entry.offering_id, entry.session_key)
    uow.commit()


@attrs.frozen
class LapseWaitlistOffers:
    actor: Principal


def lapse_waitlist_offers(cmd: LapseWaitlistOffers, uow: UnitOfWork, services: Services
                          ) -> int:
    """Offers not taken in time: the seat passes to the next in line (the worker runs
    this)."""
    uow.rollback()
    now = services.clock.now()
    with services.uow_factory(read_only=True) as reader:
        lapsed = list(reader.waitlist.lapsed_offers(now, 200))
    passed = 0
    for entry in lapsed:
        with services.uow_factory() as writer:
            current = writer.waitlist.of_customer(entry.customer_id, entry.id)
            if current is None or current.status != "offered":
                continue
            writer.waitlist.set_status(entry.id, "expired", now)
            writer.seats.release(offering_id=entry.offering_id, session_key=entry.session_key)
            offer_freed_seat(writer, services, entry.offering_id, entry.session_key)
            writer.commit()
        services.dispatch(writer.committed_outbox_ids)
        passed += 1
    return passed
