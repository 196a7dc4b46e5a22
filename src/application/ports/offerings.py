"""Repository ports for offerings, their sessions' seats, and bookings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs

from domain.offerings.booking import Booking
from domain.offerings.installments import Installment
from domain.offerings.offering import Offering
from domain.offerings.portal import Resource


@attrs.frozen
class OfferingFilter:
    offering_type: str | None = None
    delivery_method: str | None = None
    upcoming_after: datetime | None = None  # only offerings not over by then
    limit: int = 20
    offset: int = 0


class OfferingRepository(Protocol):
    def add(self, offering: Offering) -> None:
        """Insert; raises Conflict(offering.slug_taken) if the slug is used."""
        ...

    def get(self, offering_id: UUID, *, lock: bool = False) -> Offering | None:
        """Including soft-deleted ones (callers decide what a deleted offering means)."""
        ...

    def by_slug(self, slug: str) -> Offering | None: ...

    def slug_taken(self, slug: str) -> bool: ...

    def published(self, page: OfferingFilter) -> Sequence[Offering]:
        """Live offerings, one statement per page, soonest-starting first."""
        ...

    def of_creator(self, creator_id: UUID | None, limit: int, offset: int
                   ) -> Sequence[Offering]:
        """Not deleted; a creator's own, or (None) everyone's."""
        ...

    def count_booking(self, offering_id: UUID, delta: int) -> None:
        """Move booking_count in one statement (it is never read-modified-written)."""
        ...


class SeatRepository(Protocol):
    def take(self, *, offering_id: UUID, session_key: str, starts_at: datetime,
             ends_at: datetime, capacity: int | None) -> bool:
        """Take one seat of the session if one is free (False if not). The seat count is
        kept under a database CHECK; a concurrent taker waits on the row, boundedly."""
        ...

    def release(self, *, offering_id: UUID, session_key: str) -> None: ...

    def taken(self, offering_id: UUID, session_keys: Sequence[str]) -> dict[str, int]: ...

    def most_taken(self, offering_id: UUID, after: datetime) -> int:
        """The most seats taken in any session not over by ``after``."""
        ...


class BookingRepository(Protocol):
    def add(self, booking: Booking) -> None:
        """Insert; raises Conflict(booking.exists) if the customer holds this session."""
        ...

    def get(self, booking_id: UUID, *, lock: bool = False) -> Booking | None: ...

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Booking | None: ...

    def live_for(self, customer_id: UUID, offering_id: UUID, session_key: str
                 ) -> Booking | None: ...

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Booking]: ...

    def for_offering(self, offering_id: UUID, limit: int, offset: int) -> Sequence[Booking]: ...

    def busy(self, offering_id: UUID, start: datetime, end: datetime
             ) -> Sequence[tuple[datetime, datetime]]:
        """Times of the live bookings of an offering that overlap [start, end)."""
        ...

    def expired_holds(self, now: datetime, limit: int) -> Sequence[UUID]:
        """Pending bookings whose seat hold ran out."""
        ...

    def due_reminders(self, kind: str, start: datetime, end: datetime, limit: int
                      ) -> Sequence[UUID]:
        """Confirmed bookings starting in (start, end] without this reminder yet."""
        ...

    def in_session(self, offering_id: UUID, starts_at: datetime, limit: int, *,
                   lock: bool = False) -> Sequence[Booking]:
        """The live bookings of the offering's session (or slot) starting then."""
        ...

    def with_later_sessions(self, start: datetime, end: datetime) -> Sequence[UUID]:
        """Offerings with confirmed bookings that hold several sessions (a series, a
        program, a cohort) and are under way between ``start`` and ``end``."""
        ...

    def due_session_reminders(self, offering_id: UUID, session_key: str,
                              session_start: datetime, kind: str, limit: int
                              ) -> Sequence[UUID]:
        """Confirmed bookings of that seat pool holding the session that starts at
        ``session_start`` (not as their first), without the ``kind`` reminder yet."""
        ...

    def claim_reminder(self, booking_id: UUID, kind: str, now: datetime) -> bool:
        """Record that this reminder goes out; False if it was claimed before (by any
        worker), so it is sent once."""
        ...

    def forget_reminders(self, booking_id: UUID) -> None:
        """A moved booking is reminded again for its new time."""
        ...

    def calendar_of(self, customer_id: UUID, since: datetime) -> Sequence[Booking]:
        """The customer's bookings that end after ``since``, for their calendar feed."""
        ...


class InstallmentRepository(Protocol):
    def add(self, installments: Sequence[Installment]) -> None: ...

    def get(self, installment_id: UUID, *, lock: bool = False) -> Installment | None: ...

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Installment | None: ...

    def of_booking(self, booking_id: UUID, *, lock: bool = False) -> Sequence[Installment]:
        """In order of number."""
        ...

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        """Installments of confirmed bookings to charge now: scheduled and due, or claimed
        by a worker that has not answered for STALE_CHARGE."""
        ...


class CalendarFeedRepository(Protocol):
    def replace(self, user_id: UUID, token_hash: str, *, id: UUID, now: datetime) -> None:
        """The user's one feed now answers to this token (an earlier one stops working)."""
        ...

    def revoke(self, user_id: UUID) -> bool: ...

    def user_for(self, token_hash: str) -> UUID | None: ...


@attrs.frozen
class PortalAccess:
    booking_id: UUID
    user_id: UUID
    offering_id: UUID
    opens_at: datetime  # stored as granted_at: from when the booking opens the portal
    expires_at: datetime


class PortalRepository(Protocol):
    def grant(self, access: PortalAccess, *, id: UUID) -> None:
        """Create or move the booking's access (one per booking)."""
        ...

    def revoke(self, booking_id: UUID) -> None: ...

    def of(self, user_id: UUID, offering_id: UUID) -> Sequence[PortalAccess]: ...


class ResourceRepository(Protocol):
    def add(self, resource: Resource) -> None: ...

    def get(self, resource_id: UUID) -> Resource | None: ...

    def of_offering(self, offering_id: UUID) -> Sequence[Resource]:
        """In display order."""
        ...

    def save(self, resource: Resource) -> None: ...

    def remove(self, resource_id: UUID) -> None: ...


@attrs.frozen
class WaitlistEntry:
    id: UUID
    offering_id: UUID
    customer_id: UUID
    session_key: str
    starts_at: datetime
    ends_at: datetime
    status: str  # waiting, offered, booked, expired, left
    created_at: datetime
    offered_until: datetime | None = None


class WaitlistRepository(Protocol):
    def join(self, entry: WaitlistEntry) -> None:
        """Raises Conflict(waitlist.exists) if the customer is already in this line."""
        ...

    def first_waiting(self, offering_id: UUID, session_key: str) -> WaitlistEntry | None:
        """The longest-waiting customer, locked (concurrent offers skip it)."""
        ...

    def set_status(self, entry_id: UUID, status: str, now: datetime,
                   offered_until: datetime | None = None) -> None: ...

    def offer_for(self, customer_id: UUID, offering_id: UUID, session_key: str,
                  now: datetime) -> WaitlistEntry | None:
        """The customer's open offer of a seat in this session, locked."""
        ...

    def lapsed_offers(self, now: datetime, limit: int) -> Sequence[WaitlistEntry]: ...

    def of_customer(self, customer_id: UUID, entry_id: UUID) -> WaitlistEntry | None: ...

    def position(self, entry: WaitlistEntry) -> int:
        """1 for the first in line."""
        ...
