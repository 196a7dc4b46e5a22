"""Writes each message as an .eml file: the embedded default, readable in any mail client."""

from __future__ import annotations

from pathlib import Path

from adapters.mail.message import to_mime
from application.ports.mail import MailDeliveryError, OutgoingEmail


class FileMailer:
    provider = "file"

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def send(self, message: OutgoingEmail) -> str | None:
        mime = to_mime(message)
        message_id = str(mime["Message-ID"])
        name = message_id.strip("<>").replace("@", "_").replace("/", "_") + ".eml"
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            tmp = self._directory / f".{name}.tmp"
            tmp.write_bytes(mime.as_bytes())
            # Rename is atomic: a reader never sees half a message.
            tmp.replace(self._directory / name)
        except OSError as exc:
            raise MailDeliveryError(f"could not write message: {exc.strerror}") from exc
        return message_id
