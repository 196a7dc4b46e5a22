"""Demo data for ``make run``: an owner, a customer and a media owner (paid out through
the sandbox), a small catalog, a series, a membership tier and a credit pack, created
once."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from application.catalog.authoring import CreateContent, PublishContent
from application.catalog.media import ConfirmMediaUpload, StartMediaUpload
from application.catalog.series import AddToSeries, CreateSeries, PublishSeries
from application.credits.packs import CreateCreditPack
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.memberships.tiers import CreateTier
from application.payouts.accounts import StartPayoutOnboarding
from application.platform.settings import UpdateSettings
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.errors import Conflict
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage

OWNER_EMAIL = "owner@demo.patronage.localhost"
CUSTOMER_EMAIL = "customer@demo.patronage.localhost"
MEDIA_OWNER_EMAIL = "creator@demo.patronage.localhost"


def seed_demo(patronage: Patronage, data_dir: Path) -> str:
    """Idempotent: a second run changes nothing and prints the same login."""
    login_file = data_dir / "demo-login.txt"
    system = Principal.system()
    if not login_file.exists():
        password = secrets.token_urlsafe(12)
        created_owner = False
        for email, role, name in ((OWNER_EMAIL, Role.PLATFORM_OWNER, "Demo Owner"),
                                  (CUSTOMER_EMAIL, Role.CUSTOMER, "Demo Customer"),
                                  (MEDIA_OWNER_EMAIL, Role.MEDIA_OWNER, "Demo Media Owner")):
            try:
                patronage.handle(CreateUser(actor=system, email=email, password=password,
                                            full_name=name, role=role))
                created_owner = created_owner or role is Role.PLATFORM_OWNER
            except Conflict:
                continue
        if created_owner:
            _seed_catalog(patronage)
            # With a real provider, onboarding happens at Stripe, by a real person: their
            # items would only be on show, not for sale.
            if patronage.services.payments.delivers_events_inline:
                _seed_media_owner(patronage)
            patronage.handle(UpdateSettings(actor=system, changes={
                "platform_name": "Patronage Demo Studio",
                "hero_title": "Practice with us",
            }))
        data_dir.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"{OWNER_EMAIL} / {password} (and {CUSTOMER_EMAIL} and "
                              f"{MEDIA_OWNER_EMAIL}, same password)\n")
        login_file.chmod(0o600)
    return login_file.read_text().strip()


def _seed_media_owner(patronage: Patronage) -> None:
    """A creator from outside, paid out through the sandbox: the platform keeps its fee
    of each sale (see their studio's earnings)."""
    maker = patronage.handle(ActAs(actor=Principal.system(), email=MEDIA_OWNER_EMAIL))
    patronage.handle(StartPayoutOnboarding(actor=maker))
    essay = patronage.handle(CreateContent(
        actor=maker, title="Letters from a sound walker", content_type=ContentType.WRITTEN,
        price="6.00", category="listening", tags=("sound", "walks"),
        description="An essay by a guest author, sold on the platform.",
        body_html="<p>Walk slowly and listen. " + "The city hums. " * 30 + "</p>"))
    patronage.handle(PublishContent(actor=maker, content_id=essay.id))


def _seed_catalog(patronage: Patronage) -> None:
    """Through the same use cases a creator would use."""
    owner = patronage.handle(ActAs(actor=Principal.system(), email=OWNER_EMAIL))
    welcome = patronage.handle(CreateContent(
        actor=owner, title="Welcome to the studio", content_type=ContentType.WRITTEN,
        visibility=Visibility.PUBLIC, category="studio", tags=("welcome",),
        body_html="<p>Thanks for being here. Everything starts with a breath.</p>"))
    notes = patronage.handle(CreateContent(
        actor=owner, title="Field notes on breathing", content_type=ContentType.WRITTEN,
        price="4.50", category="breathing", tags=("breath", "notes"),
        description="A short essay for paying readers.",
        body_html="<h2>Notes</h2><p>Slow down the out-breath. " + "Practice daily. " * 40
                  + "</p>"))
    flow = patronage.handle(CreateContent(
        actor=owner, title="Morning flow, 20 minutes", content_type=ContentType.VIDEO,
        price="9.00", category="yoga", tags=("morning", "flow"),
        description="A gentle sequence (the demo file is a placeholder, not a real video)."))
    with tempfile.TemporaryDirectory() as folder:
        placeholder = Path(folder) / "flow.mp4"
        placeholder.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4096))
        ticket = patronage.handle(StartMediaUpload(actor=owner, content_id=flow.id,
                                                   content_type="video/mp4",
                                                   size=placeholder.stat().st_size))
        patronage.services.media.upload_file(ticket.key, placeholder, content_type="video/mp4")
        patronage.handle(ConfirmMediaUpload(actor=owner, content_id=flow.id, key=ticket.key,
                                            duration_seconds=1200))
    for item in (welcome, notes, flow):
        patronage.handle(PublishContent(actor=owner, content_id=item.id))
    series = patronage.handle(CreateSeries(actor=owner, title="Beginner's path", price="12.00"))
    for item in (notes, flow):
        patronage.handle(AddToSeries(actor=owner, series_id=series.id, content_id=item.id))
    patronage.handle(PublishSeries(actor=owner, series_id=series.id))
    circle = patronage.handle(CreateContent(
        actor=owner, title="Members' circle: this month's practice",
        content_type=ContentType.WRITTEN, visibility=Visibility.MEMBERS_ONLY,
        category="studio", tags=("members",),
        body_html="<p>For members: a week of short evening practices.</p>"))
    patronage.handle(PublishContent(actor=owner, content_id=circle.id))
    patronage.handle(CreateTier(actor=owner, fields={
        "name": "Studio membership", "price_monthly": "15.00", "price_yearly": "150.00",
        "description": "Members-only practices and four class credits a month.",
        "trial_days": 7, "monthly_credits": 4,
        "offering_access_rules": [{"offering_type": "recurring_fixed", "access": "free"},
                                  {"offering_type": "one_time_event", "access": "credits"}],
    }))
    patronage.handle(CreateCreditPack(actor=owner, fields={
        "name": "Ten class credits", "price": "90.00", "credits": 10, "valid_days": 180,
        "description": "Ten credits for classes and events, valid for six months."}))
