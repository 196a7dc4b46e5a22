"""Emails in the platform's colours: the HTML part, its escaping and links, and which
address emailed links use."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from uuid import UUID

import attrs

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


def test_the_mime_message_has_text_html_and_attachments() -> None:
    message = to_mime(OutgoingEmail(
        to="ann@example.com", subject="Booked", text="Plain words", from_address="a@b.c",
        html="<p>Rich words</p>",
        attachments=(Attachment("booking.ics", "text/calendar", b"BEGIN:VCALENDAR"),)))
    assert isinstance(message, EmailMessage)
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip() == "Plain words"
    assert rich is not None and "Rich words" in rich.get_content()
    assert [a.get_filename() for a in message.iter_attachments()] == ["booking.ics"]


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
