"""What people are told about, and where: in the app, by email, both, or neither.

Some emails are part of the flow or owed by law (a receipt, a refund, a failed payment,
a booking's confirmation): those are sent whatever the preference, so for them the only
choices are "email" and "both". The others (reminders, news) follow the preference.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

import attrs

from domain.errors import ValidationError


class Kind(enum.StrEnum):
    PURCHASE_COMPLETED = "purchase_completed"
    PURCHASE_REFUNDED = "purchase_refunded"
    MEMBERSHIP_STARTED = "membership_started"
    MEMBERSHIP_RENEWED = "membership_renewed"
    MEMBERSHIP_PAYMENT_FAILED = "membership_payment_failed"
    MEMBERSHIP_ENDING = "membership_ending"
    MEMBERSHIP_ENDED = "membership_ended"
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELED = "booking_canceled"
    BOOKING_RESCHEDULED = "booking_rescheduled"
    BOOKING_REMINDER = "booking_reminder"
    WAITLIST_SEAT_OFFERED = "waitlist_seat_offered"
    INSTALLMENT_DECLINED = "installment_declined"
    PAYOUTS_ENABLED = "payouts_enabled"
    SERIES_NEW_ITEM = "series_new_item"  # in the app only: news, to everyone who bought
    CREDITS_EXPIRING = "credits_expiring"  # within a week


class Channel(enum.StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    BOTH = "both"
    NONE = "none"

    @property
    def in_app(self) -> bool:
        return self in (Channel.IN_APP, Channel.BOTH)

    @property
    def email(self) -> bool:
        return self in (Channel.EMAIL, Channel.BOTH)


DEFAULT = Channel.BOTH
# Sent by email whatever the preference: receipts, refunds, failed payments, and what
# changes a booking or membership the customer paid for.
EMAIL_REQUIRED = frozenset(Kind) - {Kind.BOOKING_REMINDER, Kind.PAYOUTS_ENABLED,
                                    Kind.SERIES_NEW_ITEM, Kind.CREDITS_EXPIRING}
# Told in the app only (a bulk email to every buyer is a newsletter's job): email and
# both mean the app.
IN_APP_ONLY = frozenset({Kind.SERIES_NEW_ITEM})


def emails(kind: Kind, chosen: Channel) -> bool:
    return kind not in IN_APP_ONLY and (kind in EMAIL_REQUIRED or chosen.email)


def shows_in_app(kind: Kind, chosen: Channel) -> bool:
    return chosen.in_app or (kind in IN_APP_ONLY and chosen is not Channel.NONE)


def choose(changes: Mapping[str, object]) -> dict[Kind, Channel]:
    """Validated preferences: known kinds and channels; a required email stays on."""
    chosen: dict[Kind, Channel] = {}
    for name, value in changes.items():
        try:
            kind = Kind(name)
        except ValueError:
            raise ValidationError(f"Unknown notification kind {name!r}.",
                                  code="notifications.kind", field=name) from None
        try:
            channel = Channel(str(value))
        except ValueError:
            raise ValidationError("A channel is in_app, email, both or none.",
                                  code="notifications.channel", field=name) from None
        if kind in EMAIL_REQUIRED and not channel.email:
            raise ValidationError(
                f"{kind.value} emails are always sent; choose email or both.",
                code="notifications.email_required", field=name)
        chosen[kind] = channel
    return chosen


@attrs.frozen
class Notification:
    id: UUID
    user_id: UUID
    kind: Kind
    title: str
    message: str
    created_at: datetime
    # What made it, e.g. "purchase_completed:<id>": one notification per event, however
    # many times (or by however many workers) the event is handled.
    source_key: str
    action_url: str | None = None
    action_label: str | None = None
    read_at: datetime | None = None
