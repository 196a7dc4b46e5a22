"""The later installments of bookings paid monthly: charged by the worker when due.

An installment is claimed in its own short transaction (``scheduled`` → ``charging``,
with its booking's row locked, so a cancellation and a charge never interleave), then
charged off-session on the card saved with the first installment, outside any
transaction, with an idempotency key per attempt. The provider's answer is applied at
once (paid, or declined); a charge still processing is settled by its webhook. A claim
left unanswered (a worker stopped mid-charge) is taken again after an hour: the charge
is looked up if its id was kept, else sent again with the same attempt's key (which
the provider keeps for at least a day), so it is never made twice. A declined
installment is tried again after three days; the third decline ends the plan and
cancels the booking (its seat and portal go, nothing paid is refunded). A payment that
arrives after the booking ended is refunded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

import attrs

from application.offerings.booking import offer_freed_seat, record_booking_sale
from application.offerings.portals import sync_portal
from application.payouts.terms import transfer_for
from application.ports.payments import GatewayUnavailable, PaymentDeclined, PaymentEvent
from application.ports.payouts import Transfer
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.offerings.booking import Booking, BookingStatus
from domain.offerings.installments import Installment, InstallmentStatus
from domain.payouts.earnings import SourceType
from domain.values import Money

log = logging.getLogger("patronage.bookings")
BATCH = 100
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
# A plan keeps being charged after its sessions are over.
OWING = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


@attrs.frozen
class ChargeDueInstallments:
    actor: Principal


@attrs.frozen
class InstallmentReport:
    paid: int = 0
    declined: int = 0
    plans_failed: int = 0


@attrs.frozen
class _Claim:
    id: UUID
    number: int
    amount: Money
    attempt: int
    customer_ref: str | None
    card: str | None  # None: no saved card, a decline
    title: str
    intent_id: str | None  # a charge sent before, still unanswered
    transfer: Transfer | None = None  # a media owner's share, on the booking's terms


def charge_due_installments(cmd: ChargeDueInstallments, uow: UnitOfWork, services: Services
                            ) -> InstallmentReport:
    uow.rollback()
    now = services.clock.now()
    with services.uow_factory(read_only=True) as reader:
        due = list(reader.installments.due(now, BATCH))
    paid = declined = failed = 0
    for installment_id in due:
        claim = _claim(services, installment_id, now)
        if claim is None:
            continue
        try:
            if claim.intent_id is not None:
                # Charged before and never answered: ask about that charge rather than
                # sending it again.
                intent = services.payments.retrieve_payment(claim.intent_id)
            elif claim.card is None or claim.customer_ref is None:
                intent = None
            else:
                intent = services.payments.charge_saved(
                    amount=claim.amount, purchase_id=claim.id,
                    customer_id=claim.customer_ref, payment_method=claim.card,
                    attempt=claim.attempt, transfer=claim.transfer,
                    description=f"Booking: {claim.title} (installment {claim.number})")
        except PaymentDeclined:
            intent = None
        except GatewayUnavailable:
            # Left claimed: asked about again (or sent again with the same attempt's
            # key) once the claim is stale.
            log.warning("installment %s not charged: the provider is unavailable", claim.id)
            continue
        at = services.clock.now()
        with services.uow_factory() as writer:
            if intent is not None and intent.succeeded:
                outcome = _paid(writer, services, intent.id, intent.amount, claim.id, at)
            elif intent is None or intent.status not in ("processing",
                                                         "requires_confirmation"):
                # Declined, or wanting the customer (who is not there): a decline.
                outcome = _declined(writer, services, claim.id, at)
            else:
                outcome = "waiting"  # for the provider's event
                charged = writer.installments.get(claim.id, lock=True)
                if charged is not None and charged.payment_intent_id is None:
                    charged.payment_intent_id = intent.id
                    charged.updated_at = at
            writer.commit()
        services.dispatch(writer.committed_outbox_ids)
        paid += outcome == "applied"
        declined += outcome in ("declined", "plan_failed")
        failed += outcome == "plan_failed"
    return InstallmentReport(paid=paid, declined=declined, plans_failed=failed)


def _claim(services: Services, installment_id: UUID, now: datetime) -> _Claim | None:
    with services.uow_factory() as uow:
        booking, installment = _locked(uow, installment_id)
        if booking is None or installment is None:
            return None
        if booking.status not in OWING:
            installment.cancel(now)
            uow.commit()
            return None
        customer = uow.users.get(booking.customer_id)
        offering = uow.offerings.get(booking.offering_id)
        if not installment.claim(now):
            return None
        uow.commit()
    customer_ref = customer.stripe_customer_id if customer else None
    card = booking.saved_payment_method if customer_ref else None
    if card is None:
        # Nothing to charge: counts as a decline, so the plan ends after the retries.
        log.error("installment %s of booking %s has no saved card", installment.id, booking.id)
    return _Claim(id=installment.id, number=installment.number, amount=installment.amount,
                  attempt=installment.attempts, customer_ref=customer_ref, card=card,
                  title=offering.title if offering else "booking",
                  intent_id=installment.payment_intent_id,
                  transfer=transfer_for(booking.details, installment.amount))


def _locked(uow: UnitOfWork, installment_id: UUID
            ) -> tuple[Booking, Installment] | tuple[None, None]:
    """The installment and its booking, the booking locked first (the order every
    path takes)."""
    seen = uow.installments.get(installment_id)
    booking = uow.bookings.get(seen.booking_id, lock=True) if seen else None
    installment = uow.installments.get(installment_id, lock=True)
    if booking is None or installment is None:
        return None, None
    return booking, installment


def _declined(uow: UnitOfWork, services: Services, installment_id: UUID, now: datetime
              ) -> str:
    booking, installment = _locked(uow, installment_id)
    if booking is None or installment is None:
        return "ignored"
    if installment.status is not InstallmentStatus.CHARGING:
        return "ignored"  # already settled or declined (an event after an inline answer)
    if booking.status not in OWING:
        installment.cancel(now)
        return "ignored"
    if not installment.decline(now):
        booking.installment_declined(installment.number, installment.amount,
                                     installment.due_at)
        return "declined"
    _end_plan(uow, services, booking, now)
    return "plan_failed"


def _end_plan(uow: UnitOfWork, services: Services, booking: Booking, now: datetime) -> None:
    """The third decline: the booking is cancelled (what was paid stays paid) and
    nothing more is charged."""
    for later in uow.installments.of_booking(booking.id, lock=True):
        later.cancel(now)
    log.warning("booking %s: installments not paid, booking cancelled", booking.id)
    if booking.status is not BookingStatus.CONFIRMED:
        return  # its sessions are over: nothing to release
    booking.cancel(now, "installments not paid")
    uow.seats.release(offering_id=booking.offering_id, session_key=booking.session_key)
    uow.offerings.count_booking(booking.offering_id, -1)
    offering = uow.offerings.get(booking.offering_id)
    if offering is not None:
        sync_portal(uow, services, booking, offering)
    offer_freed_seat(uow, services, booking.offering_id, booking.session_key)


def apply_installment_payment(uow: UnitOfWork, services: Services, event: PaymentEvent
                              ) -> str | None:
    """A payment event for a plan's second or later installment; None when the event
    is not one (the first installment is the booking's own payment)."""
    found = None
    if event.intent_id:
        found = uow.installments.get_by_intent(event.intent_id)
    if found is None and event.purchase_id is not None:
        found = uow.installments.get(event.purchase_id)
    if found is None or found.number == 1:
        return None
    now = services.clock.now()
    if event.type == FAILED:
        return _declined(uow, services, found.id, now)
    if event.type != SUCCEEDED:
        return "ignored"
    return _paid(uow, services, event.intent_id, event.amount, found.id, now)


def _paid(uow: UnitOfWork, services: Services, intent_id: str | None, amount: Money | None,
          installment_id: UUID, now: datetime) -> str:
    booking, installment = _locked(uow, installment_id)
    if booking is None or installment is None:
        return "ignored"
    if amount is not None and amount != installment.amount:
        log.error("payment %s for installment %s paid %s, expected %s: not applied; "
                  "review it", intent_id, installment.id, amount, installment.amount)
        return "mismatch"
    if not installment.settle(intent_id, now):
        return "ignored"
    record_booking_sale(uow, services, booking, intent_id, installment.amount,
                        SourceType.INSTALLMENT, now)
    booking.amount_paid = booking.amount_paid + installment.amount
    booking.updated_at = now
    if booking.status is BookingStatus.CANCELED:
        booking.refund_installment(installment.id)
    return "applied"
