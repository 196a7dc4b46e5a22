"""A person's notifications: the inbox (unread first), marking read, and preferences."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

import attrs

from application.messagebus import Query
from application.ports.notifications import InboxCursor
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, ValidationError
from domain.notifications.kinds import DEFAULT, EMAIL_REQUIRED, Channel, Kind, Notification, choose

PAGE_MAX = 100


def encode_cursor(note: Notification) -> str:
    raw = f"{'u' if note.read_at is None else 'r'}|{note.created_at.isoformat()}|{note.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> InboxCursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        state, moment, ident = raw.split("|")
        when = datetime.fromisoformat(moment)
        if state not in ("u", "r") or when.tzinfo is None:
            raise ValueError(state)
        return InboxCursor(unread=state == "u", created_at=when.astimezone(UTC),
                           id=UUID(ident))
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("This cursor is not one we gave.", code="notifications.cursor",
                              field="cursor") from None


@attrs.frozen
class InboxPage:
    notifications: Sequence[Notification]
    unread: int
    next_cursor: str | None


@attrs.frozen
class ListNotifications(Query):
    actor: Principal
    cursor: str | None = None
    limit: int = 20


def list_notifications(cmd: ListNotifications, uow: UnitOfWork, services: Services
                       ) -> InboxPage:
    user_id = cmd.actor.require_user()
    if not 1 <= cmd.limit <= PAGE_MAX:
        raise ValidationError(f"limit is 1 to {PAGE_MAX}.", field="limit")
    after = decode_cursor(cmd.cursor) if cmd.cursor else None
    page = list(uow.notifications.inbox(user_id, after=after, limit=cmd.limit + 1))
    more = len(page) > cmd.limit
    page = page[:cmd.limit]
    return InboxPage(page, uow.notifications.unread_count(user_id),
                     encode_cursor(page[-1]) if more and page else None)


@attrs.frozen
class UnreadNotifications(Query):
    actor: Principal


def unread_notifications(cmd: UnreadNotifications, uow: UnitOfWork, services: Services
                         ) -> int:
    return uow.notifications.unread_count(cmd.actor.require_user())


@attrs.frozen
class MarkNotificationRead:
    actor: Principal
    notification_id: UUID


def mark_notification_read(cmd: MarkNotificationRead, uow: UnitOfWork, services: Services
                           ) -> int:
    """Returns how many are still unread. Someone else's notification does not exist."""
    user_id = cmd.actor.require_user()
    if uow.notifications.mark_read(user_id, cmd.notification_id,
                                   services.clock.now()) is None:
        raise NotFound("No such notification.", code="notification.not_found")
    uow.commit()
    return uow.notifications.unread_count(user_id)


@attrs.frozen
class MarkAllNotificationsRead:
    actor: Principal


def mark_all_notifications_read(cmd: MarkAllNotificationsRead, uow: UnitOfWork,
                                services: Services) -> int:
    """Returns how many were marked."""
    marked = uow.notifications.mark_all_read(cmd.actor.require_user(), services.clock.now())
    uow.commit()
    return marked


@attrs.frozen
class Preference:
    kind: Kind
    channel: Channel
    email_required: bool


def _all(chosen: Mapping[Kind, Channel]) -> list[Preference]:
    return [Preference(kind, chosen.get(kind, DEFAULT), kind in EMAIL_REQUIRED)
            for kind in Kind]


@attrs.frozen
class GetNotificationPreferences(Query):
    actor: Principal


def get_notification_preferences(cmd: GetNotificationPreferences, uow: UnitOfWork,
                                 services: Services) -> list[Preference]:
    return _all(uow.notifications.preferences(cmd.actor.require_user()))


@attrs.frozen
class SetNotificationPreferences:
    actor: Principal
    changes: Mapping[str, object]


def set_notification_preferences(cmd: SetNotificationPreferences, uow: UnitOfWork,
                                 services: Services) -> list[Preference]:
    """Change some kinds (the others keep theirs); all apply, or none."""
    user_id = cmd.actor.require_user()
    chosen = choose(cmd.changes)
    uow.notifications.set_preferences(user_id, chosen, services.clock.now())
    uow.commit()
    return _all(uow.notifications.preferences(user_id))
