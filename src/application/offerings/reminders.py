"""Reminders before each booked session (24 hours and 1 hour before, by default).

Each is claimed with a row whose key is (booking, kind) in the same transaction as
the outbox message that sends it: any number of workers may run this at once, and
each reminder is sent exactly once.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.offerings.booking import BookingStatus

REMINDERS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}
BATCH = 200


@attrs.frozen
class SendDueReminders:
    actor: Principal


def send_due_reminders(cmd: SendDueReminders, uow: UnitOfWork, services: Services) -> int:
    uow.rollback()
    now = services.clock.now()
    sent = 0
    for kind, ahead in REMINDERS.items():
        with services.uow_factory(read_only=True) as reader:
            due = list(reader.bookings.due_reminders(kind, now, now + ahead, BATCH))
        for booking_id in due:
            with services.uow_factory() as writer:
                booking = writer.bookings.get(booking_id, lock=True)
                if booking is None or booking.status is not BookingStatus.CONFIRMED:
                    continue
                if not writer.bookings.claim_reminder(booking_id, kind, now):
                    continue  # another worker has it
                booking.remind(kind)
                writer.commit()
            services.dispatch(writer.committed_outbox_ids)
            sent += 1
    return sent
