"""Paying a booking in monthly installments.

The first installment is paid when the customer books (it confirms the booking like a
one-off payment); the others are charged, off-session, on the card saved with the
first, one month apart. Amounts are equal to the minor unit; the first carries the
remainder, so they always add up to the price. A declined installment is tried again
after ``RETRY_AFTER``; after ``MAX_ATTEMPTS`` declines the plan has failed and the
booking is cancelled.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from uuid import UUID

import attrs

from domain.memberships.periods import add_months
from domain.values import Money, currency_exponent

MIN_INSTALLMENTS = 2
MAX_INSTALLMENTS = 12
RETRY_AFTER = timedelta(days=3)
MAX_ATTEMPTS = 3
# A charge claimed by a worker that then stopped is charged again (with the same
# attempt's idempotency key, so never twice) once it has been this long unanswered.
STALE_CHARGE = timedelta(hours=1)


class InstallmentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # waiting for its due date (or for a retry)
    CHARGING = "charging"  # claimed by a worker; the provider has been or is being asked
    PAID = "paid"
    FAILED = "failed"  # declined MAX_ATTEMPTS times: the plan failed
    CANCELED = "canceled"  # the booking ended first: never charged


def split(price: Money, count: int) -> list[Money]:
    """``count`` amounts adding up to ``price``: equal to the minor unit, the first
    carrying the remainder (100.00 in 3: 33.34, 33.33, 33.33)."""
    if not MIN_INSTALLMENTS <= count <= MAX_INSTALLMENTS:
        raise ValueError(f"installments are {MIN_INSTALLMENTS} to {MAX_INSTALLMENTS}")
    unit = Decimal(1).scaleb(-currency_exponent(price.currency))
    each = (price.amount / count).quantize(unit, rounding=ROUND_DOWN)
    first = price.amount - each * (count - 1)
    return [Money(first, price.currency)] + [Money(each, price.currency)] * (count - 1)


@attrs.define
class Installment:
    id: UUID
    booking_id: UUID
    number: int  # 1 is paid when booking
    amount: Money
    due_at: datetime
    updated_at: datetime
    status: InstallmentStatus = InstallmentStatus.SCHEDULED
    attempts: int = 0
    payment_intent_id: str | None = None
    paid_at: datetime | None = None

    def claim(self, now: datetime) -> bool:
        """Take it for a charge (a worker); a charge left unanswered for STALE_CHARGE
        is taken again as the same attempt."""
        if self.status is InstallmentStatus.CHARGING:
            if now - self.updated_at < STALE_CHARGE:
                return False
            self.updated_at = now
            return True
        if self.status is not InstallmentStatus.SCHEDULED or self.due_at > now:
            return False
        self.status = InstallmentStatus.CHARGING
        self.attempts += 1
        self.updated_at = now
        return True

    def settle(self, intent_id: str | None, now: datetime) -> bool:
        """Paid (even if it had been cancelled or given up meanwhile: the money came,
        and the caller gives it back if the booking has ended). True the first time."""
        if self.status is InstallmentStatus.PAID:
            return False
        self.status = InstallmentStatus.PAID
        self.payment_intent_id = intent_id or self.payment_intent_id
        self.paid_at = self.updated_at = now
        return True

    def decline(self, now: datetime) -> bool:
        """A charge was declined: tried again later, or (returns True) the plan failed."""
        if self.status is not InstallmentStatus.CHARGING:
            return False
        if self.attempts >= MAX_ATTEMPTS:
            self.status = InstallmentStatus.FAILED
            self.updated_at = now
            return True
        self.status = InstallmentStatus.SCHEDULED
        self.due_at = now + RETRY_AFTER
        self.updated_at = now
        return False

    def reopen(self, now: datetime) -> bool:
        """Its booking was released before the first payment arrived, then taken back
        by that payment: the plan resumes (only installments never tried)."""
        if self.status is not InstallmentStatus.CANCELED or self.attempts:
            return False
        self.status = InstallmentStatus.SCHEDULED
        self.updated_at = now
        return True

    def cancel(self, now: datetime) -> bool:
        if self.status not in (InstallmentStatus.SCHEDULED, InstallmentStatus.CHARGING):
            return False
        self.status = InstallmentStatus.CANCELED
        self.updated_at = now
        return True


def plan(*, booking_id: UUID, price: Money, count: int, now: datetime, ids: list[UUID]
         ) -> list[Installment]:
    """The installments of a booking made ``now``: the first due now, then monthly."""
    amounts = split(price, count)
    if len(ids) != count:
        raise ValueError("one id per installment")
    return [Installment(id=ids[n], booking_id=booking_id, number=n + 1, amount=amount,
                        due_at=add_months(now, n), updated_at=now)
            for n, amount in enumerate(amounts)]
