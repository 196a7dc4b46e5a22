"""Event handlers that put notifications in people's inboxes.

Each notification is keyed by what made it, so handling an event twice (a retry after
a crash, two workers) leaves one. Whether it is written at all is the person's choice
for its kind (in the app, or both).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.offerings.views import view
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.catalog.events import ContentPublished
from domain.commerce.events import PurchaseCompleted, PurchaseRefunded
from domain.memberships.events import (
    MembershipCancellationScheduled,
    MembershipEnded,
    MembershipPaymentFailed,
    MembershipRenewed,
    MembershipStarted,
)
from domain.notifications.kinds import (
    DEFAULT,
    Channel,
    Kind,
    Notification,
    emails,
    shows_in_app,
)
from domain.offerings.booking import BookingStatus
from domain.offerings.events import (
    BookingCanceled,
    BookingConfirmed,
    BookingReminderDue,
    BookingRescheduled,
    InstallmentDeclined,
    WaitlistSeatOffered,
)
from domain.payouts.accounts import PayoutsEnabled


def channel_for(uow: UnitOfWork, user_id: UUID, kind: Kind) -> Channel:
    return uow.notifications.preferences(user_id).get(kind, DEFAULT)


def wants_email(uow: UnitOfWork, user_id: UUID, kind: Kind) -> bool:
    """For the email handlers of kinds people may switch off."""
    return emails(kind, channel_for(uow, user_id, kind))


def notify(uow: UnitOfWork, services: Services, *, user_id: UUID, kind: Kind, key: str,
           title: str, message: str, action_url: str | None = None,
           action_label: str | None = None) -> bool:
    if not shows_in_app(kind, channel_for(uow, user_id, kind)):
        return False
    return uow.notifications.add(Notification(
        id=services.ids.new_id(), user_id=user_id, kind=kind, title=title[:500],
        message=message, created_at=services.clock.now(), source_key=f"{kind.value}:{key}",
        action_url=action_url, action_label=action_label))


def _day(moment: datetime | None) -> str:
    return moment.strftime("%d %B %Y") if moment else "soon"


# --- purchases -------------------------------------------------------------------------


def _purchase_title(uow: UnitOfWork, purchase_id: UUID) -> tuple[str, str | None] | None:
    line = uow.ledger.line(purchase_id)
    if line is None:
        return None
    where = {"content": f"/content/{line.slug}", "series": f"/series/{line.slug}"}.get(
        line.kind, "/account/credits")
    return line.title, where


def purchase_completed(event: PurchaseCompleted, uow: UnitOfWork, services: Services) -> None:
    found = _purchase_title(uow, event.purchase_id)
    if found is not None:
        notify(uow, services, user_id=event.customer_id, kind=Kind.PURCHASE_COMPLETED,
               key=str(event.purchase_id), title=f"Purchased: {found[0]}",
               message="It is in your library now.", action_url=found[1],
               action_label="Open")


def purchase_refunded(event: PurchaseRefunded, uow: UnitOfWork, services: Services) -> None:
    found = _purchase_title(uow, event.purchase_id)
    if found is not None:
        notify(uow, services, user_id=event.customer_id, kind=Kind.PURCHASE_REFUNDED,
               key=str(event.purchase_id), title=f"Refunded: {found[0]}",
               message="The money goes back to your original payment method.")


# --- memberships -----------------------------------------------------------------------


def _tier_name(uow: UnitOfWork, subscription_id: UUID) -> str:
    subscription = uow.subscriptions.get(subscription_id)
    tier = uow.tiers.get(subscription.tier_id) if subscription else None
    return tier.name if tier else "your membership"


MEMBERSHIP = "/account/membership"


def membership_started(event: MembershipStarted, uow: UnitOfWork, services: Services) -> None:
    notify(uow, services, user_id=event.customer_id, kind=Kind.MEMBERSHIP_STARTED,
           key=str(event.subscription_id),
           title=f"Welcome to {_tier_name(uow, event.subscription_id)}",
           message="Your membership has started.", action_url=MEMBERSHIP)


def membership_renewed(event: MembershipRenewed, uow: UnitOfWork, services: Services) -> None:
    notify(uow, services, user_id=event.customer_id, kind=Kind.MEMBERSHIP_RENEWED,
           key=event.invoice_id, title=f"Renewed: {_tier_name(uow, event.subscription_id)}",
           message="Your membership was renewed for another period.", action_url=MEMBERSHIP)


def membership_payment_failed(event: MembershipPaymentFailed, uow: UnitOfWork,
                              services: Services) -> None:
    notify(uow, services, user_id=event.customer_id, kind=Kind.MEMBERSHIP_PAYMENT_FAILED,
           key=f"{event.subscription_id}:{event.grace_until}",
           title="Your membership payment failed",
           message=f"Update your card: access continues until {_day(event.grace_until)}.",
           action_url=MEMBERSHIP, action_label="Update card")


def membership_ending(event: MembershipCancellationScheduled, uow: UnitOfWork,
                      services: Services) -> None:
    notify(uow, services, user_id=event.customer_id, kind=Kind.MEMBERSHIP_ENDING,
           key=f"{event.subscription_id}:{event.ends_at.isoformat()}",
           title=f"{_tier_name(uow, event.subscription_id)} ends on {_day(event.ends_at)}",
           message="You keep access until then; you can resume before it ends.",
           action_url=MEMBERSHIP, action_label="Resume")


def membership_ended(event: MembershipEnded, uow: UnitOfWork, services: Services) -> None:
    notify(uow, services, user_id=event.customer_id, kind=Kind.MEMBERSHIP_ENDED,
           key=str(event.subscription_id),
           title=f"{_tier_name(uow, event.subscription_id)} has ended",
           message="Your membership has ended.", action_url=MEMBERSHIP)


# --- bookings --------------------------------------------------------------------------


def _booking(uow: UnitOfWork, booking_id: UUID, *, confirmed_only: bool = False
             ) -> tuple[str, str, datetime] | None:
    """The offering's title, the booking's page, and when it starts."""
    booking = uow.bookings.get(booking_id)
    if booking is None or (confirmed_only and booking.status is not BookingStatus.CONFIRMED):
        return None
    v = view(uow, booking)
    return v.offering.title, f"/account/bookings/{booking_id}", booking.starts_at


def booking_confirmed(event: BookingConfirmed, uow: UnitOfWork, services: Services) -> None:
    found = _booking(uow, event.booking_id)
    if found is not None:
        notify(uow, services, user_id=event.customer_id, kind=Kind.BOOKING_CONFIRMED,
               key=str(event.booking_id), title=f"Booked: {found[0]}",
               message="Your place is confirmed.", action_url=found[1])


def booking_canceled(event: BookingCanceled, uow: UnitOfWork, services: Services) -> None:
    found = _booking(uow, event.booking_id)
    if found is None:
        return
    refunded = (f" {event.refunded_amount} {event.currency.upper()} is refunded."
                if event.refunded_amount not in ("", "0", "0.00") else "")
    notify(uow, services, user_id=event.customer_id, kind=Kind.BOOKING_CANCELED,
           key=str(event.booking_id), title=f"Cancelled: {found[0]}",
           message=f"Your booking was cancelled.{refunded}", action_url=found[1])


def booking_rescheduled(event: BookingRescheduled, uow: UnitOfWork, services: Services
                        ) -> None:
    found = _booking(uow, event.booking_id)
    if found is not None:
        notify(uow, services, user_id=event.customer_id, kind=Kind.BOOKING_RESCHEDULED,
               key=f"{event.booking_id}:{event.previous_start.isoformat()}",
               title=f"Moved: {found[0]}", message="Your booking has a new time.",
               action_url=found[1])


def booking_reminder(event: BookingReminderDue, uow: UnitOfWork, services: Services) -> None:
    found = _booking(uow, event.booking_id, confirmed_only=True)
    if found is None:
        return
    # One per session and window: a course has several sessions, a move re-arms them.
    session = event.session_start or found[2]
    notify(uow, services, user_id=event.customer_id, kind=Kind.BOOKING_REMINDER,
           key=f"{event.booking_id}:{event.kind}@{int(session.timestamp())}",
           title=f"Soon: {found[0]}",
           message=f"It starts in {event.kind.removesuffix('h')} hour(s).",
           action_url=found[1])


def waitlist_seat_offered(event: WaitlistSeatOffered, uow: UnitOfWork, services: Services
                          ) -> None:
    offering = uow.offerings.get(event.offering_id)
    if offering is not None:
        notify(uow, services, user_id=event.customer_id, kind=Kind.WAITLIST_SEAT_OFFERED,
               key=f"{event.entry_id}:{event.offered_until.isoformat()}",
               title=f"A place is free: {offering.title}",
               message=f"It is held for you until {event.offered_until:%d %B %Y, %H:%M} UTC.",
               action_url=f"/offerings/{offering.slug}", action_label="Book it")


def installment_declined(event: InstallmentDeclined, uow: UnitOfWork, services: Services
                         ) -> None:
    found = _booking(uow, event.booking_id)
    if found is not None:
        notify(uow, services, user_id=event.customer_id, kind=Kind.INSTALLMENT_DECLINED,
               key=f"{event.booking_id}:{event.number}:{event.retry_at.isoformat()}",
               title=f"Installment {event.number} declined: {found[0]}",
               message=f"{event.amount} {event.currency.upper()} was declined; we try "
                       f"again on {_day(event.retry_at)}.", action_url=found[1])


# --- media owners ----------------------------------------------------------------------


def payouts_enabled(event: PayoutsEnabled, uow: UnitOfWork, services: Services) -> None:
    notify(uow, services, user_id=event.user_id, kind=Kind.PAYOUTS_ENABLED,
           key=f"{event.user_id}:{event.as_of.isoformat() if event.as_of else ''}",
           title="You can now be paid",
           message="Your payout account is set up: your items are for sale.",
           action_url="/studio/payouts")


# --- series ----------------------------------------------------------------------------


def series_new_item(event: ContentPublished, uow: UnitOfWork, services: Services) -> None:
    """An item published in a series: everyone who bought the series is told, once each
    (republishing it tells nobody twice)."""
    item = uow.content.get(event.content_id)
    if item is None or not item.is_live or item.series_id is None:
        return  # unpublished or deleted again before this ran: no news
    series = uow.series.get(item.series_id)
    if series is None or not series.is_live:
        return
    for customer_id in uow.purchases.series_buyers(series.id):
        notify(uow, services, user_id=customer_id, kind=Kind.SERIES_NEW_ITEM,
               key=f"{item.id}:{customer_id}", title=f"New in {series.title}: {item.title}",
               message="It is part of the series you bought.",
               action_url=f"/content/{item.slug.value}", action_label="Open")
