"""The event journal: what happened, by whom and to what, as ids only.

Every entry names its actor (a user id, or none for a visitor), its subject (a content
item, a purchase, a subscription, a booking) and a few properties that are never
personal data. A source key, when there is one, records an entry once however often
its cause is repeated (a redelivered webhook, a reloaded page).
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs


class EventType(enum.StrEnum):
    CONTENT_VIEWED = "content.viewed"  # once per viewer and hour
    CONTENT_PLAYED = "content.played"  # once per viewer and item: they started it
    CONTENT_COMPLETED = "content.completed"  # once per viewer and item
    PURCHASE_COMPLETED = "purchase.completed"
    PURCHASE_REFUNDED = "purchase.refunded"
    MEMBERSHIP_STARTED = "membership.started"
    MEMBERSHIP_PAID = "membership.paid"  # one invoice paid: its amount is revenue
    MEMBERSHIP_ENDED = "membership.ended"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_CANCELED = "booking.canceled"
    BOOKING_ATTENDED = "booking.attended"
    BOOKING_MISSED = "booking.missed"


class SubjectType(enum.StrEnum):
    CONTENT = "content"
    PURCHASE = "purchase"
    SUBSCRIPTION = "subscription"
    BOOKING = "booking"


@attrs.frozen
class JournalEntry:
    id: UUID
    event_type: EventType
    occurred_at: datetime
    user_id: UUID | None
    subject_type: SubjectType
    subject_id: UUID
    source_key: str | None = None
    properties: dict[str, str] = attrs.field(factory=dict)
