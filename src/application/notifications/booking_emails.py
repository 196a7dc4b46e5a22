"""Event handlers that email customers about their bookings."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import attrs

from application.notifications.branding import site_url
from application.notifications.delivery import deliver
from application.notifications.in_app import wants_email
from application.offerings.views import BookingView, calendar_events, view
from application.ports.mail import Attachment
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.notifications.kinds import Kind
from domain.offerings.booking import BookingStatus
from domain.offerings.events import (
    BookingCanceled,
    BookingConfirmed,
    BookingReminderDue,
    BookingRescheduled,
    InstallmentDeclined,
    WaitlistSeatOffered,
)


def _when(v: BookingView) -> str:
    local = v.booking.starts_at.astimezone(ZoneInfo(v.zone))
    return f"{local.strftime('%A %d %B %Y, %H:%M')} ({v.zone})"


def send_confirmation(event: BookingConfirmed, uow: UnitOfWork, services: Services) -> None:
    booking = uow.bookings.get(event.booking_id)
    user = uow.users.get(event.customer_id)
    if booking is None or user is None:
        return
    v = view(uow, booking)
    base = site_url(uow, services)
    where = (f"Join: {v.join_url}\n" if v.join_url else "") + \
        (f"Where: {v.location}\n" if v.location else "")
    invite = () if services.calendar is None else (Attachment(
        "booking.ics", "text/calendar",
        services.calendar.calendar(calendar_events(v, base),
                                   name=v.offering.title)),)
    deliver(uow, services, to=user.email.value, user_id=user.id,
            email_type="booking_confirmation", subject=f"Booked: {v.offering.title}",
            text=(f"Hello {user.full_name},\n\nYou are booked for {v.offering.title} on "
                  f"{_when(v)}.\n{where}\nThe attached file adds it to your calendar (also "
                  f"at {base}/api/v1/me/bookings/{booking.id}/calendar.ics).\n"),
            attachments=invite)


def send_cancellation(event: BookingCanceled, uow: UnitOfWork, services: Services) -> None:
    booking = uow.bookings.get(event.booking_id)
    user = uow.users.get(event.customer_id)
    if booking is None or user is None:
        return
    v = view(uow, booking)
    if event.seat_lost:
        subject = f"Refunded: {v.offering.title} was full"
        body = (f"Your payment for {v.offering.title} on {_when(v)} arrived after the last "
                f"place was taken, so you were not booked. The {event.refunded_amount} "
                f"{event.currency.upper()} you paid is refunded to your card.")
    else:
        back = []
        if event.refunded_amount not in ("0", "0.00"):
            back.append(f"{event.refunded_amount} {event.currency.upper()} to your card")
        if event.credits_returned:
            back.append(f"{event.credits_returned} credits to your balance")
        returned = f" We returned {' and '.join(back)}." if back else ""
        subject = f"Cancelled: {v.offering.title}"
        body = f"Your booking for {v.offering.title} on {_when(v)} is cancelled.{returned}"
    deliver(uow, services, to=user.email.value, user_id=user.id,
            email_type="booking_seat_lost" if event.seat_lost else "booking_canceled",
            subject=subject, text=f"Hello {user.full_name},\n\n{body}\n")


def send_installment_declined(event: InstallmentDeclined, uow: UnitOfWork, services: Services
                              ) -> None:
    booking = uow.bookings.get(event.booking_id)
    user = uow.users.get(event.customer_id)
    if booking is None or user is None:
        return
    v = view(uow, booking)
    retry = event.retry_at.astimezone(ZoneInfo(v.zone)).strftime("%A %d %B %Y")
    deliver(uow, services, to=user.email.value, user_id=user.id,
            email_type="installment_declined",
            subject=f"Payment declined: {v.offering.title}",
            text=(f"Hello {user.full_name},\n\nInstallment {event.number} for "
                  f"{v.offering.title} ({event.amount} {event.currency.upper()}) was "
                  f"declined by your card. We will try again on {retry}. If it is declined "
                  f"three times, the booking is cancelled.\n"))


def send_rescheduled(event: BookingRescheduled, uow: UnitOfWork, services: Services) -> None:
    booking = uow.bookings.get(event.booking_id)
    user = uow.users.get(event.customer_id)
    if booking is None or user is None:
        return
    v = view(uow, booking)
    base = site_url(uow, services)
    deliver(uow, services, to=user.email.value, user_id=user.id,
            email_type="booking_rescheduled", subject=f"Moved: {v.offering.title}",
            text=(f"Hello {user.full_name},\n\nYour booking for {v.offering.title} now "
                  f"takes place on {_when(v)}.\nThe updated calendar entry: "
                  f"{base}/api/v1/me/bookings/{booking.id}/calendar.ics\n"))


def send_reminder(event: BookingReminderDue, uow: UnitOfWork, services: Services) -> None:
    booking = uow.bookings.get(event.booking_id)
    user = uow.users.get(event.customer_id)
    if booking is None or user is None or booking.status is not BookingStatus.CONFIRMED:
        return
    if not wants_email(uow, user.id, Kind.BOOKING_REMINDER):
        return  # they chose the app, or nothing, for reminders
    v = view(uow, booking)
    if event.session_start is not None:
        # A later session of a series, program or cohort.
        v = attrs.evolve(v, booking=attrs.evolve(booking, starts_at=event.session_start))
    soon = "in an hour" if event.kind == "1h" else "tomorrow"
    where = (f"Join: {v.join_url}\n" if v.join_url else "") + \
        (f"Where: {v.location}\n" if v.location else "")
    deliver(uow, services, to=user.email.value, user_id=user.id,
            email_type=f"booking_reminder_{event.kind}",
            subject=f"Reminder: {v.offering.title} {soon}",
            text=f"Hello {user.full_name},\n\n{v.offering.title} starts {_when(v)}.\n{where}")


def send_seat_offer(event: WaitlistSeatOffered, uow: UnitOfWork, services: Services) -> None:
    offering = uow.offerings.get(event.offering_id)
    user = uow.users.get(event.customer_id)
    if offering is None or user is None:
        return
    zone = ZoneInfo(offering.timezone or uow.settings.get().timezone)
    when = event.starts_at.astimezone(zone).strftime("%A %d %B %Y, %H:%M")
    until = event.offered_until.astimezone(zone).strftime("%A %d %B, %H:%M")
    base = site_url(uow, services)
    deliver(uow, services, to=user.email.value, user_id=user.id,
            email_type="waitlist_seat_offered", subject=f"A place opened: {offering.title}",
            text=(f"Hello {user.full_name},\n\nA place opened in {offering.title} on {when}, "
                  f"and it is held for you until {until}. Book it at "
                  f"{base}/offerings/{offering.slug.value} before then; after that it goes "
                  "to the next person waiting.\n"))
