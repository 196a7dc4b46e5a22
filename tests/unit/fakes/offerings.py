"""Offerings, their sessions' seats and bookings, in the fake store."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from application.ports.offerings import OfferingFilter
from domain.errors import Conflict
from domain.offerings.booking import LIVE, Booking, BookingStatus
from domain.offerings.installments import Installment, InstallmentStatus
from domain.offerings.offering import Offering
from tests.unit.fakes.store import Store
from tests.unit.fakes.unfaked import not_faked


class FakeOfferingRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, Offering] = {}

    def _all(self) -> dict[UUID, Offering]:
        return {**self._staged.offerings, **self.seen}

    def _track(self, offering: Offering | None) -> Offering | None:
        if offering is None:
            return None
        if offering.id not in self.seen:
            self.seen[offering.id] = copy.deepcopy(offering)
        return self.seen[offering.id]

    def add(self, offering: Offering) -> None:
        if self.slug_taken(offering.slug.value):
            raise Conflict("That slug is already used.", code="offering.slug_taken")
        self.seen[offering.id] = offering

    def get(self, offering_id: UUID, *, lock: bool = False) -> Offering | None:
        return self._track(self._all().get(offering_id))

    def by_slug(self, slug: str) -> Offering | None:
        return self._track(next((o for o in self._all().values() if o.slug.value == slug),
                                None))

    def slug_taken(self, slug: str) -> bool:
        return any(o.slug.value == slug for o in self._all().values())

    def published(self, page: OfferingFilter) -> Sequence[Offering]:
        live = [o for o in self._all().values() if o.is_live
                and (page.offering_type is None or o.offering_type.value == page.offering_type)
                and (page.delivery_method is None
                     or o.delivery_method.value == page.delivery_method)
                and (page.upcoming_after is None or o.ends_at is None
                     or o.ends_at > page.upcoming_after)]
        return live[page.offset:page.offset + page.limit]

    def of_creator(self, creator_id: UUID | None, limit: int, offset: int
                   ) -> Sequence[Offering]:
        mine = [o for o in self._all().values() if o.deleted_at is None
                and (creator_id is None or o.creator_id == creator_id)]
        return mine[offset:offset + limit]

    def count_booking(self, offering_id: UUID, delta: int) -> None:
        offering = self.get(offering_id)
        if offering is not None:
            offering.booking_count += delta


class FakeSeatRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def take(self, *, offering_id: UUID, session_key: str, starts_at: datetime,
             ends_at: datetime, capacity: int | None) -> bool:
        taken = self._staged.seats.get((offering_id, session_key), 0)
        if capacity is not None and taken >= capacity:
            return False
        self._staged.seats[(offering_id, session_key)] = taken + 1
        return True

    def release(self, *, offering_id: UUID, session_key: str) -> None:
        taken = self._staged.seats.get((offering_id, session_key), 0)
        self._staged.seats[(offering_id, session_key)] = max(taken - 1, 0)

    def most_taken(self, offering_id: UUID, after: datetime) -> int:
        return max((n for (o, _), n in self._staged.seats.items() if o == offering_id),
                   default=0)

    def taken(self, offering_id: UUID, session_keys: Sequence[str]) -> dict[str, int]:
        return {key: self._staged.seats[(offering_id, key)] for key in session_keys
                if (offering_id, key) in self._staged.seats}


class FakeBookingRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, Booking] = {}

    # Reminders and calendars: tested in tests/integration (tests.unit.fakes.unfaked).
    def due_reminders(self, kind: str, start: datetime, end: datetime, limit: int
                      ) -> Sequence[UUID]:
        raise not_faked("bookings.due_reminders")

    def in_session(self, offering_id: UUID, starts_at: datetime, limit: int, *,
                   lock: bool = False) -> Sequence[Booking]:
        raise not_faked("bookings.in_session")

    def with_later_sessions(self, start: datetime, end: datetime) -> Sequence[UUID]:
        raise not_faked("bookings.with_later_sessions")

    def due_session_reminders(self, offering_id: UUID, session_key: str,
                              session_start: datetime, kind: str, limit: int
                              ) -> Sequence[UUID]:
        raise not_faked("bookings.due_session_reminders")

    def claim_reminder(self, booking_id: UUID, kind: str, now: datetime) -> bool:
        raise not_faked("bookings.claim_reminder")

    def calendar_of(self, customer_id: UUID, since: datetime) -> Sequence[Booking]:
        raise not_faked("bookings.calendar_of")

    def _all(self) -> dict[UUID, Booking]:
        return {**self._staged.bookings, **self.seen}

    def _track(self, booking: Booking | None) -> Booking | None:
        if booking is None:
            return None
        if booking.id not in self.seen:
            self.seen[booking.id] = copy.deepcopy(booking)
        return self.seen[booking.id]

    def add(self, booking: Booking) -> None:
        if self.live_for(booking.customer_id, booking.offering_id, booking.session_key):
            raise Conflict("You already hold a place in this session.", code="booking.exists")
        self.seen[booking.id] = booking

    def get(self, booking_id: UUID, *, lock: bool = False) -> Booking | None:
        return self._track(self._all().get(booking_id))

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Booking | None:
        return self._track(next((b for b in self._all().values()
                                 if b.payment_intent_id == intent_id), None))

    def live_for(self, customer_id: UUID, offering_id: UUID, session_key: str
                 ) -> Booking | None:
        return self._track(next((b for b in self._all().values()
                                 if (b.customer_id, b.offering_id, b.session_key)
                                 == (customer_id, offering_id, session_key)
                                 and b.status in LIVE), None))

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Booking]:
        mine = sorted((b for b in self._all().values() if b.customer_id == customer_id),
                      key=lambda b: b.starts_at, reverse=True)
        return mine[offset:offset + limit]

    def for_offering(self, offering_id: UUID, limit: int, offset: int) -> Sequence[Booking]:
        theirs = sorted((b for b in self._all().values() if b.offering_id == offering_id),
                        key=lambda b: b.starts_at)
        return theirs[offset:offset + limit]

    def busy(self, offering_id: UUID, start: datetime, end: datetime
             ) -> Sequence[tuple[datetime, datetime]]:
        return [(b.starts_at, b.ends_at) for b in self._all().values()
                if b.offering_id == offering_id and b.status in LIVE
                and b.starts_at < end and b.ends_at > start]

    def forget_reminders(self, booking_id: UUID) -> None:
        """The fake keeps no reminders."""

    def expired_holds(self, now: datetime, limit: int) -> Sequence[UUID]:
        return [b.id for b in self._all().values() if b.status is BookingStatus.PENDING
                and b.hold_expires_at is not None and b.hold_expires_at <= now][:limit]


class FakeInstallmentRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, Installment] = {}

    def _all(self) -> dict[UUID, Installment]:
        return {**self._staged.installments, **self.seen}

    def _track(self, installment: Installment) -> Installment:
        if installment.id not in self.seen:
            self.seen[installment.id] = copy.deepcopy(installment)
        return self.seen[installment.id]

    def add(self, installments: Sequence[Installment]) -> None:
        for installment in installments:
            self.seen[installment.id] = installment

    def get(self, installment_id: UUID, *, lock: bool = False) -> Installment | None:
        found = self._all().get(installment_id)
        return self._track(found) if found else None

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Installment | None:
        found = next((i for i in self._all().values() if i.payment_intent_id == intent_id),
                     None)
        return self._track(found) if found else None

    def of_booking(self, booking_id: UUID, *, lock: bool = False) -> Sequence[Installment]:
        return [self._track(i) for i in sorted(
            (i for i in self._all().values() if i.booking_id == booking_id),
            key=lambda i: i.number)]

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        return [i.id for i in sorted(self._all().values(), key=lambda i: i.due_at)
                if i.status is InstallmentStatus.SCHEDULED and i.due_at <= now][:limit]
