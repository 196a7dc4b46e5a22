"""The installments of bookings paid monthly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.statements import read_by
from adapters.sqlalchemy.tables import booking_installments, offering_bookings
from domain.offerings.installments import STALE_CHARGE, Installment, InstallmentStatus
from domain.values import Money


def installment_row(i: Installment) -> dict[str, Any]:
    return {
        "id": i.id, "booking_id": i.booking_id, "number": i.number,
        "amount": i.amount.amount, "currency": i.amount.currency, "due_at": i.due_at,
        "status": i.status.value, "attempts": i.attempts,
        "stripe_payment_intent_id": i.payment_intent_id, "paid_at": i.paid_at,
        "updated_at": i.updated_at,
    }


def installment_from(r: sa.RowMapping) -> Installment:
    return Installment(
        id=r["id"], booking_id=r["booking_id"], number=r["number"],
        amount=Money(r["amount"], r["currency"]), due_at=r["due_at"],
        updated_at=r["updated_at"], status=InstallmentStatus(r["status"]),
        attempts=r["attempts"], payment_intent_id=r["stripe_payment_intent_id"],
        paid_at=r["paid_at"])


# Asked by every payment event that is not a purchase's: built once.
_BY_INTENT = read_by(booking_installments.c.stripe_payment_intent_id)


class SqlInstallmentRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[Installment] = Tracker(execute, booking_installments,
                                                     installment_row)

    def add(self, installments: Sequence[Installment]) -> None:
        rows = [installment_row(i) | {"created_at": i.updated_at} for i in installments]
        if rows:
            self._execute(sa.insert(booking_installments), rows)
        for installment, row in zip(installments, rows, strict=True):
            row.pop("created_at")
            self.tracker.track(installment.id, installment, row)

    def _many(self, query: sa.Select[Any], lock: bool) -> list[Installment]:
        if lock:
            self.tracker.flush()  # see Tracker.load
            query = query.with_for_update()
        found = (self.tracker.load(row, installment_from, locked=lock)
                 for row in self._execute(query).mappings())
        return [installment for installment in found if installment is not None]

    def get(self, installment_id: UUID, *, lock: bool = False) -> Installment | None:
        i = booking_installments
        found = self._many(sa.select(i).where(i.c.id == installment_id), lock)
        return found[0] if found else None

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Installment | None:
        return self.tracker.read(_BY_INTENT, intent_id, installment_from, lock=lock)

    def of_booking(self, booking_id: UUID, *, lock: bool = False) -> Sequence[Installment]:
        i = booking_installments
        return self._many(sa.select(i).where(i.c.booking_id == booking_id)
                          .order_by(i.c.number), lock)

    def due(self, now: datetime, limit: int) -> Sequence[UUID]:
        i, b = booking_installments, offering_bookings
        ready = sa.or_(sa.and_(i.c.status == "scheduled", i.c.due_at <= now),
                       sa.and_(i.c.status == "charging", i.c.updated_at <= now - STALE_CHARGE))
        return list(self._execute(
            sa.select(i.c.id).join(b, b.c.id == i.c.booking_id)
            .where(ready, i.c.status.in_(("scheduled", "charging")),
                   b.c.status == "confirmed")
            .order_by(i.c.due_at).limit(limit)).scalars())
