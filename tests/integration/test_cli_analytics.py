"""`patronage analytics aggregate` and `patronage analytics report` against PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from typer.testing import CliRunner

from adapters.sqlalchemy.tables import analytics_daily, earnings_entries
from application.catalog.authoring import CreateContent, PublishContent
from application.commerce.purchasing import StartPurchase
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.analytics import BAR_WIDTH, bar
from entrypoints.cli.main import app
from entrypoints.config import Settings
from tests.integration.test_cli_commerce import PASSWORD, env


def test_aggregate_then_report_as_a_table_with_a_chart_and_as_csv(
        patronage: Patronage, settings: Settings, clean_db: sa.Engine) -> None:
    system = Principal.system()
    for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                        ("buyer@example.com", Role.CUSTOMER)):
        patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                    full_name=email.split("@")[0].title(), role=role))
    owner = patronage.handle(ActAs(actor=system, email="owner@example.com"))
    item = patronage.handle(CreateContent(actor=owner, title="An essay", price="9.99",
                                          content_type=ContentType.WRITTEN,
                                          body_html="<p>x</p>"))
    patronage.handle(PublishContent(actor=owner, content_id=item.id))
    buyer = patronage.handle(ActAs(actor=system, email="buyer@example.com"))
    patronage.handle(StartPurchase(actor=buyer, content_id=item.id))
    with clean_db.connect() as conn:
        day = conn.execute(sa.select(earnings_entries.c.occurred_at)).scalar_one().date()

    runner = CliRunner()
    built = runner.invoke(app, ["analytics", "aggregate", "--from", day.isoformat()],
                          env=env(settings))
    assert built.exit_code == 0, built.output
    assert f"1 day(s) from {day} to {day}" in built.output
    with clean_db.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(analytics_daily)).scalar()
    assert rows and rows > 0
    again = runner.invoke(app, ["analytics", "aggregate"], env=env(settings))
    assert again.exit_code == 0 and "row(s)" in again.output, again.output

    span = ["--from", day.isoformat(), "--to", day.isoformat()]
    shown = runner.invoke(app, ["analytics", "report", "--metric", "revenue_gross", *span],
                          env=env(settings))
    assert shown.exit_code == 0, shown.output
    assert "9.99" in shown.output and "█" * BAR_WIDTH in shown.output
    assert "total: 9.99 (money)" in shown.output
    exported = runner.invoke(app, ["analytics", "report", "--metric", "revenue_net",
                                   "--format", "csv", *span], env=env(settings))
    assert exported.exit_code == 0, exported.output
    assert list(csv.reader(io.StringIO(exported.output))) == [
        ["period", "revenue_net"], [day.isoformat(), "9.99"]]

    old = (day - timedelta(days=40)).isoformat()
    pruned = runner.invoke(app, ["analytics", "prune", "--before", old], env=env(settings))
    assert pruned.exit_code == 0, pruned.output
    assert f"0 view(s) before {old} removed" in pruned.output

    for args in (["analytics", "report", "--metric", "bogus"],
                 ["analytics", "prune", "--before", day.isoformat()],
                 ["analytics", "report", "--from", "yesterday"],
                 ["analytics", "aggregate", "--from", "2026-12-08", "--to", "2026-12-01"]):
        refused = runner.invoke(app, args, env=env(settings))
        assert refused.exit_code == 3, (args, refused.output)


def test_bars_are_drawn_in_eighths_and_never_for_nothing() -> None:
    assert bar(Decimal(10), Decimal(10)) == "█" * BAR_WIDTH
    assert bar(Decimal(0), Decimal(10)) == ""
    assert bar(Decimal(-3), Decimal(10)) == ""
    assert bar(Decimal(5), Decimal(0)) == ""
    half = bar(Decimal(1), Decimal(80))  # 1/80 of 40 columns: half a column
    assert half == "▌"
