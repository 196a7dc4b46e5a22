"""`patronage media-owners` and `patronage earnings report` against PostgreSQL."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from typer.testing import CliRunner

from adapters.sqlalchemy.tables import earnings_entries, media_owner_invitations
from application.catalog.authoring import CreateContent, PublishContent
from application.commerce.purchasing import StartPurchase
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.payouts.accounts import StartPayoutOnboarding
from application.principal import Principal
from domain.catalog.rules import ContentType
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.main import app
from entrypoints.config import Settings
from tests.integration.conftest import Inbox
from tests.integration.test_cli_commerce import PASSWORD, env


def test_invite_from_the_cli(patronage: Patronage, settings: Settings, clean_db: sa.Engine,
                             inbox: Inbox) -> None:
    runner = CliRunner()
    sent = runner.invoke(app, ["media-owners", "invite", "Maya@Example.com"],
                         env=env(settings))
    assert sent.exit_code == 0, sent.output
    assert "maya@example.com" in sent.output
    listed = runner.invoke(app, ["media-owners", "invitations"], env=env(settings))
    assert listed.exit_code == 0 and "maya@example.com" in listed.output
    assert "pending" in listed.output
    with clean_db.connect() as conn:
        row = conn.execute(sa.select(media_owner_invitations)).mappings().one()
    # Invited by an operator: no account of the platform's did it.
    assert row["invited_by"] is None and row["token_hash"] is not None
    assert inbox.link_token("maya@example.com", "invited to sell")
    bad = runner.invoke(app, ["media-owners", "invite", "not an address"], env=env(settings))
    assert bad.exit_code == 3, bad.output


def test_a_months_earnings_report(patronage: Patronage, settings: Settings,
                                  clean_db: sa.Engine) -> None:
    system = Principal.system()
    for email, role in (("maya@example.com", Role.MEDIA_OWNER),
                        ("buyer@example.com", Role.CUSTOMER)):
        patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                    full_name=email.split("@")[0].title(), role=role))
    maya = patronage.handle(ActAs(actor=system, email="maya@example.com"))
    patronage.handle(StartPayoutOnboarding(actor=maya))
    item = patronage.handle(CreateContent(actor=maya, title="=HYPERLINK(evil)", price="9.99",
                                          content_type=ContentType.WRITTEN,
                                          body_html="<p>x</p>"))
    patronage.handle(PublishContent(actor=maya, content_id=item.id))
    buyer = patronage.handle(ActAs(actor=system, email="buyer@example.com"))
    patronage.handle(StartPurchase(actor=buyer, content_id=item.id))
    with clean_db.connect() as conn:
        sold_at = conn.execute(sa.select(earnings_entries.c.occurred_at)).scalar_one()
    month = sold_at.strftime("%Y-%m")

    runner = CliRunner()
    shown = runner.invoke(app, ["earnings", "report", "--month", month], env=env(settings))
    assert shown.exit_code == 0, shown.output
    assert "9.99" in shown.output and "3.00" in shown.output and "6.99" in shown.output
    assert "Maya" in shown.output
    exported = runner.invoke(app, ["earnings", "report", "--month", month, "--format", "csv",
                                   "--seller", "maya@example.com"], env=env(settings))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    (total,) = [r for r in rows if r["section"] == "total"]
    assert (total["gross"], total["platform_fee"], total["net"], total["sales"]) == \
        ("9.99", "3.00", "6.99", "1")
    (sold,) = [r for r in rows if r["section"] == "item"]
    # A creator's title never runs as a spreadsheet formula.
    assert sold["label"] == "'=HYPERLINK(evil)"

    empty = runner.invoke(app, ["earnings", "report", "--month", "2001-01"], env=env(settings))
    assert empty.exit_code == 0 and "No sales" in empty.output
    for bad_month in ("November", "2026-13", "9999-12"):
        bad = runner.invoke(app, ["earnings", "report", "--month", bad_month],
                            env=env(settings))
        assert bad.exit_code == 3 and "earnings.month" in bad.output, bad.output
    unknown = runner.invoke(app, ["earnings", "report", "--month", month, "--seller",
                                  "nobody@example.com"], env=env(settings))
    assert unknown.exit_code != 0 and "user.not_found" in unknown.output
