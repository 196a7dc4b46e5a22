"""`patronage tiers|subscriptions|credits|sandbox` run in-process against a migrated
database, checked by exit code, output and stored rows.

Input checks that fail before any transaction run on SQLite (the embedded default);
the flows that write run on PostgreSQL, and one flow runs on SQLite to hold the
embedded default's sandbox clock to the same answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from typer.testing import CliRunner, Result

from adapters.sqlalchemy.tables import (
    credit_balances,
    credit_packs,
    credit_transactions,
    platform_settings,
    subscription_tiers,
    subscriptions,
)
from application.credits.audit import AuditCredits
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.memberships.subscribing import Subscribe
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.cli.main import app
from entrypoints.http.app import create_app

SYSTEM = Principal.system()
PASSWORD = "a long and unusual passphrase"
EXIT_USAGE, EXIT_VALIDATION, EXIT_NOT_FOUND, EXIT_CONFLICT = 2, 3, 4, 5


class Cli:
    """``patronage ...`` with the environment an operator would export."""

    def __init__(self, patronage: Patronage) -> None:
        settings = patronage.settings
        # A wide terminal: Rich would otherwise fold 36-character ids inside table cells.
        self.env = {"PATRONAGE_DATABASE_URL": settings.database_url,
                    "PATRONAGE_DATA_DIR": str(settings.data_dir), "COLUMNS": "250"}
        self._runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self._runner.invoke(app, list(args), env=self.env)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.exit_code, result.output)
        return result.output


@pytest.fixture
def cli(patronage: Patronage) -> Cli:
    return Cli(patronage)


@pytest.fixture
def db(clean_db: sa.Engine) -> sa.Engine:
    return clean_db


@pytest.fixture
def sqlite_cli(sqlite_patronage: Patronage) -> Cli:
    return Cli(sqlite_patronage)


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def one(engine: sa.Engine, table: sa.Table, row_id: UUID) -> sa.RowMapping:
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()


def ledger(engine: sa.Engine, customer_id: UUID) -> list[sa.RowMapping]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(credit_transactions).where(credit_transactions.c.customer_id == customer_id)
            .order_by(credit_transactions.c.entry_number)).mappings())


def balance(engine: sa.Engine, customer_id: UUID) -> int:
    with engine.connect() as conn:
        found = conn.execute(sa.select(credit_balances.c.current_balance).where(
            credit_balances.c.customer_id == customer_id)).scalar()
    return int(found or 0)


def create_tier(cli: Cli, *args: str) -> UUID:
    output = cli.ok("tiers", "create", *args)
    found = re.search(r"tier ([0-9a-f-]{36}): ", output)
    assert found, output
    return UUID(found.group(1))


def member(patronage: Patronage, email: str) -> Principal:
    patronage.handle(CreateUser(actor=SYSTEM, email=email, password=PASSWORD,
                                full_name="Member", role=Role.CUSTOMER))
    principal: Principal = patronage.handle(ActAs(actor=SYSTEM, email=email))
    assert principal.email_verified  # subscribing needs a confirmed address
    return principal


def table_row(output: str, key: str) -> list[str]:
    """The cells of the table row that mentions ``key``."""
    for line in output.splitlines():
        if key in line:
            return [cell.strip() for cell in line.strip("│ ").split("│")]
    raise AssertionError(f"no row with {key!r} in:\n{output}")


# ------------------------------------------------------------------ tiers


def test_a_tier_is_created_listed_repriced_synced_and_deactivated(
    cli: Cli, db: sa.Engine
) -> None:
    tier_id = create_tier(cli, "--name", "Gold", "--monthly", "12.00", "--yearly", "120.00",
                          "--monthly-credits", "4", "--categories", "yoga, music",
                          "--rules", '[{"offering_type": "retreat", "access": "credits",'
                                     ' "credit_cost": 2}]')
    row = one(db, subscription_tiers, tier_id)
    assert (row["name"], row["monthly_credits"], row["active"]) == ("Gold", 4, True)
    assert Decimal(row["price_monthly"]) == Decimal("12.00")
    assert Decimal(row["price_yearly"]) == Decimal("120.00")
    assert row["category_access"] == ["yoga", "music"]
    assert row["offering_access_rules"] == [
        {"access": "credits", "offering_type": "retreat", "credit_cost": 2}]
    # Created tiers are mirrored at the gateway at once, so a first subscriber need not.
    assert row["stripe_product_id"] and row["stripe_price_monthly_id"]
    first_price = row["stripe_price_monthly_id"]

    listed = table_row(cli.ok("tiers", "list"), str(tier_id))
    assert listed == [str(tier_id), "Gold", "12.00 USD/month, 120.00 USD/year", "4", "yes"]

    repriced = cli.ok("tiers", "update", str(tier_id), "--monthly", "15.00")
    assert f"tier {tier_id}: Gold (15.00 USD/month, 120.00 USD/year)" in repriced
    row = one(db, subscription_tiers, tier_id)
    assert Decimal(row["price_monthly"]) == Decimal("15.00")
    # A provider Price is immutable: the new amount is a new Price.
    assert row["stripe_price_monthly_id"] not in (None, first_price)

    synced = cli.ok("tiers", "sync")
    assert synced.splitlines() == ["Gold: in sync"]

    deactivated = cli.ok("tiers", "deactivate", str(tier_id))
    assert f"tier {tier_id}: Gold takes no new members" in deactivated
    assert one(db, subscription_tiers, tier_id)["active"] is False
    assert table_row(cli.ok("tiers", "list"), str(tier_id))[-1] == "no"
    assert count(db, subscription_tiers) == 1


BAD_TIERS = [
    ([], "tier.price_required", "price_monthly"),
    (["--monthly=-5.00"], "tier.price", "price_monthly"),
    (["--monthly", "0"], "tier.price", "price_monthly"),
    (["--monthly", "twelve"], "validation.money", "price_monthly"),
    (["--monthly", "12.00", "--rules", "{not json"], "tier.rules", "offering_access_rules"),
    (["--monthly", "12.00", "--rules", '{"offering_type": "retreat"}'], "tier.rules",
     "offering_access_rules"),
    (["--monthly", "12.00", "--rules", '[{"offering_type": "gala"}]'], "tier.rules",
     "offering_access_rules[0].offering_type"),
]


def test_bad_tier_input_exits_3_naming_the_field_and_writes_nothing(
    sqlite_cli: Cli, sqlite_patronage: Patronage
) -> None:
    # One database for every case: each must leave it as empty as it found it.
    for args, code, field in BAD_TIERS:
        result = sqlite_cli("tiers", "create", "--name", "Gold", *args)
        assert result.exit_code == EXIT_VALIDATION, (args, result.output)
        assert f"error [{code}] ({field}):" in result.output, (args, result.output)
        assert count(sqlite_patronage.engine, subscription_tiers) == 0, args
    usage = sqlite_cli("tiers", "create", "--monthly", "12.00")
    assert usage.exit_code == EXIT_USAGE and "Missing option '--name'" in usage.output
    assert "Gold" not in sqlite_cli.ok("tiers", "list")
    assert count(sqlite_patronage.engine, subscription_tiers) == 0


def test_updating_a_tier_checks_its_input_and_that_it_exists(cli: Cli, db: sa.Engine) -> None:
    tier_id = create_tier(cli, "--name", "Gold", "--monthly", "12.00")
    bad = cli("tiers", "update", str(tier_id), "--monthly=-1")
    assert bad.exit_code == EXIT_VALIDATION and "(price_monthly)" in bad.output
    assert Decimal(one(db, subscription_tiers, tier_id)["price_monthly"]) == Decimal("12.00")
    missing = cli("tiers", "update", "00000000-0000-7000-8000-000000000000", "--monthly", "9")
    assert missing.exit_code == EXIT_NOT_FOUND and "tier.not_found" in missing.output
    not_an_id = cli("tiers", "update", "gold", "--monthly", "9")
    assert not_an_id.exit_code == EXIT_USAGE


# ------------------------------------------------------------------ credit packs


def test_credit_packs_are_put_on_sale_listed_edited_and_taken_off_sale(
        cli: Cli, db: sa.Engine) -> None:
    made = cli.ok("credits", "packs", "create", "--name", "Ten classes", "--price", "120.00",
                  "--credits", "10", "--valid-days", "90")
    found = re.search(r"credit pack ([0-9a-f-]{36}): Ten classes, 10 credits for "
                      r"120\.00 USD \(90 days\)", made)
    assert found, made
    pack_id = found.group(1)
    listed = cli.ok("credits", "packs", "list")
    assert pack_id in listed and "90 days" in listed and "yes" in listed
    changed = cli.ok("credits", "packs", "update", pack_id, "--credits", "12", "--off-sale")
    assert "12 credits for 120.00 USD (90 days), not sold" in changed
    with db.connect() as conn:
        row = conn.execute(sa.select(credit_packs).where(
            credit_packs.c.id == UUID(pack_id))).mappings().one()
    assert (row["credits"], row["valid_days"], row["active"]) == (12, 90, False)
    bad = cli("credits", "packs", "update", pack_id, "--price", "0")
    assert bad.exit_code == EXIT_VALIDATION and "error [credit_pack.price] (price):" in bad.output
    missing = cli("credits", "packs", "update", "00000000-0000-7000-8000-000000000000",
                  "--credits", "3")
    assert missing.exit_code == EXIT_NOT_FOUND and "credit_pack.not_found" in missing.output
    too_many = cli("credits", "packs", "create", "--name", "Huge", "--price", "1.00",
                   "--credits", "10001")
    assert too_many.exit_code == EXIT_USAGE
    assert count(db, credit_packs) == 1


# ------------------------------------------------------------------ credits adjust


def test_credits_adjust_moves_credits_with_a_reason_and_refuses_what_it_cannot(
    cli: Cli, patronage: Patronage, db: sa.Engine
) -> None:
    customer = member(patronage, "x@example.com").user_id
    assert customer is not None

    added = cli.ok("credits", "adjust", "--user", "x@example.com", "--amount", "5",
                   "--reason", "goodwill")
    assert "x@example.com: +5 credits, balance 5" in added
    (entry,) = ledger(db, customer)
    assert (entry["type"], entry["amount"], entry["balance_after"]) == ("adjustment", 5, 5)
    assert entry["description"] == "goodwill"
    assert entry["actor_id"] is None  # the operator at the shell is not a user

    no_reason = cli("credits", "adjust", "--user", "x@example.com", "--amount", "5")
    assert no_reason.exit_code == EXIT_USAGE
    assert "Missing option '--reason'" in no_reason.output
    blank = cli("credits", "adjust", "--user", "x@example.com", "--amount", "5",
                "--reason", "   ")
    assert blank.exit_code == EXIT_VALIDATION and "credits.reason_required" in blank.output
    too_much = cli("credits", "adjust", "--user", "x@example.com", "--amount=-6",
                   "--reason", "clawback")
    assert too_much.exit_code == EXIT_CONFLICT
    assert "credits.insufficient" in too_much.output and "has 5" in too_much.output
    nobody = cli("credits", "adjust", "--user", "nobody@example.com", "--amount", "5",
                 "--reason", "goodwill")
    assert nobody.exit_code == EXIT_NOT_FOUND and "user.not_found" in nobody.output
    naive = cli("credits", "adjust", "--user", "x@example.com", "--amount", "5",
                "--reason", "goodwill", "--expires", "2031-01-01T00:00:00")
    assert naive.exit_code == EXIT_VALIDATION and "credits.expiry" in naive.output
    zero = cli("credits", "adjust", "--user", "x@example.com", "--amount", "0",
               "--reason", "nothing")
    assert zero.exit_code == EXIT_VALIDATION and "credits.amount" in zero.output
    assert len(ledger(db, customer)) == 1 and balance(db, customer) == 5

    taken = cli.ok("credits", "adjust", "--user", "x@example.com", "--amount=-2",
                   "--reason", "clawback")
    assert "x@example.com: -2 credits, balance 3" in taken
    assert [(e["amount"], e["balance_after"]) for e in ledger(db, customer)] == [(5, 5), (-2, 3)]
    audited = cli.ok("credits", "audit")
    assert "1 ledgers checked, 0 inconsistent" in audited


# ------------------------------------------------------------------ the sandbox's clock


@pytest.fixture
def http(patronage: Patronage) -> Iterator[TestClient[Any]]:
    with TestClient(app=create_app(patronage)) as client:
        yield client


def test_advancing_the_sandbox_renews_a_membership_and_its_credits_grow(
    cli: Cli, patronage: Patronage, db: sa.Engine, http: TestClient[Any]
) -> None:
    tier_id = create_tier(cli, "--name", "Gold", "--monthly", "12.00", "--monthly-credits", "4",
                          "--rollover")
    customer = member(patronage, "member@example.com").user_id
    assert customer is not None
    token = http.post("/api/v1/auth/login", json={"email": "member@example.com",
                                                  "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    started = http.post("/api/v1/subscriptions", headers=headers,
                        json={"tier_id": str(tier_id), "billing_period": "monthly"})
    assert started.status_code == 201, started.text
    assert (started.json()["status"], started.json()["gateway"]) == ("active", "sandbox")
    subscription_id = UUID(started.json()["subscription_id"])
    before = one(db, subscriptions, subscription_id)
    assert balance(db, customer) == 4

    advanced = cli.ok("sandbox", "advance", "--days", "31")

    assert "renewed 1, failed 0, ended 0" in advanced
    after = one(db, subscriptions, subscription_id)
    assert after["status"] == "active"
    assert after["current_period_start"] == before["current_period_end"]
    assert after["current_period_end"] > before["current_period_end"]
    assert after["paid_invoice_id"] != before["paid_invoice_id"]
    entries = ledger(db, customer)
    assert [(e["type"], e["amount"], e["balance_after"]) for e in entries] == [
        ("earned_subscription", 4, 4), ("earned_subscription", 4, 8)]
    assert all(e["subscription_id"] == subscription_id for e in entries)
    assert balance(db, customer) == 8
    mine = http.get("/api/v1/me/credits", headers=headers)
    assert mine.status_code == 200 and mine.json()["balance"] == 8
    with db.connect() as conn:
        offset = conn.execute(sa.select(platform_settings.c.sandbox_clock_offset_seconds)
                              ).scalar_one()
    assert offset == 31 * 24 * 3600

    # Nothing else fell due: running the schedule again, twice, changes nothing.
    for _ in range(2):
        assert "granted 0, expired 0 credits (0 customers)" in cli.ok("credits", "expire")
    assert len(ledger(db, customer)) == 2

    listed = table_row(cli.ok("subscriptions", "list"), str(subscription_id))
    assert listed[:4] == [str(subscription_id), str(customer), "active", "monthly"]
    canceled = cli.ok("subscriptions", "cancel", str(subscription_id))
    assert f"subscription {subscription_id}: canceled" in canceled
    ended = one(db, subscriptions, subscription_id)
    assert ended["status"] == "canceled" and ended["canceled_at"] is not None
    assert table_row(cli.ok("subscriptions", "list", "--status", "canceled"),
                     str(subscription_id))[2] == "canceled"
    assert str(subscription_id) not in cli.ok("subscriptions", "list", "--status", "active")
    # Cancelling again is a no-op, not an error; an unknown id is.
    assert "canceled" in cli.ok("subscriptions", "cancel", str(subscription_id))
    unknown = cli("subscriptions", "cancel", "00000000-0000-7000-8000-000000000000")
    assert unknown.exit_code == EXIT_NOT_FOUND and "subscription.not_found" in unknown.output
    # Cancelling keeps the credits already granted.
    assert balance(db, customer) == 8


def test_credits_expire_writes_off_what_expired_once(
    cli: Cli, patronage: Patronage, db: sa.Engine
) -> None:
    customer = member(patronage, "lapsed@example.com").user_id
    assert customer is not None
    soon = (patronage.services.clock.now() + timedelta(days=5)).isoformat()
    cli.ok("credits", "adjust", "--user", "lapsed@example.com", "--amount", "3",
           "--reason", "welcome", "--expires", soon)
    cli.ok("credits", "adjust", "--user", "lapsed@example.com", "--amount", "2",
           "--reason", "kept")
    move_clock(db, days=6)

    first = cli.ok("credits", "expire")
    second = cli.ok("credits", "expire")

    assert "granted 0, expired 3 credits (1 customers)" in first
    assert "granted 0, expired 0 credits (0 customers)" in second
    entries = ledger(db, customer)
    assert [(e["type"], e["amount"], e["balance_after"]) for e in entries] == [
        ("adjustment", 3, 3), ("adjustment", 2, 5), ("expired", -3, 2)]
    assert balance(db, customer) == 2
    assert patronage.handle(AuditCredits(actor=SYSTEM)).clean


def move_clock(engine: sa.Engine, *, days: int) -> None:
    """Time passing, as the worker would see it: unlike ``sandbox advance`` this runs no
    schedule itself, so what ``credits expire`` finds is left for it to do."""
    column = platform_settings.c.sandbox_clock_offset_seconds
    with engine.begin() as conn:
        conn.execute(sa.update(platform_settings).values({column: column + days * 86400}))


def yearly_member(cli: Cli, patronage: Patronage, email: str) -> UUID:
    """A member of a yearly tier of 4 credits a month: month 0 is granted at once and
    expires when that month ends; the schedule grants each later month as it begins."""
    tier_id = create_tier(cli, "--name", "Annual", "--yearly", "120.00",
                          "--monthly-credits", "4")
    principal = member(patronage, email)
    subscribed = patronage.handle(Subscribe(actor=principal, tier_id=tier_id,
                                            billing_period="yearly"))
    assert subscribed.status == "active"
    assert principal.user_id is not None
    return principal.user_id


SECOND_MONTH = [("earned_subscription", 4, 4), ("expired", -4, 0),
                ("earned_subscription", 4, 4)]


def test_credits_expire_grants_a_yearly_members_month_and_reports_what_expired(
    cli: Cli, patronage: Patronage, db: sa.Engine
) -> None:
    customer = yearly_member(cli, patronage, "yearly@example.com")
    assert balance(db, customer) == 4
    move_clock(db, days=31)

    first = cli.ok("credits", "expire")
    second = cli.ok("credits", "expire")

    # Month 0 is written off before month 1 arrives, so the ledger reads in order.
    assert [(e["type"], e["amount"], e["balance_after"]) for e in ledger(db, customer)
            ] == SECOND_MONTH
    assert balance(db, customer) == 4
    assert "granted 0, expired 0 credits (0 customers)" in second
    # The report counts what this run wrote off, whichever step of it did so.
    assert "granted 4, expired 4 credits (1 customers)" in first, first


def test_the_embedded_default_reads_the_moved_clock_inside_a_write(
    sqlite_cli: Cli, sqlite_patronage: Patronage
) -> None:
    engine = sqlite_patronage.engine
    customer = yearly_member(sqlite_cli, sqlite_patronage, "yearly@example.com")
    move_clock(engine, days=31)

    started = time.monotonic()
    sqlite_cli.ok("credits", "expire")
    took = time.monotonic() - started

    # A fresh process first reads the sandbox clock while it holds SQLite's write lock;
    # that read must neither wait for the lock it holds nor miss the moved time.
    assert [(e["type"], e["amount"], e["balance_after"]) for e in ledger(engine, customer)
            ] == SECOND_MONTH
    assert took < 10
