"""Sending email and keeping the record of what was sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs


@attrs.frozen(repr=False)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar"
    data: bytes


@attrs.frozen(repr=False)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    from_address: str
    from_name: str | None = None
    attachments: tuple[Attachment, ...] = ()
    html: str | None = None  # the same message, branded; clients without HTML show text

    def __repr__(self) -> str:
        # Bodies carry one-time links; keep them out of any log line.
        return f"OutgoingEmail(to={self.to!r}, subject={self.subject!r})"


class MailDeliveryError(Exception):
    """The mail transport refused or could not take the message."""


class Mailer(Protocol):
    provider: str

    def send(self, message: OutgoingEmail) -> str | None:
        """Hand the message to the transport; return its message id if it gives one."""
        ...


@attrs.frozen
class EmailLogEntry:
    id: UUID
    recipient_email: str
    user_id: UUID | None
    email_type: str
    subject: str
    status: str
    provider: str | None
    provider_message_id: str | None
    error_message: str | None
    sent_at: datetime | None
    created_at: datetime


class EmailLogRepository(Protocol):
    def add(self, entry: EmailLogEntry) -> None: ...

    def list_for(self, recipient_email: str) -> Sequence[EmailLogEntry]: ...
