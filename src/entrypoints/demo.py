"""Demo data for ``make run``: two accounts and a few published items, created once."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from adapters.sqlalchemy.tables import content
from application.identity.registration import CreateUser
from application.platform.settings import UpdateSettings
from application.principal import Principal
from domain.errors import Conflict
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage

OWNER_EMAIL = "owner@demo.patronage.localhost"
CUSTOMER_EMAIL = "customer@demo.patronage.localhost"
_ITEMS = [
    ("Welcome to the studio", "welcome-to-the-studio", "written", "public", None),
    ("Morning flow, 20 minutes", "morning-flow-20-minutes", "video", "purchased_only",
     Decimal("9.00")),
    ("Breathing basics", "breathing-basics", "audio", "purchased_only", Decimal("4.50")),
]


def seed_demo(patronage: Patronage, data_dir: Path) -> str:
    """Idempotent: a second run changes nothing and prints the same login."""
    login_file = data_dir / "demo-login.txt"
    system = Principal.system()
    if not login_file.exists():
        password = secrets.token_urlsafe(12)
        owner = None
        for email, role, name in ((OWNER_EMAIL, Role.PLATFORM_OWNER, "Demo Owner"),
                                  (CUSTOMER_EMAIL, Role.CUSTOMER, "Demo Customer")):
            try:
                view = patronage.handle(CreateUser(actor=system, email=email, password=password,
                                                   full_name=name, role=role))
                owner = owner or view
            except Conflict:
                continue
        if owner is not None:
            _seed_content(patronage, owner.id)
            patronage.handle(UpdateSettings(actor=system, changes={
                "platform_name": "Patronage Demo Studio",
                "hero_title": "Practice with us",
            }))
        data_dir.mkdir(parents=True, exist_ok=True)
        login_file.write_text(f"{OWNER_EMAIL} / {password} (and {CUSTOMER_EMAIL}, same "
                              "password)\n")
        login_file.chmod(0o600)
    return login_file.read_text().strip()


def _seed_content(patronage: Patronage, owner_id: object) -> None:
    # Written directly until the catalog use cases exist; the rows are plain data.
    now = patronage.services.clock.now()
    with patronage.engine.begin() as connection:
        for index, (title, slug, kind, visibility, price) in enumerate(_ITEMS):
            connection.execute(sa.insert(content).values(
                id=patronage.services.ids.new_id(), creator_id=owner_id, title=title, slug=slug,
                content_type=kind, visibility=visibility, price=price, status="published",
                published_at=now - timedelta(days=index), created_at=now, updated_at=now,
                description=f"Demo item: {title.lower()}.",
                content_body="<p>Thanks for being here.</p>" if kind == "written" else None,
                media_duration_seconds=None if kind == "written" else 1200,
            ))
