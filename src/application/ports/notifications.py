"""In-app notifications and notification preferences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs

from domain.notifications.kinds import Channel, Kind, Notification


@attrs.frozen
class InboxCursor:
    """Where a page of the inbox ends: unread ones first, then newest first."""

    unread: bool
    created_at: datetime
    id: UUID


class NotificationRepository(Protocol):
    def add(self, note: Notification) -> bool:
        """Insert unless a notification with its source key exists; True when added."""
        ...

    def inbox(self, user_id: UUID, *, after: InboxCursor | None, limit: int
              ) -> Sequence[Notification]: ...

    def unread_count(self, user_id: UUID) -> int: ...

    def mark_read(self, user_id: UUID, notification_id: UUID, now: datetime) -> bool | None:
        """None: no such notification of this user; else whether it was unread."""
        ...

    def mark_all_read(self, user_id: UUID, now: datetime) -> int: ...

    def preferences(self, user_id: UUID) -> Mapping[Kind, Channel]:
        """The kinds this user has chosen a channel for (the others: the default)."""
        ...

    def set_preferences(self, user_id: UUID, chosen: Mapping[Kind, Channel],
                        now: datetime) -> None: ...
