from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from domain.events import DomainEvent


@attrs.frozen
class BookingConfirmed(DomainEvent):
    booking_id: UUID
    customer_id: UUID


@attrs.frozen
class BookingCanceled(DomainEvent):
    booking_id: UUID
    customer_id: UUID
    refunded_amount: str
    currency: str
    credits_returned: int
    seat_lost: bool  # the payment came after the last seat went


@attrs.frozen
class BookingAttended(DomainEvent):
    """The host marked the customer present (or changed a no-show to present)."""

    booking_id: UUID
    customer_id: UUID


@attrs.frozen
class BookingMissed(DomainEvent):
    """The host marked the customer absent."""

    booking_id: UUID
    customer_id: UUID


@attrs.frozen
class BookingRescheduled(DomainEvent):
    booking_id: UUID
    customer_id: UUID
    previous_start: datetime


@attrs.frozen
class BookingReminderDue(DomainEvent):
    booking_id: UUID
    customer_id: UUID
    kind: str  # "24h", "1h"
    # A later session of a booking that holds several (a series, a program's days, a
    # cohort's sessions); None: the booking's first.
    session_start: datetime | None = None


@attrs.frozen
class WaitlistSeatOffered(DomainEvent):
    entry_id: UUID
    customer_id: UUID
    offering_id: UUID
    starts_at: datetime
    offered_until: datetime


@attrs.frozen
class LatePaymentRefundDue(DomainEvent):
    booking_id: UUID
    customer_id: UUID
    seat_lost: bool
    # A later installment paid after its booking ended: that payment goes back.
    installment_id: UUID | None = None


@attrs.frozen
class InstallmentDeclined(DomainEvent):
    booking_id: UUID
    customer_id: UUID
    number: int
    amount: str
    currency: str
    retry_at: datetime  # when the card is tried again
