"""The ``patronage`` command line, run in-process with Typer's CliRunner against PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.tables import auth_sessions, outbox_messages, platform_settings, users
from application.identity.login import Login
from application.identity.registration import RegisterCustomer
from domain.errors import Forbidden
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.cli.main import app
from entrypoints.config import Settings
from tests.integration.conftest import FAST_ARGON2, Databases, free_port

OWNER = "owner@example.com"
PASSWORD = "a long and secret passphrase"
REVISIONS = [
    "0001_phase1", "0002_phase2", "0003_phase3", "0004_phase4", "0005_catalog_reads",
    "0006_commerce", "0007_hardening", "0008_memberships", "0009_offerings",
    "0010_installments", "0011_credit_packs", "0012_catalog_search",
    "0013_media_owners", "0014_notifications", "0015_analytics",
    "0016_resume_positions",
]
HEAD = REVISIONS[-1]


class Cli:
    """Runs ``patronage ...`` with the environment an operator would export."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None,
                 env: dict[str, str] | None = None) -> Result:
        return self._runner.invoke(app, list(args), input=input, env={**self.env, **(env or {})})

    def create_user(self, address: str, role: str = "customer",
                    password: str = PASSWORD) -> Result:
        return self("users", "create", "--email", address, "--role", role, "--password-stdin",
                    input=f"{password}\n")


@pytest.fixture
def env(pg_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PATRONAGE_DATABASE_URL": pg_url,
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "PATRONAGE_ARGON2_MEMORY_KIB": str(FAST_ARGON2["memory_cost"]),
        "PATRONAGE_ARGON2_TIME_COST": str(FAST_ARGON2["time_cost"]),
        "PATRONAGE_ARGON2_PARALLELISM": str(FAST_ARGON2["parallelism"]),
        "PATRONAGE_MAILER": "file",
    }


@pytest.fixture
def cli(env: dict[str, str], clean_db: sa.Engine) -> Cli:
    return Cli(env)


@pytest.fixture
def same_app(pg_url: str, tmp_path: Path, clean_db: sa.Engine) -> Iterator[Patronage]:
    """The app in-process, on the same database and data directory as the CLI."""
    settings = Settings(database_url=pg_url, data_dir=tmp_path)
    patronage = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    yield patronage
    patronage.dispatcher.close()


def _user(engine: sa.Engine, address: str) -> sa.RowMapping | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(users).where(users.c.email == address)).mappings().first()


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return result


# ------------------------------------------------------------------ users create


def test_users_create_reads_the_password_from_stdin(cli: Cli, clean_db: sa.Engine) -> None:
    result = _ok(cli.create_user(OWNER, role="platform_owner"))

    row = _user(clean_db, OWNER)
    assert row is not None
    assert row["role"] == "platform_owner"
    assert row["email_verified_at"] is not None
    assert row["full_name"] == "owner"
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    # Rich wraps long lines at 80 columns when not on a terminal; compare words.
    words = " ".join(result.stdout.split())
    assert f"created {OWNER} (platform_owner) id={row['id']}" in words
    assert PASSWORD not in result.output
    assert PASSWORD not in result.stderr
    with clean_db.connect() as conn:
        # A verified account needs no verification email.
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox_messages)).scalar() == 0


def test_users_create_password_works_for_login(
    cli: Cli, same_app: Patronage, clean_db: sa.Engine
) -> None:
    _ok(cli.create_user("Mixed.Case@Example.com", role="customer"))

    row = _user(clean_db, "mixed.case@example.com")
    assert row is not None
    result = same_app.handle(Login(email="mixed.case@example.com", password=PASSWORD))
    assert result.user_id == row["id"]


def test_users_create_prompts_for_the_password_without_echoing_it(
    cli: Cli, clean_db: sa.Engine
) -> None:
    result = _ok(cli("users", "create", "--email", "prompted@example.com", "--full-name",
                     "Pat Prompt", input=f"{PASSWORD}\n{PASSWORD}\n"))

    assert "Password" in result.output
    assert PASSWORD not in result.output
    row = _user(clean_db, "prompted@example.com")
    assert row is not None
    assert row["role"] == "customer"
    assert row["full_name"] == "Pat Prompt"


def test_users_create_with_a_taken_email_exits_5(cli: Cli, clean_db: sa.Engine) -> None:
    _ok(cli.create_user(OWNER, role="platform_owner"))

    result = cli.create_user(OWNER.upper(), role="customer")

    assert result.exit_code == 5, result.output
    assert "already exists" in result.stderr
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 1
    assert "user.email_taken" in result.stderr


def test_users_create_with_a_short_password_exits_3(cli: Cli, clean_db: sa.Engine) -> None:
    result = cli.create_user(OWNER, role="platform_owner", password="abcde")

    assert result.exit_code == 3, result.output
    assert "at least 8 characters" in result.stderr
    assert "abcde" not in result.output
    assert _user(clean_db, OWNER) is None


def test_users_create_with_an_unknown_role_is_a_usage_error(
    cli: Cli, clean_db: sa.Engine
) -> None:
    result = cli.create_user(OWNER, role="emperor")

    assert result.exit_code == 2
    assert _user(clean_db, OWNER) is None


def test_users_list_shows_accounts(cli: Cli) -> None:
    _ok(cli.create_user(OWNER, role="platform_owner"))
    _ok(cli.create_user("fan@example.com"))

    everyone = _ok(cli("users", "list")).stdout
    owners = _ok(cli("users", "list", "--role", "platform_owner")).stdout

    assert OWNER in everyone
    assert "fan@example.com" in everyone
    [owner_line] = [line for line in everyone.splitlines() if OWNER in line]
    assert "platform_owner" in owner_line
    assert "yes" in owner_line
    assert OWNER in owners
    assert "fan@example.com" not in owners


def test_users_list_shows_a_long_email_in_full_when_piped(cli: Cli) -> None:
    address = "subscriptions.and.billing@studio-of-examples.example.com"
    _ok(cli.create_user(address, role="platform_owner"))

    listed = _ok(cli("users", "list")).stdout

    # Operators pipe this into grep; the address must survive a non-terminal stdout.
    assert address in listed


def test_bad_configuration_exits_3(cli: Cli) -> None:
    result = cli("users", "list", env={"PATRONAGE_ARGON2_TIME_COST": "three"})

    assert result.exit_code == 3, result.output
    assert "PATRONAGE_ARGON2_TIME_COST" in result.stderr


# ------------------------------------------------------------------ set-role, disable


def test_set_role_keeps_the_last_platform_owner(cli: Cli, clean_db: sa.Engine) -> None:
    _ok(cli.create_user(OWNER, role="platform_owner"))

    refused = cli("users", "set-role", OWNER, "customer")

    assert refused.exit_code == 5, refused.output
    assert "at least one active platform owner" in refused.stderr
    row = _user(clean_db, OWNER)
    assert row is not None
    assert row["role"] == "platform_owner"

    _ok(cli.create_user("second@example.com", role="platform_owner"))
    done = _ok(cli("users", "set-role", OWNER, "customer"))

    assert f"{OWNER} is now customer" in done.stdout
    row = _user(clean_db, OWNER)
    assert row is not None
    assert row["role"] == "customer"
    # The error names its code, for scripts and for searching the docs.
    assert "user.last_owner" in refused.stderr


def test_set_role_of_an_unknown_email_exits_4(cli: Cli) -> None:
    result = cli("users", "set-role", "nobody@example.com", "customer")

    assert result.exit_code == 4, result.output
    assert "No account with email nobody@example.com" in result.stderr


def test_users_disable_ends_sessions_and_blocks_login(
    cli: Cli, same_app: Patronage, clean_db: sa.Engine
) -> None:
    _ok(cli.create_user(OWNER, role="platform_owner"))
    _ok(cli.create_user("fan@example.com"))
    session = same_app.handle(Login(email="fan@example.com", password=PASSWORD))

    result = _ok(cli("users", "disable", "fan@example.com"))

    assert "fan@example.com disabled" in result.stdout
    row = _user(clean_db, "fan@example.com")
    assert row is not None
    assert row["disabled_at"] is not None
    with clean_db.connect() as conn:
        revoked_at = conn.execute(
            sa.select(auth_sessions.c.revoked_at).where(auth_sessions.c.id == session.session_id)
        ).scalar_one()
    assert revoked_at is not None
    with pytest.raises(Forbidden):
        same_app.handle(Login(email="fan@example.com", password=PASSWORD))
    listed = _ok(cli("users", "list")).stdout
    [fan_line] = [line for line in listed.splitlines() if "fan@example.com" in line]
    assert fan_line.count("yes") == 2  # verified and disabled

    _ok(cli("users", "enable", "fan@example.com"))
    row = _user(clean_db, "fan@example.com")
    assert row is not None
    assert row["disabled_at"] is None


def test_users_disable_refuses_the_last_platform_owner(cli: Cli, clean_db: sa.Engine) -> None:
    _ok(cli.create_user(OWNER, role="platform_owner"))

    result = cli("users", "disable", OWNER)

    assert result.exit_code == 5, result.output
    row = _user(clean_db, OWNER)
    assert row is not None
    assert row["disabled_at"] is None


def test_users_disable_of_an_unknown_email_exits_4(cli: Cli) -> None:
    result = cli("users", "disable", "nobody@example.com")

    assert result.exit_code == 4, result.output
    assert "nobody@example.com" in result.stderr


# ------------------------------------------------------------------ settings


def _primary_color(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(platform_settings.c.primary_color)).scalar_one())


def test_settings_set_and_show_primary_color(cli: Cli, clean_db: sa.Engine) -> None:
    result = _ok(cli("settings", "set", "primary_color", "#112233"))
    assert "primary_color = '#112233'" in result.stdout

    shown = _ok(cli("settings", "show")).stdout
    [line] = [line for line in shown.splitlines() if "primary_color" in line]
    assert "#112233" in line
    assert _primary_color(clean_db) == "#112233"


def test_settings_set_rejects_a_named_colour(cli: Cli, clean_db: sa.Engine) -> None:
    result = cli("settings", "set", "primary_color", "red")

    assert result.exit_code == 3, result.output
    assert "hex colour" in result.stderr
    assert _primary_color(clean_db) == "#3b82f6"
    assert "validation.colour" in result.stderr


def test_settings_set_rejects_an_unknown_key(cli: Cli) -> None:
    result = cli("settings", "set", "stripe_account_id", "acct_123")

    assert result.exit_code == 3, result.output
    assert "stripe_account_id" in result.stderr


def test_settings_set_featured_content_ids_takes_json(cli: Cli, clean_db: sa.Engine) -> None:
    ok = _ok(cli("settings", "set", "featured_content_ids", "[]"))
    assert "featured_content_ids = []" in ok.stdout

    bad = cli("settings", "set", "featured_content_ids", "not json")
    assert bad.exit_code == 3, bad.output
    assert "featured_content_ids takes JSON" in bad.stderr

    unpublished = cli("settings", "set", "featured_content_ids",
                      json.dumps([str(UUID(int=1))]))
    assert unpublished.exit_code == 3, unpublished.output
    assert "published content" in unpublished.stderr

    shown = _ok(cli("settings", "show")).stdout
    [line] = [line for line in shown.splitlines() if "featured_content_ids" in line]
    assert "[]" in line
    with clean_db.connect() as conn:
        stored = conn.execute(sa.select(platform_settings.c.featured_content_ids)).scalar_one()
    assert stored == []


def test_settings_set_social_links_and_clear_a_text_setting(
    cli: Cli, clean_db: sa.Engine
) -> None:
    _ok(cli("settings", "set", "social_links", '{"mastodon": "https://social.example/@me"}'))
    _ok(cli("settings", "set", "hero_title", "Welcome"))
    _ok(cli("settings", "set", "hero_title", ""))

    with clean_db.connect() as conn:
        row = conn.execute(sa.select(platform_settings)).mappings().one()
    assert row["social_links"] == {"mastodon": "https://social.example/@me"}
    assert row["hero_title"] is None
    shown = _ok(cli("settings", "show")).stdout
    assert "mastodon" in shown


# ------------------------------------------------------------------ db


def test_db_current_reports_the_head(cli: Cli) -> None:
    result = _ok(cli("db", "current"))

    assert HEAD in result.stdout
    assert "up to date" in result.stdout
    assert migrate.head() == HEAD


def test_db_history_lists_every_revision_oldest_first(cli: Cli) -> None:
    result = _ok(cli("db", "history"))

    lines = [line for line in result.stdout.splitlines() if "->" in line]
    assert len(lines) == len(REVISIONS)
    assert lines[0].startswith("base -> 0001_phase1: Phase 1")
    for line, (down, revision) in zip(lines[1:], itertools.pairwise(REVISIONS), strict=True):
        assert line.startswith(f"{down} -> {revision}: ")


def test_db_upgrade_and_downgrade_an_empty_database(
    databases: Databases, env: dict[str, str]
) -> None:
    cli = Cli({**env, "PATRONAGE_DATABASE_URL": databases.create()})

    before = _ok(cli("db", "current")).stdout
    assert "base" in before
    assert f"behind (head is {HEAD})" in before

    assert f"database at {HEAD}" in _ok(cli("db", "upgrade")).stdout
    assert "up to date" in _ok(cli("db", "current")).stdout

    assert "database at 0003_phase3" in _ok(cli("db", "downgrade", "0003_phase3")).stdout
    assert f"behind (head is {HEAD})" in _ok(cli("db", "current")).stdout


def test_db_downgrade_accepts_the_relative_revision_its_help_shows(
    databases: Databases, env: dict[str, str]
) -> None:
    cli = Cli({**env, "PATRONAGE_DATABASE_URL": databases.create()})
    _ok(cli("db", "upgrade"))
    assert "e.g. -1 or base" in " ".join(_ok(cli("db", "downgrade", "--help")).stdout.split())

    result = cli("db", "downgrade", "-1")

    assert result.exit_code == 0, result.output
    assert f"database at {REVISIONS[-2]}" in result.stdout


# ------------------------------------------------------------------ worker


def test_worker_once_with_nothing_due(cli: Cli, clean_db: sa.Engine) -> None:
    result = _ok(cli("worker", "--once"))

    assert "processed" not in result.stdout
    # It brings the analytics up to date (today and yesterday, with nothing in them).
    assert "analytics: 2 day(s)" in result.stdout and "0 row(s)" in result.stdout
    with clean_db.connect() as conn:
        watermark = conn.execute(sa.text("SELECT watermark FROM analytics_runs "
                                         "WHERE name = 'daily'")).scalar_one()
    assert watermark is not None


def test_worker_once_delivers_a_pending_email(
    cli: Cli, pg_url: str, tmp_path: Path, clean_db: sa.Engine
) -> None:
    # Register while the mail server is down, so the verification email stays pending.
    broken = bootstrap(
        Settings(database_url=pg_url, data_dir=tmp_path, mailer="smtp", smtp_host="127.0.0.1",
                 smtp_port=free_port(), smtp_security="none"),
        engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2),
    )
    broken.handle(RegisterCustomer(email="late@example.com", password=PASSWORD,
                                   full_name="Late Reader"))
    with clean_db.begin() as conn:
        [pending] = conn.execute(sa.select(outbox_messages)).mappings().all()
        assert pending["status"] == "pending"
        assert pending["attempts"] == 1
        conn.execute(sa.text(
            "UPDATE outbox_messages SET next_attempt_at = now() - interval '1 hour'"
        ))

    result = _ok(cli("worker", "--once"))

    assert "processed 1 message(s)" in result.stdout
    with clean_db.connect() as conn:
        status = conn.execute(sa.select(outbox_messages.c.status)).scalar_one()
    assert status == "processed"
    [eml] = sorted((tmp_path / "outbox").glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "late@example.com"
    assert message["Subject"] == "Confirm your email address"
    assert "processed" not in _ok(cli("worker", "--once")).stdout


def test_settings_set_takes_numbers_and_flags_as_json(cli: Cli, clean_db: sa.Engine) -> None:
    _ok(cli("settings", "set", "membership_grace_days", "3"))
    _ok(cli("settings", "set", "hide_platform_branding", "true"))
    _ok(cli("settings", "set", "platform_fee_percent", "25"))
    _ok(cli("settings", "set", "custom_css", "h1 { color: red; background: url(//x.example/a) }"))
    with clean_db.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT membership_grace_days, hide_platform_branding, platform_fee_percent, "
            "custom_css FROM platform_settings")).one()
    assert (row.membership_grace_days, row.hide_platform_branding) == (3, True)
    assert str(row.platform_fee_percent) == "25.00"
    assert row.custom_css == "h1 { color: red }"
    bad = cli("settings", "set", "hide_platform_branding", "maybe")
    assert bad.exit_code == 3 and "hide_platform_branding takes JSON" in bad.stderr
