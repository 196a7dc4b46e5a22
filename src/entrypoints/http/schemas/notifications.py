"""Bodies of the notification routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.notifications.kinds import Kind

Channel = Literal["in_app", "email", "both", "none"]


class NotificationOut(msgspec.Struct):
    id: UUID
    kind: str
    title: str
    message: str
    action_url: str | None
    action_label: str | None
    read_at: datetime | None
    created_at: datetime


class InboxOut(msgspec.Struct):
    notifications: list[NotificationOut]
    unread: int
    next_cursor: Annotated[str | None, Meta(description=(
        "Pass as `cursor` for the next page; null on the last"))]


class UnreadOut(msgspec.Struct):
    unread: int


class MarkedOut(msgspec.Struct):
    marked: int
    unread: int


class PreferenceOut(msgspec.Struct):
    kind: str
    channel: str
    email_required: Annotated[bool, Meta(description=(
        "Sent by email whatever the channel (receipts, refunds, failed payments, what "
        "changes a booking or membership): choose email or both"))]


PreferencesBody = Annotated[dict[Annotated[str, Meta(max_length=100)], Channel], Meta(
    max_length=len(Kind), description=(
        "Kind to channel, for the kinds to change: " + ", ".join(k.value for k in Kind)))]
