"""Offerings, the seats of their sessions, and bookings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.statements import OncePerDialect, params, read_by
from adapters.sqlalchemy.tables import (
    booking_reminders,
    calendar_feeds,
    offering_bookings,
    offering_portal_access,
    offering_resources,
    offering_sessions,
    offering_waitlist,
    offerings,
)
from application.ports.offerings import OfferingFilter, PortalAccess, WaitlistEntry
from application.ports.system import IdGenerator
from domain.errors import Conflict
from domain.offerings.booking import Booking, BookingStatus, PaidWith
from domain.offerings.offering import (
    CapacityType,
    DeliveryMethod,
    Offering,
    OfferingStatus,
)
from domain.offerings.policy import parse_payment_options, parse_portal_config
from domain.offerings.portal import AvailableWhen, Resource, ResourceType
from domain.offerings.schedules import OfferingType, parse_schedule
from domain.values import Money, Slug

_SLUG_TAKEN = Conflict("That slug is already used.", code="offering.slug_taken", field="slug")
_HELD = Conflict("You already hold a place in this session.", code="booking.exists")
LIVE = ("pending", "confirmed")


def offering_row(o: Offering) -> dict[str, Any]:
    return {
        "id": o.id, "creator_id": o.creator_id, "title": o.title, "slug": o.slug.value,
        "description": o.description, "offering_type": o.offering_type.value,
        "capacity_type": o.capacity_type.value, "max_participants": o.max_participants,
        "delivery_method": o.delivery_method.value, "location_details": o.location_details,
        "video_conference_provider": o.video_conference_provider,
        "schedule": {**o.schedule.to_json(), **({"join_url": o.join_url} if o.join_url
                                                else {})},
        "price": o.price.amount if o.price else None, "currency": o.currency,
        "credit_cost": o.credit_cost, "payment_options": o.payment_options.to_json(),
        "status": o.status.value, "published_at": o.published_at,
        "registration_deadline": o.registration_deadline,
        "portal_config": o.portal_config.to_json(), "booking_count": o.booking_count,
        "timezone": o.timezone, "starts_at": o.starts_at, "ends_at": o.ends_at,
        "created_at": o.created_at, "updated_at": o.updated_at,
        "deleted_at": o.deleted_at,
    }


def offering_from(r: sa.RowMapping) -> Offering:
    kind = OfferingType(r["offering_type"])
    schedule = dict(r["schedule"])
    # The join link is stored beside the schedule: the table has no column of its own
    # for it, and it is never part of what the public sees.
    join_url = schedule.pop("join_url", None)
    return Offering(
        id=r["id"], creator_id=r["creator_id"], title=r["title"], slug=Slug(r["slug"]),
        offering_type=kind, schedule=parse_schedule(kind, schedule),
        capacity_type=CapacityType(r["capacity_type"]),
        delivery_method=DeliveryMethod(r["delivery_method"]), currency=r["currency"],
        created_at=r["created_at"], updated_at=r["updated_at"],
        max_participants=r["max_participants"], description=r["description"],
        location_details=r["location_details"],
        video_conference_provider=r["video_conference_provider"], join_url=join_url,
        price=Money(r["price"], r["currency"]) if r["price"] is not None else None,
        credit_cost=r["credit_cost"],
        payment_options=parse_payment_options(r["payment_options"] or None),
        registration_deadline=r["registration_deadline"],
        portal_config=parse_portal_config(r["portal_config"] or None), timezone=r["timezone"],
        status=OfferingStatus(r["status"]), published_at=r["published_at"],
        booking_count=r["booking_count"], deleted_at=r["deleted_at"],
        starts_at=r["starts_at"], ends_at=r["ends_at"],
    )


# Asked by every payment event that is not a purchase's: built once.
_BOOKING_BY_INTENT = read_by(offering_bookings.c.stripe_payment_intent_id)
# A booking reads its offering (locked, for a bookable one), and its confirmation's
# email and notification read both again: built once, as the statements below.
_OFFERING_BY_ID = read_by(offerings.c.id)
_OFFERING_BY_SLUG = read_by(offerings.c.slug)
_BOOKING_BY_ID = read_by(offering_bookings.c.id)
_COUNT_BOOKING = sa.update(offerings).where(
    offerings.c.id == sa.bindparam("offering_id", type_=offerings.c.id.type)).values(
    booking_count=offerings.c.booking_count + sa.bindparam("delta", type_=sa.Integer()))


class SqlOfferingRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[Offering] = Tracker(execute, offerings, offering_row)

    def add(self, offering: Offering) -> None:
        row = offering_row(offering)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(offerings).values(**row))
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_offerings_slug": _SLUG_TAKEN,
                                        "offerings.slug": _SLUG_TAKEN}) from error
        self.tracker.track(offering.id, offering, row)

    def get(self, offering_id: UUID, *, lock: bool = False) -> Offering | None:
        return self.tracker.by_key(_OFFERING_BY_ID, offering_id, offering_from, lock=lock)

    def by_slug(self, slug: str) -> Offering | None:
        return self.tracker.read(_OFFERING_BY_SLUG, slug, offering_from, lock=False)

    def slug_taken(self, slug: str) -> bool:
        return self._execute(sa.select(offerings.c.id).where(offerings.c.slug == slug)
                             ).first() is not None

    def _many(self, query: sa.Select[Any]) -> list[Offering]:
        found = []
        for row in self._execute(query).mappings():
            known = self.tracker.get(row["id"])
            found.append(known or self.tracker.track(row["id"], offering_from(row)))
        return found

    def published(self, page: OfferingFilter) -> Sequence[Offering]:
        o = offerings
        query = sa.select(o).where(o.c.status == "published", o.c.deleted_at.is_(None))
        if page.offering_type is not None:
            query = query.where(o.c.offering_type == page.offering_type)
        if page.delivery_method is not None:
            query = query.where(o.c.delivery_method == page.delivery_method)
        if page.upcoming_after is not None:
            query = query.where(sa.or_(o.c.ends_at.is_(None),
                                       o.c.ends_at > page.upcoming_after))
        return self._many(query.order_by(o.c.starts_at, o.c.id)
                          .limit(page.limit).offset(page.offset))

    def of_creator(self, creator_id: UUID | None, limit: int, offset: int
                   ) -> Sequence[Offering]:
        o = offerings
        query = sa.select(o).where(o.c.deleted_at.is_(None))
        if creator_id is not None:
            query = query.where(o.c.creator_id == creator_id)
        return self._many(query.order_by(o.c.created_at.desc(), o.c.id.desc())
                          .limit(limit).offset(offset))

    def count_booking(self, offering_id: UUID, delta: int) -> None:
        # Every booking of the offering updates this one row: it goes with the commit
        # (`Executor.hold`), so its lock is held for the commit alone.
        self._execute.hold(_COUNT_BOOKING, {"offering_id": offering_id, "delta": delta})
        # A tracked copy keeps its old count: unchanged in it, the flush never writes it.


def _take(execute: Executor) -> Any:
    s = offering_sessions
    insert = execute.insert(s).values(
        **params(s, "id", "offering_id", "session_key", "starts_at", "ends_at", "capacity"),
        taken=1)
    return insert.on_conflict_do_update(
        index_elements=["offering_id", "session_key"],
        set_={"taken": s.c.taken + 1, "capacity": insert.excluded.capacity},
        where=sa.or_(insert.excluded.capacity.is_(None),
                     s.c.taken < insert.excluded.capacity)).returning(s.c.id)


_TAKE = OncePerDialect(_take)


class SqlSeatRepository:
    def __init__(self, execute: Executor, ids: IdGenerator) -> None:
        self._execute = execute
        self._ids = ids

    def take(self, *, offering_id: UUID, session_key: str, starts_at: datetime,
             ends_at: datetime, capacity: int | None) -> bool:
        if capacity is not None and capacity < 1:
            return False
        # One statement: the session's first seat makes its row, a later one takes the
        # row's lock, so concurrent takers of this session take turns (bounded by
        # lock_timeout); the condition and the CHECK make overbooking impossible.
        # Against the offering's capacity now (an edit may have changed it), which the
        # row then keeps; the CHECK holds it to the seats taken either way.
        return bool(self._execute.rows(_TAKE(self._execute), {
            "id": self._ids.new_id(), "offering_id": offering_id, "session_key": session_key,
            "starts_at": starts_at, "ends_at": ends_at, "capacity": capacity}))

    def release(self, *, offering_id: UUID, session_key: str) -> None:
        s = offering_sessions
        self._execute(sa.update(s).where(s.c.offering_id == offering_id,
                                         s.c.session_key == session_key, s.c.taken > 0)
                      .values(taken=s.c.taken - 1))

    def most_taken(self, offering_id: UUID, after: datetime) -> int:
        s = offering_sessions
        most = self._execute(sa.select(sa.func.coalesce(sa.func.max(s.c.taken), 0)).where(
            s.c.offering_id == offering_id, s.c.ends_at > after)).scalar_one()
        return int(most)

    def taken(self, offering_id: UUID, session_keys: Sequence[str]) -> dict[str, int]:
        if not session_keys:
            return {}
        s = offering_sessions
        rows = self._execute(sa.select(s.c.session_key, s.c.taken).where(
            s.c.offering_id == offering_id, s.c.session_key.in_(list(session_keys)))
        ).mappings()
        return {row["session_key"]: row["taken"] for row in rows}


def booking_row(b: Booking) -> dict[str, Any]:
    return {
        "id": b.id, "customer_id": b.customer_id, "offering_id": b.offering_id,
        "payment_method": b.paid_with.value, "amount_paid": b.amount_paid.amount,
        "credits_used": b.credits_used, "stripe_payment_intent_id": b.payment_intent_id,
        "booking_details": {**b.details, "currency": b.amount_paid.currency},
        "status": b.status.value, "canceled_at": b.canceled_at,
        "cancellation_reason": b.cancellation_reason, "session_key": b.session_key,
        "starts_at": b.starts_at, "ends_at": b.ends_at, "hold_expires_at": b.hold_expires_at,
        "created_at": b.created_at, "updated_at": b.updated_at,
        "saved_payment_method": b.saved_payment_method,
    }


def booking_from(r: sa.RowMapping) -> Booking:
    details = dict(r["booking_details"] or {})
    currency = details.pop("currency", "usd")
    return Booking(
        id=r["id"], customer_id=r["customer_id"], offering_id=r["offering_id"],
        paid_with=PaidWith(r["payment_method"]), session_key=r["session_key"],
        starts_at=r["starts_at"], ends_at=r["ends_at"], created_at=r["created_at"],
        updated_at=r["updated_at"], amount_paid=Money(r["amount_paid"], currency),
        credits_used=r["credits_used"], status=BookingStatus(r["status"]),
        payment_intent_id=r["stripe_payment_intent_id"], hold_expires_at=r["hold_expires_at"],
        canceled_at=r["canceled_at"], cancellation_reason=r["cancellation_reason"],
        details={str(k): str(v) for k, v in details.items()},
        saved_payment_method=r["saved_payment_method"],
    )


_ADD_BOOKING = OncePerDialect(lambda execute: (
    execute.insert(offering_bookings)
    .values(**params(offering_bookings, *(c.name for c in offering_bookings.c)))
    .on_conflict_do_nothing().returning(offering_bookings.c.id)))
_LIVE_FOR = sa.select(offering_bookings).where(
    *(offering_bookings.c[name] == value for name, value in params(
        offering_bookings, "customer_id", "offering_id", "session_key").items()),
    offering_bookings.c.status.in_(LIVE)).limit(1)


_BUSY = sa.select(offering_bookings.c.starts_at, offering_bookings.c.ends_at).where(
    offering_bookings.c.offering_id == sa.bindparam(
        "offering_id", type_=offering_bookings.c.offering_id.type),
    offering_bookings.c.status.in_(LIVE),
    offering_bookings.c.starts_at < sa.bindparam(
        "end", type_=offering_bookings.c.starts_at.type),
    offering_bookings.c.ends_at > sa.bindparam(
        "start", type_=offering_bookings.c.ends_at.type))


def _holds_several(key: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The seat pools whose bookings hold several sessions."""
    return sa.or_(key.in_(("series", "program")), key.startswith("cohort:"))


class SqlBookingRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[Booking] = Tracker(execute, offering_bookings, booking_row)

    def add(self, booking: Booking) -> None:
        row = booking_row(booking)
        # A live booking of the seat (a double click's) skips the row instead of failing
        # the statement: the transaction goes on without a SAVEPOINT around it.
        try:
            inserted = self._execute.rows(_ADD_BOOKING(self._execute), row)
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_offering_bookings_live_seat": _HELD,
                                        "offering_bookings.customer_id": _HELD}) from error
        if not inserted:
            raise _HELD
        self.tracker.track(booking.id, booking, row)

    def get(self, booking_id: UUID, *, lock: bool = False) -> Booking | None:
        return self.tracker.by_key(_BOOKING_BY_ID, booking_id, booking_from, lock=lock)

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Booking | None:
        return self.tracker.read(_BOOKING_BY_INTENT, intent_id, booking_from, lock=lock)

    def live_for(self, customer_id: UUID, offering_id: UUID, session_key: str
                 ) -> Booking | None:
        rows = self._execute.rows(_LIVE_FOR, {"customer_id": customer_id,
                                              "offering_id": offering_id,
                                              "session_key": session_key})
        return self.tracker.load(rows[0] if rows else None, booking_from, locked=False)

    def _many(self, query: sa.Select[Any]) -> list[Booking]:
        found = []
        for row in self._execute(query).mappings():
            known = self.tracker.get(row["id"])
            found.append(known or self.tracker.track(row["id"], booking_from(row)))
        return found

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Booking]:
        b = offering_bookings
        return self._many(sa.select(b).where(b.c.customer_id == customer_id)
                          .order_by(b.c.starts_at.desc(), b.c.id.desc())
                          .limit(limit).offset(offset))

    def for_offering(self, offering_id: UUID, limit: int, offset: int) -> Sequence[Booking]:
        b = offering_bookings
        return self._many(sa.select(b).where(b.c.offering_id == offering_id)
                          .order_by(b.c.starts_at, b.c.id).limit(limit).offset(offset))

    def busy(self, offering_id: UUID, start: datetime, end: datetime
             ) -> Sequence[tuple[datetime, datetime]]:
        # Every slot listing and 1:1 booking reads a window's bookings, hundreds of them
        # for a busy host: built once, and read as tuples.
        rows = self._execute.values(_BUSY, {"offering_id": offering_id, "start": start,
                                            "end": end})
        return [(starts_at, ends_at) for starts_at, ends_at in rows]

    def expired_holds(self, now: datetime, limit: int) -> Sequence[UUID]:
        b = offering_bookings
        return list(self._execute(sa.select(b.c.id).where(
            b.c.status == "pending", b.c.hold_expires_at <= now)
            .order_by(b.c.hold_expires_at).limit(limit)).scalars())

    def due_reminders(self, kind: str, start: datetime, end: datetime, limit: int
                      ) -> Sequence[UUID]:
        b, r = offering_bookings, booking_reminders
        sent = sa.exists(sa.select(1).where(r.c.booking_id == b.c.id, r.c.kind == kind))
        return list(self._execute(sa.select(b.c.id).where(
            b.c.status == "confirmed", b.c.starts_at > start, b.c.starts_at <= end, ~sent)
            .order_by(b.c.starts_at).limit(limit)).scalars())

    def in_session(self, offering_id: UUID, starts_at: datetime, limit: int, *,
                   lock: bool = False) -> Sequence[Booking]:
        b = offering_bookings
        query = (sa.select(b).where(b.c.offering_id == offering_id, b.c.starts_at == starts_at,
                                    b.c.status.in_(LIVE)).order_by(b.c.id).limit(limit))
        if not lock:
            return self._many(query)
        self.tracker.flush()
        found = (self.tracker.load(row, booking_from, locked=True)
                 for row in self._execute(query.with_for_update()).mappings())
        return [booking for booking in found if booking is not None]

    def with_later_sessions(self, start: datetime, end: datetime) -> Sequence[UUID]:
        b = offering_bookings
        return list(self._execute(sa.select(b.c.offering_id).distinct().where(
            b.c.status == "confirmed", _holds_several(b.c.session_key),
            b.c.starts_at < end, b.c.ends_at > start)).scalars())

    def due_session_reminders(self, offering_id: UUID, session_key: str,
                              session_start: datetime, kind: str, limit: int
                              ) -> Sequence[UUID]:
        b, r = offering_bookings, booking_reminders
        sent = sa.exists(sa.select(1).where(r.c.booking_id == b.c.id, r.c.kind == kind))
        return list(self._execute(sa.select(b.c.id).where(
            b.c.offering_id == offering_id, b.c.session_key == session_key,
            b.c.status == "confirmed", b.c.starts_at < session_start,
            b.c.ends_at > session_start, ~sent).order_by(b.c.id).limit(limit)).scalars())

    def claim_reminder(self, booking_id: UUID, kind: str, now: datetime) -> bool:
        # RETURNING, not rowcount: an INSERT's rowcount is -1 through psycopg here.
        claimed = self._execute(
            self._execute.insert(booking_reminders)
            .values(booking_id=booking_id, kind=kind, created_at=now)
            .on_conflict_do_nothing(index_elements=["booking_id", "kind"])
            .returning(booking_reminders.c.booking_id)).first()
        return claimed is not None

    def forget_reminders(self, booking_id: UUID) -> None:
        self._execute(sa.delete(booking_reminders).where(
            booking_reminders.c.booking_id == booking_id))

    def calendar_of(self, customer_id: UUID, since: datetime) -> Sequence[Booking]:
        b = offering_bookings
        return self._many(sa.select(b).where(b.c.customer_id == customer_id,
                                             b.c.ends_at > since,
                                             b.c.status.in_(("confirmed", "canceled",
                                                             "completed")))
                          .order_by(b.c.starts_at).limit(500))


class SqlCalendarFeedRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def replace(self, user_id: UUID, token_hash: str, *, id: UUID, now: datetime) -> None:
        self._execute(self._execute.insert(calendar_feeds)
                      .values(id=id, user_id=user_id, token_hash=token_hash, created_at=now)
                      .on_conflict_do_update(index_elements=["user_id"],
                                             set_={"token_hash": token_hash,
                                                   "created_at": now}))

    def revoke(self, user_id: UUID) -> bool:
        gone = self._execute(sa.delete(calendar_feeds).where(
            calendar_feeds.c.user_id == user_id))
        return bool(gone.rowcount)

    def user_for(self, token_hash: str) -> UUID | None:
        found: UUID | None = self._execute(sa.select(calendar_feeds.c.user_id).where(
            calendar_feeds.c.token_hash == token_hash)).scalar()
        return found


def _grant_portal(execute: Executor) -> Any:
    p = offering_portal_access
    insert = execute.insert(p).values(**params(p, "id", "booking_id", "user_id", "offering_id",
                                               "granted_at", "expires_at"))
    return insert.on_conflict_do_update(
        index_elements=["booking_id"],
        set_={"granted_at": insert.excluded.granted_at,
              "expires_at": insert.excluded.expires_at})


_GRANT_PORTAL = OncePerDialect(_grant_portal)


class SqlPortalRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def grant(self, access: PortalAccess, *, id: UUID) -> None:
        # Nothing reads it back in the booking's transaction: it goes with the commit.
        self._execute.hold(_GRANT_PORTAL(self._execute), {
            "id": id, "booking_id": access.booking_id, "user_id": access.user_id,
            "offering_id": access.offering_id, "granted_at": access.opens_at,
            "expires_at": access.expires_at})

    def revoke(self, booking_id: UUID) -> None:
        p = offering_portal_access
        self._execute(sa.delete(p).where(p.c.booking_id == booking_id))

    def of(self, user_id: UUID, offering_id: UUID) -> Sequence[PortalAccess]:
        p = offering_portal_access
        rows = self._execute(sa.select(p).where(p.c.user_id == user_id,
                                                p.c.offering_id == offering_id)
                             .order_by(p.c.granted_at)).mappings()
        return [PortalAccess(booking_id=r["booking_id"], user_id=r["user_id"],
                             offering_id=r["offering_id"], opens_at=r["granted_at"],
                             expires_at=r["expires_at"]) for r in rows]


def resource_row(r: Resource) -> dict[str, Any]:
    return {
        "id": r.id, "offering_id": r.offering_id, "resource_type": r.resource_type.value,
        "content_id": r.content_id, "file_url": r.file_key, "link_url": r.link_url,
        "text_content": r.text_content, "title": r.title, "description": r.description,
        "available_when": r.available_when.value, "unlock_at": r.unlock_at,
        "display_order": r.display_order, "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def resource_from(r: sa.RowMapping) -> Resource:
    return Resource(
        id=r["id"], offering_id=r["offering_id"], resource_type=ResourceType(r["resource_type"]),
        title=r["title"], created_at=r["created_at"], updated_at=r["updated_at"],
        content_id=r["content_id"], file_key=r["file_url"], link_url=r["link_url"],
        text_content=r["text_content"], description=r["description"],
        available_when=AvailableWhen(r["available_when"]), unlock_at=r["unlock_at"],
        display_order=r["display_order"])


class SqlResourceRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def add(self, resource: Resource) -> None:
        self._execute(sa.insert(offering_resources).values(**resource_row(resource)))

    def get(self, resource_id: UUID) -> Resource | None:
        row = self._execute(sa.select(offering_resources).where(
            offering_resources.c.id == resource_id)).mappings().first()
        return resource_from(row) if row else None

    def of_offering(self, offering_id: UUID) -> Sequence[Resource]:
        r = offering_resources
        return [resource_from(row) for row in self._execute(
            sa.select(r).where(r.c.offering_id == offering_id)
            .order_by(r.c.display_order, r.c.created_at, r.c.id)).mappings()]

    def save(self, resource: Resource) -> None:
        row = resource_row(resource)
        self._execute(sa.update(offering_resources)
                      .where(offering_resources.c.id == resource.id).values(**row))

    def remove(self, resource_id: UUID) -> None:
        self._execute(sa.delete(offering_resources)
                      .where(offering_resources.c.id == resource_id))


_IN_LINE = Conflict("You are already on the waiting list for this session.",
                    code="waitlist.exists")


def _entry(r: Mapping[Any, Any]) -> WaitlistEntry:
    return WaitlistEntry(id=r["id"], offering_id=r["offering_id"], customer_id=r["customer_id"],
                         session_key=r["session_key"], starts_at=r["starts_at"],
                         ends_at=r["ends_at"], status=r["status"], created_at=r["created_at"],
                         offered_until=r["offered_until"])


_w = offering_waitlist
_OFFER_FOR = sa.select(_w).where(
    *(_w.c[name] == value for name, value in params(
        _w, "customer_id", "offering_id", "session_key").items()),
    _w.c.status == "offered",
    _w.c.offered_until > sa.bindparam("now", type_=_w.c.offered_until.type),
).limit(1).with_for_update()


class SqlWaitlistRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def join(self, entry: WaitlistEntry) -> None:
        w = offering_waitlist
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(w).values(
                    id=entry.id, offering_id=entry.offering_id, customer_id=entry.customer_id,
                    session_key=entry.session_key, starts_at=entry.starts_at,
                    ends_at=entry.ends_at, status=entry.status, created_at=entry.created_at,
                    updated_at=entry.created_at))
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_offering_waitlist_live": _IN_LINE,
                                        "offering_waitlist.offering_id": _IN_LINE}) from error

    def first_waiting(self, offering_id: UUID, session_key: str) -> WaitlistEntry | None:
        w = offering_waitlist
        query = (sa.select(w).where(w.c.offering_id == offering_id,
                                    w.c.session_key == session_key, w.c.status == "waiting")
                 .order_by(w.c.created_at, w.c.id).limit(1))
        if self._execute.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = self._execute(query).mappings().first()
        return _entry(row) if row else None

    def set_status(self, entry_id: UUID, status: str, now: datetime,
                   offered_until: datetime | None = None) -> None:
        w = offering_waitlist
        self._execute(sa.update(w).where(w.c.id == entry_id).values(
            status=status, offered_until=offered_until, updated_at=now))

    def offer_for(self, customer_id: UUID, offering_id: UUID, session_key: str,
                  now: datetime) -> WaitlistEntry | None:
        # Asked by every booking: built once.
        rows = self._execute.rows(_OFFER_FOR, {"customer_id": customer_id,
                                               "offering_id": offering_id,
                                               "session_key": session_key, "now": now})
        return _entry(rows[0]) if rows else None

    def lapsed_offers(self, now: datetime, limit: int) -> Sequence[WaitlistEntry]:
        w = offering_waitlist
        return [_entry(r) for r in self._execute(sa.select(w).where(
            w.c.status == "offered", w.c.offered_until <= now)
            .order_by(w.c.offered_until).limit(limit)).mappings()]

    def of_customer(self, customer_id: UUID, entry_id: UUID) -> WaitlistEntry | None:
        w = offering_waitlist
        row = self._execute(sa.select(w).where(w.c.id == entry_id,
                                               w.c.customer_id == customer_id)
                            .with_for_update()).mappings().first()
        return _entry(row) if row else None

    def position(self, entry: WaitlistEntry) -> int:
        w = offering_waitlist
        ahead = self._execute(sa.select(sa.func.count()).select_from(w).where(
            w.c.offering_id == entry.offering_id, w.c.session_key == entry.session_key,
            w.c.status.in_(("waiting", "offered")),
            sa.or_(w.c.created_at < entry.created_at,
                   sa.and_(w.c.created_at == entry.created_at, w.c.id < entry.id)))
        ).scalar_one()
        return int(ahead) + 1
