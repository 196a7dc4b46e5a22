"""Reminders before each booked session (24 hours and 1 hour before, by default).

Each is claimed with a row whose key is (booking, kind) in the same transaction as
the outbox message that sends it: any number of workers may run this at once, and
each reminder is sent exactly once. A booking that holds several sessions (a whole
series, a program's days, a cohort's sessions) is reminded before each of them: the
later ones are claimed as ``<kind>@<session start's epoch seconds>``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
    return sent + _later_sessions(services, now)


def _later_sessions(services: Services, now: datetime) -> int:
    sent = 0
    longest = max(REMINDERS.values())
    with services.uow_factory(read_only=True) as reader:
        zone = reader.settings.get().timezone
        sessions = []
        for offering_id in reader.bookings.with_later_sessions(now, now + longest):
            offering = reader.offerings.get(offering_id)
            if offering is not None:
                sessions += [(offering.id, o) for o in offering.occurrences(
                    ZoneInfo(offering.timezone or zone), now, now + longest)]
    for kind, ahead in REMINDERS.items():
        for offering_id, session in sessions:
            if session.starts_at > now + ahead:
                continue
            claim = f"{kind}@{int(session.starts_at.timestamp())}"
            with services.uow_factory(read_only=True) as reader:
                due = list(reader.bookings.due_session_reminders(
                    offering_id, session.key, session.starts_at, claim, BATCH))
            for booking_id in due:
                with services.uow_factory() as writer:
                    booking = writer.bookings.get(booking_id, lock=True)
                    if booking is None or booking.status is not BookingStatus.CONFIRMED:
                        continue
                    if not writer.bookings.claim_reminder(booking_id, claim, now):
                        continue
                    booking.remind(kind, session.starts_at)
                    writer.commit()
                services.dispatch(writer.committed_outbox_ids)
                sent += 1
    return sent
