"""The recording mailer and the email log repository."""

from __future__ import annotations

from collections.abc import Sequence

from application.ports.mail import EmailLogEntry, MailDeliveryError, OutgoingEmail
from tests.unit.fakes.store import Store


class RecordingMailer:
    provider = "recording"

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail_next = 0

    def send(self, message: OutgoingEmail) -> str | None:
        if self.fail_next:
            self.fail_next -= 1
            raise MailDeliveryError("transport down")
        self.sent.append(message)
        return f"<{len(self.sent)}@test>"

    def to(self, address: str) -> list[OutgoingEmail]:
        return [m for m in self.sent if m.to == address]


class FakeEmailLogRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def add(self, entry: EmailLogEntry) -> None:
        self._staged.email_logs.append(entry)

    def list_for(self, recipient_email: str) -> Sequence[EmailLogEntry]:
        return [e for e in self._staged.email_logs if e.recipient_email == recipient_email]
