"""Emails in the platform's colours: the HTML part, its escaping and links, and which
address emailed links use."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from uuid import UUID

import attrs
import pytest

from adapters.mail.message import to_mime
from application.notifications.branding import branded_html, site_url
from application.platform.settings import UpdateSettings
from application.ports.mail import Attachment, OutgoingEmail
from application.principal import Principal
from domain.platform.settings import PlatformSettings
from tests.unit.fakes.app import FakeApp

SETTINGS = PlatformSettings.defaults(UUID(int=0), datetime(2026, 1, 1, tzinfo=UTC))


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a":
            self.hrefs.append(found["href"] or "")
        if tag == "img":
            self.images.append(found["src"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> Links:
    links = Links()
    links.feed(markup)
    return links


def test_the_html_part_carries_the_name_colour_and_links_and_escapes_the_rest() -> None:
    settings = attrs.evolve(SETTINGS, platform_name="Studio <Ana>", primary_color="#aa3366")
    text = ("Hello <script>alert(1)</script> & friends,\n\nConfirm here: "
            "https://studio.example.com/verify-email?token=a&b=1.\n\nThanks")
    markup = branded_html(text, settings, "https://studio.example.com")
    found = parsed(markup)
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "Studio &lt;Ana&gt;" in markup and "#aa3366" in markup
    # The full stop ends the sentence, not the link.
    assert found.hrefs == ["https://studio.example.com/verify-email?token=a&b=1",
                           "https://studio.example.com"]
    assert markup.count("<p ") == 3
    assert "Sent with Patronage" in markup
    assert found.images == []


def test_a_logo_replaces_the_name_and_the_credit_can_be_hidden() -> None:
    settings = attrs.evolve(SETTINGS, logo_url="https://cdn.example.com/logo.png",
                            hide_platform_branding=True)
    markup = branded_html("Hi", settings, "https://ana.example.org")
    assert parsed(markup).images == ["https://cdn.example.com/logo.png"]
    assert "Patronage" not in markup
    assert "ana.example.org" in markup


def received(message: OutgoingEmail) -> EmailMessage:
    """The message as a mail client reads it: its bytes parsed again."""
    parsed = email.message_from_bytes(to_mime(message).as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_mime_message_has_text_html_and_attachments() -> None:
    message = received(OutgoingEmail(
        to="ann@example.com", subject="Booked", text="Plain words", from_address="a@b.c",
        html="<p>Rich words</p>",
        attachments=(Attachment("booking.ics", "text/calendar", b"BEGIN:VCALENDAR"),)))
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip() == "Plain words"
    assert rich is not None and "Rich words" in rich.get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "booking.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_payload(decode=True) == b"BEGIN:VCALENDAR"
    assert message["To"] == "ann@example.com" and message["Subject"] == "Booked"
    assert message["Date"] is not None and message["Message-ID"].endswith("@b.c>")
    # Each multipart has a boundary of its own, drawn anew for each message.
    boundaries = [part.get_boundary() for part in message.walk() if part.is_multipart()]
    again = received(OutgoingEmail(to="ann@example.com", subject="Booked", text="Plain words",
                                   from_address="a@b.c", html="<p>Rich words</p>"))
    assert len(set(boundaries)) == 2 and again.get_boundary() not in boundaries


def test_words_beyond_ascii_arrive_as_written() -> None:
    sender = "no-reply@example.com"
    subject = "Reçu : « Écrire » — " + "un cours " * 12
    text = "Bonjour Zoë,\n12,00 €\n" + "é" * 300 + "\nhttps://x.example/?token=a=b\n"
    message = received(OutgoingEmail(
        to="zoe@example.com", subject=subject, text=text, from_address=sender,
        from_name="L'atelier d'Ana — Zoë", html="<p>Zoë €</p>"))
    assert message["Subject"] == subject
    (sent_by,) = message["From"].addresses
    assert sent_by.display_name == "L'atelier d'Ana — Zoë" and sent_by.addr_spec == sender
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content() == text
    assert rich is not None and rich.get_content().strip() == "<p>Zoë €</p>"


def test_a_line_break_in_a_header_or_an_address_beyond_ascii_is_refused() -> None:
    with pytest.raises(ValueError):
        to_mime(OutgoingEmail(to="ann@example.com", subject="Hi", text="x",
                              from_address="atelier@exämple.com"))
    for subject, name in (("Hi\nBcc: eve@example.com", None), ("Hi", "Ana\r\nBcc: eve@x.io")):
        with pytest.raises(ValueError):
            to_mime(OutgoingEmail(to="ann@example.com", subject=subject, text="x",
                                  from_address="a@b.c", from_name=name))


def test_emailed_links_use_the_custom_domain_once_set() -> None:
    app = FakeApp()
    with app.uow_factory() as uow:
        assert site_url(uow, app.services) == app.services.config.public_url.rstrip("/")
    app.handle(UpdateSettings(actor=Principal.system(),
                              changes={"custom_domain": "learn.ana.example"}))
    with app.uow_factory() as uow:
        assert site_url(uow, app.services) == "https://learn.ana.example"


def test_every_email_sent_has_the_branded_part_with_its_links() -> None:
    app = FakeApp()
    app.handle(UpdateSettings(actor=Principal.system(),
                              changes={"custom_domain": "learn.ana.example",
                                       "platform_name": "Ana's Studio"}))
    app.person("new@example.com", verified=False)
    sent = app.mailer.sent[-1]
    assert sent.html is not None and "Ana&#x27;s Studio" in sent.html
    link = next(h for h in parsed(sent.html).hrefs if "verify-email" in h)
    assert link.startswith("https://learn.ana.example/verify-email?token=")
    assert link in sent.text
