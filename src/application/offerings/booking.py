"""Booking a session: paid by purchase, included in a membership, or with credits.

The seat is taken first, in the same transaction as the booking and any credit
spend: ``seats.take`` counts it under a database CHECK with the session's row
locked (lock waits are bounded), so confirmed bookings never exceed the session's
capacity whatever runs in parallel. A bookable (1:1) offering's row is locked too
while a slot is checked against the other bookings and their buffers.

A purchase holds its seat while the payment is confirmed (``seat_hold_minutes``);
a hold that runs out is released, and a payment that succeeds after its seat went
to someone else is refunded at once, never overbooked.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from application.credits.ledger import refund_spend, spend_credits
from application.offerings.portals import sync_portal
from application.offerings.views import BookingView, view
from application.payouts.ledger import record_refund, record_sale, takes_back_transfer
from application.payouts.terms import terms_for, terms_from_details, transfer_for
from application.ports.payments import PaymentDeclined, PaymentEvent, RefundRecord
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.credits.ledger import CreditType
from domain.errors import Conflict, Forbidden, NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.memberships.subscription import Subscription
from domain.memberships.tier import RuleAccess
from domain.offerings.booking import Booking, BookingStatus, PaidWith
from domain.offerings.events import LatePaymentRefundDue
from domain.offerings.installments import InstallmentStatus, plan, split
from domain.offerings.offering import SERIES_KEY, Offering
from domain.offerings.policy import Outcome
from domain.offerings.schedules import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    CohortCourse,
    Occurrence,
    OfferingType,
    RecurringBookable,
)
from domain.payouts.earnings import ItemRef, SourceType
from domain.values import Money

log = logging.getLogger("patronage.bookings")
# A pending booking released without anyone choosing to cancel it (declined, failed,
# hold ran out) is marked so, apart from the free-text reason: a payment that succeeds
# later may still take its seat back.
RELEASED_MARK = "released"
IDEMPOTENCY_KEY_MAX = 200


class OfferingFull(Conflict):
    code = "offering.full"
    title = "No seats left"


@attrs.frozen(repr=False)
class BookOffering:
    actor: Principal
    offering_id: UUID
    payment_method: str  # purchase, subscription or credits
    starts_at: datetime | None = None  # the session or slot, where the type has several
    cohort: str | None = None  # a cohort course's start date
    card: str | None = None
    idempotency_key: str | None = None
    # Pay by purchase in the offering's monthly installments.
    installments: bool = False

    def __repr__(self) -> str:
        return (f"BookOffering(offering_id={self.offering_id}, "
                f"payment_method={self.payment_method})")


@attrs.frozen
class Booked:
    booking: Booking
    client_secret: str | None = None
    # The booking as its customer sees it, when the command already holds all of it (a
    # booking confirmed at once): the caller need not read it again.
    shown: BookingView | None = None


def session_for(uow: UnitOfWork, offering: Offering, zone: ZoneInfo, cmd: BookOffering,
             now: datetime, ignore: tuple[datetime, datetime] | None = None) -> Occurrence:
    """The session this booking is for; refuses one that is past or not offered.
    ``ignore``: a booking's own times, when it moves (it does not block itself)."""
    schedule = offering.schedule
    if cmd.starts_at is not None and not (
            EARLIEST_YEAR <= cmd.starts_at.year <= LATEST_YEAR):
        raise ValidationError("That is not one of this offering's sessions.",
                              code="booking.no_such_session", field="starts_at")
    if isinstance(schedule, RecurringBookable):
        if cmd.starts_at is None:
            raise ValidationError("Choose a slot: starts_at.", code="booking.slot_required",
                                  field="starts_at")
        window_start = cmd.starts_at - timedelta(days=1)
        taken = list(uow.bookings.busy(offering.id, window_start,
                                       cmd.starts_at + timedelta(days=2)))
        if ignore is not None and ignore in taken:
            taken.remove(ignore)
        free = schedule.free_slots(zone, cmd.starts_at, cmd.starts_at + timedelta(seconds=1),
                                   now, taken)
        if not free:
            offered = list(schedule.candidate_slots(zone, cmd.starts_at,
                                                    cmd.starts_at + timedelta(seconds=1)))
            if offered and offered[0].starts_at > now:
                raise OfferingFull("That slot is taken or outside the booking window.",
                                   code="booking.slot_unavailable")
            raise ValidationError("That is not one of this offering's slots.",
                                  code="booking.no_such_session", field="starts_at")
        return free[0]
    if isinstance(schedule, CohortCourse):
        chosen = next((c for c in schedule.cohorts if c.isoformat() == cmd.cohort), None)
        if chosen is None:
            raise ValidationError("Choose one of the cohorts (its start date).",
                                  code="booking.no_such_session", field="cohort")
        begins, ends = schedule.cohort_span(chosen, zone)
        return Occurrence(begins, ends, schedule.key(chosen))
    if offering.whole_series:
        if cmd.starts_at is not None:
            raise ValidationError("This class is booked as a whole series: leave out "
                                  "starts_at.", code="booking.whole_series",
                                  field="starts_at")
        first, last = schedule.span(zone)
        if first is None or last is None:
            raise ValidationError("This series has no end.", code="booking.no_such_session")
        return Occurrence(first, last, SERIES_KEY)
    if offering.offering_type in (OfferingType.MULTI_DAY_PROGRAM, OfferingType.RETREAT,
                                  OfferingType.ONE_TIME_EVENT):
        first, last = schedule.span(zone)
        if first is None or last is None:
            raise ValidationError("This offering has no dates.", code="booking.no_such_session")
        key = {OfferingType.MULTI_DAY_PROGRAM: "program",
               OfferingType.RETREAT: "retreat"}.get(offering.offering_type, first.isoformat())
        return Occurrence(first, last, key)
    if cmd.starts_at is None:
        raise ValidationError("Choose a session: starts_at.", code="booking.session_required",
                              field="starts_at")
    found = schedule.occurrences(zone, cmd.starts_at, cmd.starts_at + timedelta(seconds=1))
    if not found or found[0].starts_at != cmd.starts_at:
        raise ValidationError("That is not one of this offering's sessions.",
                              code="booking.no_such_session", field="starts_at")
    return found[0]


def _membership_price(uow: UnitOfWork, services: Services, customer_id: UUID,
                      offering: Offering) -> tuple[int, Subscription]:
    """Credits a member pays for this offering under their tier's rules (0: included)."""
    membership = uow.subscriptions.live_for(customer_id)
    if membership is None or not membership.is_member(services.clock.now()):
        raise Forbidden("Booking with a membership needs an active membership.",
                        code="booking.membership_required")
    tier = uow.tiers.get(membership.tier_id)
    rule = tier.rule_for(offering.id, offering.offering_type.value) if tier else None
    if rule is None:
        raise Forbidden("Your membership does not include this offering.",
                        code="booking.not_included")
    if rule.access is RuleAccess.FREE:
        return 0, membership
    cost = rule.credit_cost or offering.credit_cost
    if cost is None:
        raise Conflict("This offering has no credit cost.", code="booking.no_credit_cost")
    return cost, membership


def book_offering(cmd: BookOffering, uow: UnitOfWork, services: Services) -> Booked:
    user_id = cmd.actor.require_user()
    if not cmd.actor.email_verified:
        raise Forbidden("Confirm your email address before booking.",
                        code="booking.email_unverified")
    if cmd.idempotency_key is not None and not 0 < len(cmd.idempotency_key) <= \
            IDEMPOTENCY_KEY_MAX:
        raise ValidationError("Idempotency-Key must be 1 to 200 characters.",
                              code="request.idempotency_key")
    try:
        paid_with = PaidWith(cmd.payment_method)
    except ValueError:
        raise ValidationError("payment_method is purchase, subscription or credits.",
                              code="booking.payment_method", field="payment_method") from None
    now = services.clock.now()
    if cmd.idempotency_key:
        first = uow.ledger.key_resource(user_id, "booking", cmd.idempotency_key)
        if first is not None:
            earlier = uow.bookings.get(first)
            if earlier is None or earlier.offering_id != cmd.offering_id:
                raise Conflict("This Idempotency-Key was used for another booking.",
                               code="request.idempotency_key_reused")
            uow.rollback()
            return Booked(earlier)
    offering = uow.offerings.get(cmd.offering_id)
    if offering is None or not offering.is_live:
        raise NotFound("No such offering.", code="offering.not_found")
    if offering.registration_deadline is not None and now > offering.registration_deadline:
        raise Conflict("Registration has closed.", code="booking.registration_closed")
    zone = offering.zone(uow.settings.get().timezone)
    if isinstance(offering.schedule, RecurringBookable):
        # Slots overlap through their buffers: bookings of one bookable offering take
        # turns, so two customers can never hold overlapping slots.
        offering = uow.offerings.get(offering.id, lock=True) or offering
    session = session_for(uow, offering, zone, cmd, now)
    if session.starts_at <= now:
        raise Conflict("That session has started or is over.", code="booking.session_past")

    credits = 0
    amount = Money("0", offering.currency)
    sale_details: dict[str, str] = {}
    if paid_with is PaidWith.CREDITS:
        if offering.credit_cost is None:
            raise Conflict("This offering is not booked with credits.",
                           code="booking.credits_not_accepted")
        credits = offering.credit_cost
    elif paid_with is PaidWith.SUBSCRIPTION:
        credits, _ = _membership_price(uow, services, user_id, offering)
    else:
        if offering.price is None or offering.price.is_zero:
            raise Conflict("This offering is not sold for money.",
                           code="booking.not_for_sale")
        amount = offering.price
        # A media owner's offering is sold only once they can be paid; the split agreed
        # now holds for every payment of the booking.
        sale_details = terms_for(uow, offering.creator_id).as_details()
    plan_size = offering.payment_options.installments
    if cmd.installments:
        if paid_with is not PaidWith.PURCHASE or plan_size is None or \
                offering.price is None:
            raise Conflict("This offering is not paid in installments"
                           + (" (only by purchase)." if plan_size else "."),
                           code="booking.installments_unavailable")
        # The first installment is what is paid now; amount_paid grows with each paid.
        amount = split(offering.price, plan_size)[0]
    booking = Booking(
        id=services.ids.new_id(), customer_id=user_id, offering_id=offering.id,
        paid_with=paid_with, session_key=session.key, starts_at=session.starts_at,
        ends_at=session.ends_at, created_at=now, updated_at=now, amount_paid=amount,
        credits_used=credits,
        status=BookingStatus.PENDING if paid_with is PaidWith.PURCHASE
        else BookingStatus.CONFIRMED,
        hold_expires_at=(now + timedelta(minutes=offering.payment_options.seat_hold_minutes)
                         if paid_with is PaidWith.PURCHASE else None),
        details=({"session_title": session.title} if session.title else {})
        | ({"installments": str(plan_size)} if cmd.installments else {}) | sale_details)
    held = uow.bookings.live_for(user_id, offering.id, session.key)
    if held is not None:
        raise Conflict("You already hold a place in this session.", code="booking.exists",
                       details={"booking_id": str(held.id)})
    offer = uow.waitlist.offer_for(user_id, offering.id, session.key, now)
    if offer is not None:
        # The seat was held for this customer off the waiting list: it is theirs now.
        uow.waitlist.set_status(offer.id, "booked", now)
    elif not uow.seats.take(offering_id=offering.id, session_key=session.key,
                            starts_at=session.starts_at, ends_at=session.ends_at,
                            capacity=offering.seats_per_session):
        raise OfferingFull("This session is full.",
                           details={"waitlist": offering.payment_options.waitlist})
    uow.bookings.add(booking)
    if cmd.installments and plan_size is not None and offering.price is not None:
        uow.installments.add(plan(booking_id=booking.id, price=offering.price,
                                  count=plan_size, now=now,
                                  ids=[services.ids.new_id() for _ in range(plan_size)]))
    if credits:
        spend_credits(uow, services, customer_id=user_id, amount=credits,
                      booking_id=booking.id, description=f"Booking: {offering.title}")
    if booking.status is BookingStatus.CONFIRMED:
        booking.confirmed_now()
        sync_portal(uow, services, booking, offering)
    if cmd.idempotency_key:
        first = uow.ledger.remember_key(user_id, "booking", cmd.idempotency_key, booking.id,
                                        now)
        if first != booking.id:
            raise Conflict("This Idempotency-Key was used for another booking.",
                           code="request.idempotency_key_reused")
    # Every booking of the offering updates this one row: the repository sends it with
    # the commit, so its lock is held for as short a time as possible.
    uow.offerings.count_booking(offering.id, +1)
    # Of what this transaction read already (the offering, the platform's zone).
    shown = view(uow, booking) if paid_with is not PaidWith.PURCHASE else None
    uow.commit()
    if shown is not None:
        return Booked(booking, shown=shown)
    return _pay(booking.id, offering.title, cmd, services)


def _pay(booking_id: UUID, title: str, cmd: BookOffering, services: Services) -> Booked:
    gateway = services.payments
    with services.uow_factory() as uow:
        booking = uow.bookings.get(booking_id)
        user = uow.users.get(cmd.actor.require_user())
        if booking is None or user is None:
            raise NotFound("No such booking.", code="booking.not_found")
        customer_id = gateway.ensure_customer(user_id=user.id, email=user.email.value,
                                              existing_id=user.stripe_customer_id)
        if customer_id != user.stripe_customer_id:
            user.stripe_customer_id = customer_id
            uow.commit()
        first = (next(iter(uow.installments.of_booking(booking_id)), None)
                 if booking.in_installments else None)
    try:
        # The payment is keyed by the booking's id (or its first installment's): a retry
        # is the same payment.
        intent = gateway.create_payment(
            amount=booking.amount_paid, purchase_id=first.id if first else booking.id,
            customer_id=customer_id, payment_method=cmd.card, save_card=first is not None,
            description=f"Booking: {title}" + (" (installment 1)" if first else ""),
            transfer=transfer_for(booking.details, booking.amount_paid))
    except PaymentDeclined:
        with services.uow_factory() as uow:
            release_booking(uow, services, booking_id, "payment declined")
            uow.commit()
        raise
    event = gateway.inline_event(intent) if gateway.delivers_events_inline else None
    outcome = None
    with services.uow_factory() as uow:
        if event is not None:
            outcome = apply_booking_payment(uow, services, event)
        else:
            locked = uow.bookings.get(booking_id, lock=True)
            if locked is not None and locked.payment_intent_id is None:
                locked.payment_intent_id = intent.id
                locked.updated_at = services.clock.now()
        uow.commit()
        final = uow.bookings.get(booking_id)
    services.dispatch(uow.committed_outbox_ids)
    if final is None:
        raise NotFound("No such booking.", code="booking.not_found")
    if outcome in ("seat_lost", "refund_due"):
        raise Conflict("The booking ended before its payment arrived; the payment is being "
                       "refunded.", code="booking.canceled_meanwhile",
                       details={"booking_id": str(booking_id)})
    if final.status is BookingStatus.CANCELED:
        raise PaymentDeclined(f"The payment was declined ({intent.failure or 'declined'}).",
                              details={"booking_id": str(booking_id)})
    return Booked(final, intent.client_secret if not intent.succeeded else None)


def release_booking(uow: UnitOfWork, services: Services, booking_id: UUID, reason: str
                    ) -> bool:
    """Cancel a pending booking and give its seat back (declined, hold ran out)."""
    booking = uow.bookings.get(booking_id, lock=True)
    if booking is None or booking.status is not BookingStatus.PENDING:
        return False
    booking.cancel(services.clock.now(), reason)
    booking.details[RELEASED_MARK] = "payment"
    if booking.in_installments:
        for installment in uow.installments.of_booking(booking_id, lock=True):
            installment.cancel(services.clock.now())
    uow.seats.release(offering_id=booking.offering_id, session_key=booking.session_key)
    uow.offerings.count_booking(booking.offering_id, -1)
    offer_freed_seat(uow, services, booking.offering_id, booking.session_key)
    return True


def offer_freed_seat(uow: UnitOfWork, services: Services, offering_id: UUID,
                     session_key: str) -> bool:
    """Hold a seat that was just given back for the first person waiting for it (in the
    same transaction as the release, so nobody else can take it meanwhile). The hold
    counts as a taken seat: a seat is never offered to two people at once."""
    offering = uow.offerings.get(offering_id)
    if offering is None or not offering.payment_options.waitlist:
        return False
    now = services.clock.now()
    while (entry := uow.waitlist.first_waiting(offering_id, session_key)) is not None:
        if entry.starts_at <= now:
            uow.waitlist.set_status(entry.id, "expired", now)
            continue
        if not uow.seats.take(offering_id=offering_id, session_key=session_key,
                              starts_at=entry.starts_at, ends_at=entry.ends_at,
                              capacity=offering.seats_per_session):
            return False
        until = min(now + timedelta(minutes=offering.payment_options.waitlist_hold_minutes),
                    entry.starts_at)
        uow.waitlist.set_status(entry.id, "offered", now, until)
        offering.offer_seat(entry.id, entry.customer_id, entry.starts_at, until)
        return True
    return False


def apply_booking_payment(uow: UnitOfWork, services: Services, event: PaymentEvent) -> str:
    """A payment event for a booking (the caller has recorded the event id)."""
    booking = None
    if event.intent_id:
        booking = uow.bookings.get_by_intent(event.intent_id, lock=True)
    if booking is None and event.purchase_id is not None:
        booking = uow.bookings.get(event.purchase_id, lock=True)
        if booking is None:
            # A plan's first installment names the installment.
            first = uow.installments.get(event.purchase_id)
            if first is not None and first.number == 1:
                booking = uow.bookings.get(first.booking_id, lock=True)
    if booking is None or booking.paid_with is not PaidWith.PURCHASE:
        return "ignored"
    now = services.clock.now()
    if booking.payment_intent_id is None and event.intent_id:
        booking.payment_intent_id = event.intent_id
    outcome = _apply_to_booking(uow, services, booking, event, now)
    if outcome == "applied" and event.type == "payment_intent.succeeded" \
            and booking.in_installments:
        _first_installment_paid(uow, booking, event, now)
    return outcome


def _first_installment_paid(uow: UnitOfWork, booking: Booking, event: PaymentEvent,
                            now: datetime) -> None:
    """A plan's first payment confirmed its booking: it is paid, the card it was paid
    with is kept for the others, and (if the booking had been released meanwhile) the
    rest of the plan resumes."""
    installments = list(uow.installments.of_booking(booking.id, lock=True))
    if not installments:
        return
    installments[0].settle(event.intent_id, now)
    booking.saved_payment_method = event.payment_method or booking.saved_payment_method
    for later in installments[1:]:
        later.reopen(now)


def _apply_to_booking(uow: UnitOfWork, services: Services, booking: Booking,
                      event: PaymentEvent, now: datetime) -> str:
    if event.type == "payment_intent.payment_failed":
        release_booking(uow, services, booking.id, "payment failed")
        return "applied"
    if event.type != "payment_intent.succeeded":
        return "ignored"
    if event.amount is not None and event.amount != booking.amount_paid:
        log.error("payment %s for booking %s paid %s, expected %s: not confirmed; review it",
                  event.intent_id, booking.id, event.amount, booking.amount_paid)
        return "mismatch"
    # Money received, whatever becomes of the booking (a late payment is refunded, and
    # that refund is recorded against this sale).
    record_booking_sale(uow, services, booking, event.intent_id, booking.amount_paid,
                        SourceType.BOOKING, now)
    if booking.status is BookingStatus.PENDING:
        booking.confirm(now)
        offering = uow.offerings.get(booking.offering_id)
        if offering is not None:
            sync_portal(uow, services, booking, offering)
        return "applied"
    if booking.status is BookingStatus.CANCELED and booking.details.get(RELEASED_MARK) \
            != "payment":
        # Cancelled by the customer or the host before it was paid: the money goes back.
        booking.refund_late_payment(seat_lost=False)
        return "refund_due"
    if booking.status is BookingStatus.CANCELED:
        # Paid after the hold ran out: the seat is taken again if one is free (and the
        # customer has not booked the session again meanwhile); if not, the money goes
        # back and the customer is told why (never an overbooking).
        offering = uow.offerings.get(booking.offering_id)
        again = uow.bookings.live_for(booking.customer_id, booking.offering_id,
                                      booking.session_key)
        if offering is not None and again is None and uow.seats.take(
                offering_id=booking.offering_id, session_key=booking.session_key,
                starts_at=booking.starts_at, ends_at=booking.ends_at,
                capacity=offering.seats_per_session):
            booking.status = BookingStatus.PENDING
            booking.canceled_at = booking.cancellation_reason = None
            booking.details.pop(RELEASED_MARK, None)
            booking.confirm(now)
            uow.offerings.count_booking(booking.offering_id, +1)
            sync_portal(uow, services, booking, offering)
            return "applied"
        booking.refund_late_payment(seat_lost=True)
        return "seat_lost"
    return "ignored"


def record_booking_sale(uow: UnitOfWork, services: Services, booking: Booking,
                        intent_id: str | None, amount: Money, source: SourceType,
                        now: datetime) -> None:
    offering = uow.offerings.get(booking.offering_id)
    if offering is None or intent_id is None:
        return
    terms = terms_from_details(offering.creator_id, booking.details)
    record_sale(uow, services, seller_id=offering.creator_id, source=source,
                source_id=booking.id, item=ItemRef(offering_id=offering.id),
                payment_ref=intent_id, split=terms.split(amount),
                destination=terms.destination, at=now)


def refund_booking_payment(uow: UnitOfWork, services: Services, *, intent_id: str,
                           amount: Money, idempotency_key: str) -> RefundRecord:
    """Give a booking's payment back; a media owner's share of it comes back from their
    account. Recorded in ``uow``'s earnings ledger (the caller commits)."""
    refund = services.payments.refund(
        intent_id=intent_id, amount=amount, idempotency_key=idempotency_key,
        reverse_transfer=takes_back_transfer(uow, intent_id))
    record_refund(uow, services, intent_id, refund, services.clock.now())
    return refund


def refund_late_payment(event: LatePaymentRefundDue, uow: UnitOfWork, services: Services
                        ) -> None:
    """Give back a payment that came after its seat went (or after its booking was
    cancelled), and tell the customer. An outbox handler: recorded with the payment's
    event, retried until the provider has done it (the refund's key is the booking's, so
    a retry is the same refund)."""
    # The outbox message's claim keeps other workers away; the booking is locked only
    # after the provider has answered.
    if event.installment_id is not None:
        installment = uow.installments.get(event.installment_id)
        if installment is None or installment.payment_intent_id is None:
            return
        refund = refund_booking_payment(
            uow, services, intent_id=installment.payment_intent_id, amount=installment.amount,
            idempotency_key=f"booking-installment-late-{installment.id}")
        ended = uow.bookings.get(event.booking_id, lock=True)
        if ended is not None:
            ended.details[f"installment_{installment.number}_refunded"] = \
                str(refund.amount.amount)
            ended.updated_at = services.clock.now()
        return
    booking = uow.bookings.get(event.booking_id)
    if booking is None or booking.payment_intent_id is None \
            or booking.details.get("late_refund"):
        return
    refund = refund_booking_payment(uow, services, intent_id=booking.payment_intent_id,
                                    amount=booking.amount_paid,
                                    idempotency_key=f"booking-seat-lost-{booking.id}")
    locked = uow.bookings.get(event.booking_id, lock=True)
    if locked is not None:
        locked.late_payment_refunded(refund.amount, services.clock.now(),
                                     seat_lost=event.seat_lost)


@attrs.frozen
class ReleaseExpiredHolds:
    actor: Principal


def release_expired_holds(cmd: ReleaseExpiredHolds, uow: UnitOfWork, services: Services
                          ) -> int:
    """Give back the seats of purchases not paid in time (the worker runs this)."""
    uow.rollback()
    released = 0
    with services.uow_factory(read_only=True) as reader:
        expired = list(reader.bookings.expired_holds(services.clock.now(), 200))
    for booking_id in expired:
        with services.uow_factory() as writer:
            if release_booking(writer, services, booking_id, "seat hold expired"):
                writer.commit()
                released += 1
    return released


# --- cancelling -------------------------------------------------------------------------


def _as_customer_or_host(uow: UnitOfWork, actor: Principal, booking_id: UUID, *,
                         lock: bool = False) -> tuple[Booking, Offering, bool, bool]:
    """The booking, its offering, and whether the actor is its customer and/or its host
    (the offering's creator or an owner). To anyone else it does not exist."""
    booking = uow.bookings.get(booking_id, lock=lock)
    offering = uow.offerings.get(booking.offering_id) if booking else None
    if booking is None or offering is None:
        raise NotFound("No such booking.", code="booking.not_found")
    mine = booking.customer_id == actor.user_id
    staff = actor.may_manage(offering.creator_id, own=Permission.OFFERINGS_CREATE,
                             any_=Permission.BOOKINGS_MANAGE_ANY)
    if not mine and not staff:
        raise NotFound("No such booking.", code="booking.not_found")
    return booking, offering, mine, staff


@attrs.frozen
class CancelBooking:
    actor: Principal
    booking_id: UUID
    reason: str | None = None


@attrs.frozen
class Cancellation:
    view: BookingView
    outcome: Outcome
    refunded: Money | None
    credits_returned: int


def cancel_booking(cmd: CancelBooking, uow: UnitOfWork, services: Services) -> Cancellation:
    """The customer under the offering's policy; the offering's creator or an owner with
    a full refund (money or credits back) always."""
    booking, offering, mine, staff = _as_customer_or_host(uow, cmd.actor, cmd.booking_id)
    if not booking.is_live:
        raise Conflict("This booking is not active.", code="booking.not_active")
    now = services.clock.now()
    if mine and not staff:
        if booking.starts_at <= now:
            raise Conflict("The session has started; ask the host.",
                           code="booking.session_past")
        outcome = offering.payment_options.cancellation.outcome(booking.starts_at, now)
    else:
        outcome = Outcome.FULL_REFUND
    uow.rollback()
    refunded = None
    # A pending booking was never paid: nothing to give back (a payment that succeeds
    # after this cancellation is refunded when it arrives).
    if booking.status is BookingStatus.CONFIRMED and booking.paid_with is PaidWith.PURCHASE \
            and booking.payment_intent_id and (
            outcome is Outcome.FULL_REFUND or (outcome is Outcome.CREDIT_RETURN
                                               and offering.credit_cost is None)):
        # Money first, keyed by the booking: a retry after a failure here is the same
        # refund, and the booking is only cancelled once the money is on its way back.
        refunded = sum((r.amount for _, r in _refund_payments(uow, services, booking)),
                       Money("0", booking.amount_paid.currency))
    with services.uow_factory() as writer:
        locked = writer.bookings.get(booking.id, lock=True)
        if locked is None or not locked.is_live:
            raise Conflict("This booking is not active.", code="booking.not_active")
        returned = 0
        if outcome is not Outcome.NOTHING and locked.credits_used:
            spend = writer.credits.spend_for_booking(locked.id)
            if spend is not None and refund_spend(writer, services, spend_id=spend.id,
                                                  description="Booking cancelled"):
                returned = locked.credits_used
        elif (outcome is Outcome.CREDIT_RETURN and locked.paid_with is PaidWith.PURCHASE
              and offering.credit_cost):
            # A paid booking cancelled for credits: its credit_cost, as earned credits.
            ledger = writer.credits.load(locked.customer_id)
            ledger.earn(services.ids.new_id, CreditType.EARNED_PURCHASE, offering.credit_cost,
                        now, description=f"Cancelled booking: {offering.title}",
                        source_key=f"booking-cancel:{locked.id}")
            writer.credits.save(ledger)
            returned = offering.credit_cost
        locked.cancel(now, cmd.reason or ("cancelled by the host" if not mine
                                          else "cancelled by the customer"),
                      refunded=refunded, credits_returned=returned)
        # What the plan has not charged yet never will be (a charge already under way
        # is refunded when its payment arrives).
        for installment in (writer.installments.of_booking(locked.id, lock=True)
                            if locked.in_installments else ()):
            if installment.status is InstallmentStatus.SCHEDULED:
                installment.cancel(now)
        writer.seats.release(offering_id=locked.offering_id, session_key=locked.session_key)
        writer.offerings.count_booking(locked.offering_id, -1)
        sync_portal(writer, services, locked, offering)
        offer_freed_seat(writer, services, locked.offering_id, locked.session_key)
        writer.commit()
        shown = view(writer, locked)
    services.dispatch(writer.committed_outbox_ids)
    return Cancellation(shown, outcome, refunded, returned)


def _refund_payments(uow: UnitOfWork, services: Services, booking: Booking
                     ) -> list[tuple[str, RefundRecord]]:
    """Give back what a booking was paid: its one payment, or each installment paid (a
    media owner's share of each from their account)."""
    payments = [(i.payment_intent_id, i.amount, f"booking-cancel-{booking.id}-{i.number}")
                for i in (uow.installments.of_booking(booking.id)
                          if booking.in_installments else ())
                if i.status is InstallmentStatus.PAID and i.payment_intent_id]
    if not payments and booking.payment_intent_id:
        payments = [(booking.payment_intent_id, booking.amount_paid,
                     f"booking-cancel-{booking.id}")]
    asks = [(intent_id, amount, key, takes_back_transfer(uow, intent_id))
            for intent_id, amount, key in payments]
    uow.rollback()  # no transaction open while the provider is asked
    done = [(intent_id, services.payments.refund(intent_id=intent_id, amount=amount,
                                                 idempotency_key=key, reverse_transfer=back))
            for intent_id, amount, key, back in asks]
    # Into the earnings ledger at once, in a transaction of its own: the money has gone
    # back whatever happens to the booking next.
    with services.uow_factory() as ledger:
        for intent_id, refund in done:
            record_refund(ledger, services, intent_id, refund, services.clock.now())
        ledger.commit()
    return done


# --- rescheduling -----------------------------------------------------------------------


@attrs.frozen
class RescheduleBooking:
    actor: Principal
    booking_id: UUID
    starts_at: datetime | None = None
    cohort: str | None = None


def reschedule_booking(cmd: RescheduleBooking, uow: UnitOfWork, services: Services
                       ) -> BookingView:
    """Move a confirmed booking to another session or slot of the same offering, with
    the same payment: the new seat is taken before the old one is given back, in one
    transaction, so the customer never holds both and never loses both. Customers may
    move while their policy's early-cancellation window is open; hosts any time."""
    booking, offering, mine, staff = _as_customer_or_host(uow, cmd.actor, cmd.booking_id,
                                                          lock=True)
    if booking.status is not BookingStatus.CONFIRMED:
        raise Conflict("Only a confirmed booking can be moved.", code="booking.not_active")
    now = services.clock.now()
    policy = offering.payment_options.cancellation
    if mine and not staff and booking.starts_at - now < timedelta(hours=policy.hours_before):
        raise Conflict(f"Bookings move up to {policy.hours_before} hours before the start.",
                       code="booking.reschedule_closed")
    if isinstance(offering.schedule, RecurringBookable):
        offering = uow.offerings.get(offering.id, lock=True) or offering
    zone = offering.zone(uow.settings.get().timezone)
    target = session_for(uow, offering, zone, BookOffering(
        actor=cmd.actor, offering_id=offering.id, payment_method=booking.paid_with.value,
        starts_at=cmd.starts_at, cohort=cmd.cohort), now,
        ignore=(booking.starts_at, booking.ends_at))
    if target.key == booking.session_key:
        raise Conflict("That is the session already booked.", code="booking.same_session")
    if target.starts_at <= now:
        raise Conflict("That session has started or is over.", code="booking.session_past")
    if uow.bookings.live_for(booking.customer_id, offering.id, target.key) is not None:
        raise Conflict("You already hold a place in that session.", code="booking.exists")
    if not uow.seats.take(offering_id=offering.id, session_key=target.key,
                          starts_at=target.starts_at, ends_at=target.ends_at,
                          capacity=offering.seats_per_session):
        raise OfferingFull("That session is full.")
    uow.seats.release(offering_id=offering.id, session_key=booking.session_key)
    offer_freed_seat(uow, services, offering.id, booking.session_key)
    booking.move(target.key, target.starts_at, target.ends_at, now)
    uow.bookings.forget_reminders(booking.id)
    sync_portal(uow, services, booking, offering)
    uow.commit()
    return view(uow, booking)

