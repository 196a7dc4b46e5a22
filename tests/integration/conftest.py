"""Integration fixtures: a fresh PostgreSQL database per test session, dropped afterwards."""

from __future__ import annotations

import email
import email.policy
import re
import secrets
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine, normalise_url
from adapters.sqlalchemy.tables import metadata
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.conftest import ADMIN_URL

# The cheapest parameters ASVS allows keep the suite fast; production uses more.
FAST_ARGON2 = {"memory_cost": 19456, "time_cost": 2, "parallelism": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Databases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, admin_url: str) -> None:
        self._admin = sa.create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
        self._base = normalise_url(admin_url)
        self._created: list[str] = []

    def create(self) -> str:
        name = f"patronage_test_{secrets.token_hex(4)}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return self._base.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._admin.connect() as conn:
            for name in self._created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    dbs = Databases(ADMIN_URL)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def pg_url(databases: Databases) -> str:
    url = databases.create()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


_KEEP = {"platform_settings"}


def reset_database(engine: sa.Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name not in _KEEP)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql(
            "UPDATE platform_settings SET platform_name = 'My Platform', logo_url = NULL, "
            "primary_color = '#3b82f6', hero_title = NULL, hero_subtitle = NULL, "
            "hero_background_url = NULL, hero_cta_text = NULL, hero_cta_link = NULL, "
            "featured_content_ids = '[]', contact_email = NULL, social_links = '{}', "
            "about_content = NULL, email_from_name = NULL, timezone = 'UTC', "
            "membership_grace_days = 7, sandbox_clock_offset_seconds = 0, "
            "platform_fee_percent = 30, search_language = 'english', custom_css = NULL, "
            "custom_domain = NULL, hide_platform_branding = false"
        )


@pytest.fixture
def clean_db(pg_engine: sa.Engine) -> sa.Engine:
    reset_database(pg_engine)
    return pg_engine


@pytest.fixture
def settings(pg_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=pg_url,
                    public_url="https://studio.example.com")


@pytest.fixture
def patronage(settings: Settings, clean_db: sa.Engine) -> Iterator[Patronage]:
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    yield app
    app.dispatcher.close()


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app(patronage)) as test_client:
        yield test_client


@pytest.fixture
def sqlite_patronage(tmp_path: Path) -> Iterator[Patronage]:
    """The embedded default: a migrated SQLite file of its own."""
    url = f"sqlite:///{tmp_path}/patronage.db"
    migrate.upgrade(url)
    engine = create_engine(url)
    app = bootstrap(Settings(data_dir=tmp_path / "var", database_url=url,
                             public_url="https://studio.example.com"),
                    engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    yield app
    app.dispatcher.close()
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def either_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated, empty database of each supported kind, for adapter-level tests."""
    if request.param == "postgresql":
        yield request.getfixturevalue("clean_db")
        return
    url = f"sqlite:///{tmp_path}/adapters.db"
    migrate.upgrade(url)
    sqlite = create_engine(url)
    yield sqlite
    sqlite.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db(request: pytest.FixtureRequest) -> Iterator[tuple[Patronage, TestClient[Litestar]]]:
    """The same application on each supported database, with an HTTP client."""
    app: Patronage = request.getfixturevalue(
        "patronage" if request.param == "postgresql" else "sqlite_patronage")
    with TestClient(app=create_app(app)) as test_client:
        yield app, test_client


def plain(message: EmailMessage) -> str:
    """A message's plain-text part (each email also has an HTML one)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "no plain-text part"
    text: str = body.get_content()
    return text


class Inbox:
    """Reads what the file mailer wrote, the way a user reads their mail."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        if not self._directory.exists():
            return []
        found = []
        for path in sorted(self._directory.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or message["To"] == to:
                found.append(message)
        return found

    def link_token(self, to: str, subject_contains: str) -> str:
        for message in reversed(self.messages(to)):
            if subject_contains.lower() in str(message["Subject"]).lower():
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                match = re.search(r"https?://\S+\?token=(\S+)", body.get_content())
                assert match, "no link in the message"
                return unquote(match.group(1))
        raise AssertionError(f"no message to {to} about {subject_contains!r}")


@pytest.fixture
def inbox(settings: Settings) -> Inbox:
    return Inbox(settings.outbox_dir)
