"""Ports: what the application needs from the outside world, as Protocols."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches; never raises for a mismatch."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@attrs.frozen(repr=False)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    from_address: str
    from_name: str | None = None

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
