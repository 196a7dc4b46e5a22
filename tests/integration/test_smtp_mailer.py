"""SMTP delivery against a real (aiosmtpd) SMTP server, alone and through the app."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from adapters.mail.smtp_mailer import SmtpMailer
from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import email_logs, outbox_messages, users
from application.identity.registration import RegisterCustomer
from application.ports.mail import MailDeliveryError, OutgoingEmail
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from tests.integration.conftest import FAST_ARGON2, free_port

PUBLIC_URL = "https://studio.example.com"
PASSWORD = "correct horse battery staple"
LINK = re.compile(r"https?://\S+")


class Received:
    """One message as the SMTP server saw it."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.message: EmailMessage = email.message_from_bytes(
            content, policy=email.policy.default
        )

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None, "no text/plain part"
        # SMTP carries lines ending in CRLF; read them as a mail client shows them.
        return str(body.get_content()).replace("\r\n", "\n")


class CollectingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on one port."""

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.handler = CollectingHandler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def start(self) -> None:
        assert self._controller is None
        controller = Controller(self.handler, hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


def _outgoing(**overrides: str) -> OutgoingEmail:
    values: dict[str, Any] = {
        "to": "reader@example.org",
        "subject": "Your weekly digest",
        "text": "Hello reader,\n\nThree new posts are waiting for you.\n",
        "from_address": "no-reply@studio.example.com",
        "from_name": "Studio Weekly",
    }
    values.update(overrides)
    return OutgoingEmail(**values)


# ------------------------------------------------------------------ the adapter alone


def test_smtp_mailer_delivers_the_message(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, security="none")

    message_id = mailer.send(_outgoing())

    [got] = smtp_server.received
    assert got.mail_from == "no-reply@studio.example.com"
    assert got.rcpt_tos == ["reader@example.org"]
    assert got.message["From"] == "Studio Weekly <no-reply@studio.example.com>"
    assert got.message["To"] == "reader@example.org"
    assert got.message["Subject"] == "Your weekly digest"
    assert got.text == "Hello reader,\n\nThree new posts are waiting for you.\n"
    assert message_id is not None
    assert message_id == got.message["Message-ID"]
    assert message_id.endswith("@studio.example.com>")


def test_smtp_mailer_quotes_and_encodes_display_names(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, security="none")

    mailer.send(_outgoing(from_name="Café Ünïcode, Ltd.", subject="Grüße aus dem Studio",
                          text="Bonjour, voilà votre reçu.\n"))

    [got] = smtp_server.received
    [sender] = got.message["From"].addresses
    assert sender.display_name == "Café Ünïcode, Ltd."
    assert sender.addr_spec == "no-reply@studio.example.com"
    assert got.message["Subject"] == "Grüße aus dem Studio"
    assert got.text == "Bonjour, voilà votre reçu.\n"


def test_smtp_mailer_without_display_name_sends_the_bare_address(
    smtp_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, security="none")

    mailer.send(OutgoingEmail(to="reader@example.org", subject="Hi", text="Hi\n",
                              from_address="no-reply@studio.example.com"))

    [got] = smtp_server.received
    assert got.message["From"] == "no-reply@studio.example.com"


def test_smtp_mailer_raises_delivery_error_when_the_server_is_down() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), security="none", timeout=5.0)

    with pytest.raises(MailDeliveryError, match="SMTP delivery failed"):
        mailer.send(_outgoing())


def test_smtp_mailer_rejects_an_unknown_security_mode() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpMailer("127.0.0.1", 25, security="ssl3")


# ------------------------------------------------------------------ through the app


def _smtp_app(pg_url: str, tmp_path: Path, engine: sa.Engine, port: int) -> Patronage:
    settings = Settings(
        mailer="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        database_url=pg_url, data_dir=tmp_path, public_url=PUBLIC_URL,
    )
    return bootstrap(settings, engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2))


@pytest.fixture
def smtp_patronage(
    pg_url: str, tmp_path: Path, clean_db: sa.Engine, smtp_server: SmtpServer
) -> Iterator[Patronage]:
    app = _smtp_app(pg_url, tmp_path, clean_db, smtp_server.port)
    yield app
    app.dispatcher.close()


def _verification_token(received: Received) -> str:
    assert received.message["Subject"] == "Confirm your email address"
    links = LINK.findall(received.text)
    assert len(links) == 1, links
    [link] = links
    assert link.startswith(f"{PUBLIC_URL}/verify-email?")
    query = parse_qs(urlsplit(link).query)
    assert list(query) == ["token"]
    [token] = query["token"]
    assert len(token) >= 32
    return unquote(token)


def _user(engine: sa.Engine, address: str) -> sa.RowMapping:
    with engine.connect() as conn:
        return conn.execute(sa.select(users).where(users.c.email == address)).mappings().one()


def _email_logs(engine: sa.Engine, address: str) -> list[sa.RowMapping]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(email_logs).where(email_logs.c.recipient_email == address)
            .order_by(email_logs.c.created_at, email_logs.c.id)
        ).mappings())


def _verification_outbox(engine: sa.Engine, user_id: object) -> list[sa.RowMapping]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox_messages).where(
                outbox_messages.c.event_type == "EmailVerificationRequested",
                outbox_messages.c.handler == "email.verification",
            )
        ).mappings().all()
    return [r for r in rows if r["payload"].get("user_id") == str(user_id)]


def test_registration_sends_the_verification_email_over_smtp(
    smtp_patronage: Patronage, smtp_server: SmtpServer, clean_db: sa.Engine
) -> None:
    smtp_patronage.handle(RegisterCustomer(email="Ada@Example.com", password=PASSWORD,
                                           full_name="Ada Lovelace"))

    [got] = smtp_server.to("ada@example.com")
    assert len(smtp_server.received) == 1
    assert got.message["To"] == "ada@example.com"
    [sender] = got.message["From"].addresses
    assert sender.display_name == "My Platform"
    assert sender.addr_spec == smtp_patronage.settings.mail_from
    assert "Hello Ada Lovelace" in got.text
    token = _verification_token(got)

    user = _user(clean_db, "ada@example.com")
    assert user["email_verified_at"] is None
    stored = user["email_verification_token"]
    assert stored != token
    assert token not in stored
    assert stored == hashlib.sha256(token.encode("utf-8")).hexdigest()

    [log] = _email_logs(clean_db, "ada@example.com")
    assert log["status"] == "sent"
    assert log["provider"] == "smtp"
    assert log["email_type"] == "email_verification"
    assert log["user_id"] == user["id"]
    assert log["provider_message_id"] == got.message["Message-ID"]
    assert log["sent_at"] is not None
    assert log["error_message"] is None

    [outbox] = _verification_outbox(clean_db, user["id"])
    assert outbox["status"] == "processed"
    assert outbox["attempts"] == 0


def test_registration_survives_a_dead_smtp_server_and_the_outbox_retries(
    pg_url: str, tmp_path: Path, clean_db: sa.Engine, smtp_server: SmtpServer
) -> None:
    app = _smtp_app(pg_url, tmp_path, clean_db, smtp_server.port)
    try:
        app.handle(RegisterCustomer(email="first@example.com", password=PASSWORD,
                                    full_name="First User"))
        assert len(smtp_server.to("first@example.com")) == 1

        smtp_server.stop()
        app.handle(RegisterCustomer(email="grace@example.com", password=PASSWORD,
                                    full_name="Grace Hopper"))

        # The command happened even though its email could not be sent.
        user = _user(clean_db, "grace@example.com")
        assert user["role"] == "customer"
        assert user["email_verification_token"] is None
        [failed] = _email_logs(clean_db, "grace@example.com")
        assert failed["status"] == "failed"
        assert failed["provider"] == "smtp"
        assert failed["email_type"] == "email_verification"
        assert failed["sent_at"] is None
        assert "SMTP delivery failed" in failed["error_message"]
        [pending] = _verification_outbox(clean_db, user["id"])
        assert pending["status"] == "pending"
        assert pending["attempts"] == 1
        assert pending["last_error"]
        assert "MailDeliveryError" in pending["last_error"]
        assert pending["processed_at"] is None

        # Not due yet: a worker pass leaves it alone.
        assert app.process_outbox() == 0

        smtp_server.start()
        with clean_db.begin() as conn:
            conn.execute(sa.text(
                "UPDATE outbox_messages SET next_attempt_at = now() - interval '1 hour' "
                "WHERE id = :id"
            ), {"id": pending["id"]})

        assert app.process_outbox() == 1
        [got] = smtp_server.to("grace@example.com")
        token = _verification_token(got)

        # A second pass finds nothing more to do and sends nothing again.
        assert app.process_outbox() == 0
        assert len(smtp_server.to("grace@example.com")) == 1

        [done] = _verification_outbox(clean_db, user["id"])
        assert done["status"] == "processed"
        assert done["processed_at"] is not None
        assert done["attempts"] == 1

        stored = _user(clean_db, "grace@example.com")["email_verification_token"]
        assert stored != token
        assert stored == hashlib.sha256(token.encode("utf-8")).hexdigest()
        assert [r["status"] for r in _email_logs(clean_db, "grace@example.com")] == [
            "failed", "sent",
        ]
    finally:
        app.dispatcher.close()
