"""Notifications and notification preferences, in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import attrs

from application.ports.notifications import InboxCursor
from domain.notifications.kinds import Channel, Kind, Notification
from tests.unit.fakes.store import Store


def _order(note: Notification) -> tuple[int, datetime, UUID]:
    return (1 if note.read_at is None else 0, note.created_at, note.id)


class FakeNotificationRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def add(self, note: Notification) -> bool:
        if any(n.source_key == note.source_key for n in self._staged.notifications.values()):
            return False
        self._staged.notifications[note.id] = note
        return True

    def inbox(self, user_id: UUID, *, after: InboxCursor | None, limit: int
              ) -> Sequence[Notification]:
        mine = sorted((n for n in self._staged.notifications.values() if n.user_id == user_id),
                      key=_order, reverse=True)
        if after is not None:
            edge = (1 if after.unread else 0, after.created_at, after.id)
            mine = [n for n in mine if _order(n) < edge]
        return mine[:limit]

    def unread_count(self, user_id: UUID) -> int:
        return sum(1 for n in self._staged.notifications.values()
                   if n.user_id == user_id and n.read_at is None)

    def mark_read(self, user_id: UUID, notification_id: UUID, now: datetime) -> bool | None:
        note = self._staged.notifications.get(notification_id)
        if note is None or note.user_id != user_id:
            return None
        if note.read_at is not None:
            return False
        self._staged.notifications[note.id] = attrs.evolve(note, read_at=now)
        return True

    def mark_all_read(self, user_id: UUID, now: datetime) -> int:
        unread = [n for n in self._staged.notifications.values()
                  if n.user_id == user_id and n.read_at is None]
        for note in unread:
            self._staged.notifications[note.id] = attrs.evolve(note, read_at=now)
        return len(unread)

    def preferences(self, user_id: UUID) -> Mapping[Kind, Channel]:
        return dict(self._staged.notification_preferences.get(user_id, {}))

    def set_preferences(self, user_id: UUID, chosen: Mapping[Kind, Channel],
                        now: datetime) -> None:
        self._staged.notification_preferences.setdefault(user_id, {}).update(chosen)
