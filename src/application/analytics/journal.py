"""What goes into the event journal from the domain's own events.

The unit of work writes these entries in the transaction that commits the change, so
the journal holds an event exactly when the change happened. Each entry has a source
key naming its cause: a retried commit or a redelivered webhook records nothing twice.
Views, plays and completions are written by their own paths (one statement each).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from domain.analytics.journal import EventType, JournalEntry, SubjectType
from domain.commerce import events as commerce
from domain.events import DomainEvent
from domain.memberships import events as memberships
from domain.offerings import events as offerings

_Subject = tuple[EventType, SubjectType, UUID, UUID | None]


def _journaled(event: DomainEvent) -> _Subject | None:
    """(journal type, subject type, subject id, actor) of the events the journal keeps."""
    match event:
        case commerce.PurchaseCompleted():
            return (EventType.PURCHASE_COMPLETED, SubjectType.PURCHASE, event.purchase_id,
                    event.customer_id)
        case commerce.PurchaseRefunded():
            return (EventType.PURCHASE_REFUNDED, SubjectType.PURCHASE, event.purchase_id,
                    event.customer_id)
        case memberships.MembershipStarted():
            return (EventType.MEMBERSHIP_STARTED, SubjectType.SUBSCRIPTION,
                    event.subscription_id, event.customer_id)
        case memberships.MembershipEnded():
            return (EventType.MEMBERSHIP_ENDED, SubjectType.SUBSCRIPTION,
                    event.subscription_id, event.customer_id)
        case offerings.BookingConfirmed():
            return (EventType.BOOKING_CONFIRMED, SubjectType.BOOKING, event.booking_id,
                    event.customer_id)
        case offerings.BookingCanceled():
            return (EventType.BOOKING_CANCELED, SubjectType.BOOKING, event.booking_id,
                    event.customer_id)
        case offerings.BookingAttended():
            return (EventType.BOOKING_ATTENDED, SubjectType.BOOKING, event.booking_id,
                    event.customer_id)
        case offerings.BookingMissed():
            return (EventType.BOOKING_MISSED, SubjectType.BOOKING, event.booking_id,
                    event.customer_id)
    return None


def journal_entries(events: Iterable[DomainEvent], now: datetime,
                    new_id: Callable[[], UUID]) -> list[JournalEntry]:
    entries = []
    for event in events:
        found = _journaled(event)
        if found is None:
            continue
        event_type, subject_type, subject_id, actor = found
        # The others happen once to their subject (a booking confirmed again after a
        # lapsed hold is the same booking confirmed); a host may correct a mark, and
        # each correction re-opens the session's day.
        once = event_type not in (EventType.BOOKING_ATTENDED, EventType.BOOKING_MISSED)
        entries.append(JournalEntry(
            id=new_id(), event_type=event_type, occurred_at=now, user_id=actor,
            subject_type=subject_type, subject_id=subject_id,
            source_key=f"{event_type.value}:{subject_id}" if once else None))
    return entries


def membership_paid(*, invoice_id: str, subscription_id: UUID, customer_id: UUID,
                    tier_id: UUID, amount: str, currency: str, now: datetime,
                    new_id: Callable[[], UUID]) -> JournalEntry:
    """A paid membership invoice: the membership's revenue (kept nowhere else)."""
    return JournalEntry(
        id=new_id(), event_type=EventType.MEMBERSHIP_PAID, occurred_at=now,
        user_id=customer_id, subject_type=SubjectType.SUBSCRIPTION,
        subject_id=subscription_id, source_key=f"invoice:{invoice_id}",
        properties={"amount": amount, "currency": currency, "tier_id": str(tier_id)})


def viewed(content_id: UUID, user_id: UUID | None, now: datetime,
           new_id: Callable[[], UUID]) -> JournalEntry:
    """A counted view (the view counter already keeps one per viewer and hour)."""
    return JournalEntry(id=new_id(), event_type=EventType.CONTENT_VIEWED, occurred_at=now,
                        user_id=user_id, subject_type=SubjectType.CONTENT,
                        subject_id=content_id)


def watched(content_id: UUID, user_id: UUID, completed: bool, now: datetime,
            new_id: Callable[[], UUID], *, played_before: bool = False,
            finished_before: bool = False) -> list[JournalEntry]:
    """A saved position: the viewer started the item (once per viewer and item) and,
    at the end, finished it (once too).

    What the viewer's stored position already shows (a position saved before, the item
    finished before) is not journaled again: its source key would refuse it anyway,
    after its parameters were sent and checked on every save, every few seconds."""
    kinds = ([] if played_before else [EventType.CONTENT_PLAYED]) + (
        [EventType.CONTENT_COMPLETED] if completed and not finished_before else [])
    return [JournalEntry(id=new_id(), event_type=kind, occurred_at=now, user_id=user_id,
                         subject_type=SubjectType.CONTENT, subject_id=content_id,
                         source_key=f"{kind.value}:{user_id}:{content_id}")
            for kind in kinds]
