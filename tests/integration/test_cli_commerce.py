"""`patronage purchases refund` and `patronage access grant|revoke` against PostgreSQL."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from typer.testing import CliRunner

from adapters.sqlalchemy.tables import content_access, purchases
from application.catalog.authoring import CreateContent, PublishContent
from application.commerce.purchasing import StartPurchase
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.main import app
from entrypoints.config import Settings

PASSWORD = "a long passphrase"


def catalog(patronage: Patronage) -> tuple[Principal, str]:
    system = Principal.system()
    for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                        ("buyer@example.com", Role.CUSTOMER)):
        patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                    full_name="X", role=role))
    owner = patronage.handle(ActAs(actor=system, email="owner@example.com"))
    item = patronage.handle(CreateContent(actor=owner, title="Sold item", price="8.00",
                                          content_type=ContentType.WRITTEN,
                                          body_html="<p>x</p>"))
    patronage.handle(PublishContent(actor=owner, content_id=item.id))
    buyer = patronage.handle(ActAs(actor=system, email="buyer@example.com"))
    return buyer, str(item.id)


def env(settings: Settings) -> dict[str, str]:
    return {"PATRONAGE_DATABASE_URL": settings.database_url,
            "PATRONAGE_DATA_DIR": str(settings.data_dir)}


def test_refund_from_the_cli(patronage: Patronage, settings: Settings,
                             clean_db: sa.Engine) -> None:
    buyer, content_id = catalog(patronage)
    started = patronage.handle(StartPurchase(actor=buyer, content_id=UUID(content_id)))
    runner = CliRunner()
    partial = runner.invoke(app, ["purchases", "refund", str(started.purchase_id),
                                  "--reason", "goodwill", "--amount", "3.00"], env=env(settings))
    assert partial.exit_code == 0, partial.output
    assert "3.00" in partial.output
    rest = runner.invoke(app, ["purchases", "refund", str(started.purchase_id),
                               "--reason", "asked"], env=env(settings))
    assert rest.exit_code == 0, rest.output
    with clean_db.connect() as conn:
        row = conn.execute(sa.select(purchases)).mappings().one()
        grants = conn.execute(sa.select(sa.func.count()).select_from(content_access)
                              ).scalar_one()
    assert row["status"] == "refunded" and row["refund_reason"] == "asked"
    assert grants == 0
    again = runner.invoke(app, ["purchases", "refund", str(started.purchase_id),
                                "--reason", "twice"], env=env(settings))
    assert again.exit_code == 5 and "refund.not_refundable" in again.output
    bad = runner.invoke(app, ["purchases", "refund", str(started.purchase_id),
                              "--reason", "x", "--amount", "lots"], env=env(settings))
    assert bad.exit_code == 3 and "refund.amount" in bad.output


def test_grant_and_revoke_from_the_cli(patronage: Patronage, settings: Settings,
                                       clean_db: sa.Engine) -> None:
    catalog(patronage)
    runner = CliRunner()
    granted = runner.invoke(app, ["access", "grant", "--user", "buyer@example.com",
                                  "--content", "sold-item", "--expires",
                                  "2031-01-01T00:00:00+00:00"], env=env(settings))
    assert granted.exit_code == 0, granted.output
    explained = runner.invoke(app, ["access", "explain", "--user", "buyer@example.com",
                                    "--content", "sold-item"], env=env(settings))
    assert "ALLOWED (grant:complimentary)" in explained.output
    naive = runner.invoke(app, ["access", "grant", "--user", "buyer@example.com",
                                "--content", "sold-item", "--expires", "2031-01-01"],
                          env=env(settings))
    assert naive.exit_code == 3 and "grant.expiry" in naive.output
    revoked = runner.invoke(app, ["access", "revoke", "--user", "buyer@example.com",
                                  "--content", "sold-item"], env=env(settings))
    assert revoked.exit_code == 0, revoked.output
    twice = runner.invoke(app, ["access", "revoke", "--user", "buyer@example.com",
                                "--content", "sold-item"], env=env(settings))
    assert twice.exit_code == 4 and "grant.not_found" in twice.output
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(content_access)
                            ).scalar_one() == 0
