"""SMTP delivery with STARTTLS or implicit TLS, one connection per message."""

from __future__ import annotations

import smtplib
import ssl

from adapters.mail.message import to_mime
from application.ports.mail import MailDeliveryError, OutgoingEmail


class SmtpMailer:
    provider = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        security: str = "starttls",
        timeout: float = 10.0,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError("security must be starttls, tls or none")
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._security = security
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpMailer(host={self._host!r}, port={self._port}, security={self._security!r})"

    def _session(self) -> smtplib.SMTP:
        """Connected, secured as configured, and logged in."""
        if self._security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            if self._security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self._username:
                client.login(self._username, self._password or "")
        except BaseException:
            client.close()
            raise
        return client

    def send(self, message: OutgoingEmail) -> str | None:
        mime = to_mime(message)
        try:
            with self._session() as client:
                client.send_message(mime)
        except (smtplib.SMTPException, OSError) as exc:
            # The exception text never includes credentials; keep only its class and code.
            raise MailDeliveryError(f"SMTP delivery failed: {type(exc).__name__}: {exc}") from exc
        return str(mime["Message-ID"])

    def probe(self) -> None:
        """Connect, secure and log in as a delivery would, then say goodbye (operators'
        check); MailDeliveryError when any step fails."""
        try:
            with self._session() as client:
                client.noop()
        except (smtplib.SMTPException, OSError) as exc:
            raise MailDeliveryError(f"SMTP check failed: {type(exc).__name__}: {exc}") from exc
