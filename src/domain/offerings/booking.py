"""The Booking: one customer's seat in one session of an offering, and how it was paid."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from domain.errors import Conflict
from domain.events import Aggregate
from domain.offerings.events import (
    BookingAttended,
    BookingCanceled,
    BookingConfirmed,
    BookingMissed,
    BookingReminderDue,
    BookingRescheduled,
    InstallmentDeclined,
    LatePaymentRefundDue,
)
from domain.values import Money


class BookingStatus(enum.StrEnum):
    PENDING = "pending"  # a seat held while the payment is confirmed
    CONFIRMED = "confirmed"
    CANCELED = "canceled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class PaidWith(enum.StrEnum):
    PURCHASE = "purchase"
    SUBSCRIPTION = "subscription"
    CREDITS = "credits"


LIVE = frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED})


class BookingStateError(Conflict):
    code = "booking.invalid_state"


@attrs.define
class Booking(Aggregate):
    id: UUID
    customer_id: UUID
    offering_id: UUID
    paid_with: PaidWith
    session_key: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    amount_paid: Money
    credits_used: int = 0
    status: BookingStatus = BookingStatus.CONFIRMED
    payment_intent_id: str | None = None
    hold_expires_at: datetime | None = None
    canceled_at: datetime | None = None
    cancellation_reason: str | None = None
    details: dict[str, str] = attrs.field(factory=dict)
    # Paid in installments: the provider's reference to the card saved with the first.
    saved_payment_method: str | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    @property
    def in_installments(self) -> bool:
        """Paid in monthly installments (their number is kept in ``details``)."""
        return "installments" in self.details

    def confirm(self, now: datetime) -> bool:
        if self.status is not BookingStatus.PENDING:
            return False
        self.status = BookingStatus.CONFIRMED
        self.hold_expires_at = None
        self.updated_at = now
        self.record(BookingConfirmed(self.id, self.customer_id))
        return True

    def confirmed_now(self) -> None:
        """A booking confirmed as it was made (credits, membership): announce it."""
        self.record(BookingConfirmed(self.id, self.customer_id))

    def cancel(self, now: datetime, reason: str | None, *, refunded: Money | None = None,
               credits_returned: int = 0, seat_lost: bool = False) -> bool:
        if self.status not in LIVE:
            return False
        was_pending = self.status is BookingStatus.PENDING
        self.status = BookingStatus.CANCELED
        self.canceled_at = now
        self.cancellation_reason = reason
        self.hold_expires_at = None
        self.updated_at = now
        if not was_pending or seat_lost:
            self.record(BookingCanceled(
                self.id, self.customer_id, str(refunded.amount) if refunded else "0",
                refunded.currency if refunded else self.amount_paid.currency,
                credits_returned, seat_lost))
        return True

    def remind(self, kind: str, session_start: datetime | None = None) -> None:
        self.record(BookingReminderDue(self.id, self.customer_id, kind, session_start))

    def move(self, session_key: str, starts_at: datetime, ends_at: datetime, now: datetime
             ) -> None:
        if self.status is not BookingStatus.CONFIRMED:
            raise BookingStateError("Only a confirmed booking can be moved.",
                                    code="booking.not_active")
        previous = self.starts_at
        self.session_key, self.starts_at, self.ends_at = session_key, starts_at, ends_at
        self.updated_at = now
        self.record(BookingRescheduled(self.id, self.customer_id, previous))

    def refund_late_payment(self, *, seat_lost: bool) -> None:
        """A payment arrived for this cancelled booking: it must go back."""
        self.record(LatePaymentRefundDue(self.id, self.customer_id, seat_lost))

    def installment_declined(self, number: int, amount: Money, retry_at: datetime) -> None:
        """A later installment was declined and will be tried again: tell the customer."""
        self.record(InstallmentDeclined(self.id, self.customer_id, number,
                                        str(amount.amount), amount.currency, retry_at))

    def refund_installment(self, installment_id: UUID) -> None:
        """An installment was paid after this booking ended: it must go back."""
        self.record(LatePaymentRefundDue(self.id, self.customer_id, False, installment_id))

    def late_payment_refunded(self, refunded: Money, now: datetime, *, seat_lost: bool
                              ) -> bool:
        """A payment arrived after the seat went (or the booking was cancelled) and was
        refunded. True the first time."""
        if self.status is not BookingStatus.CANCELED or self.details.get("late_refund"):
            return False
        self.details["late_refund"] = str(refunded.amount)
        if seat_lost:
            self.details["seat_lost"] = str(refunded.amount)
            self.cancellation_reason = "paid after the last seat went; refunded"
        self.updated_at = now
        self.record(BookingCanceled(self.id, self.customer_id, str(refunded.amount),
                                    refunded.currency, 0, seat_lost))
        return True

    def mark(self, status: BookingStatus, now: datetime) -> None:
        if status not in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW):
            raise BookingStateError("Mark a booking completed or no_show.",
                                    code="booking.mark")
        if self.status not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED,
                               BookingStatus.NO_SHOW):
            raise BookingStateError("Only a confirmed booking can be marked.",
                                    code="booking.not_confirmed")
        if self.status is status:
            return
        self.status = status
        self.updated_at = now
        marked = BookingAttended if status is BookingStatus.COMPLETED else BookingMissed
        self.record(marked(self.id, self.customer_id))

    @property
    def paid(self) -> bool:
        return self.amount_paid.amount > Decimal(0)
