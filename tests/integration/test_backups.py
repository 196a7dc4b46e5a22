"""`patronage db backup | restore | verify-backup` on both databases, under write load.

A writer keeps registering accounts while the backup runs: the backup must still be one
consistent snapshot (every account it holds is whole), restore must bring exactly that
snapshot back, and verify-backup must prove it (migrations at head, row counts, credit
balances equal to their ledger).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from tests.integration.conftest import FAST_ARGON2, Databases
from tests.integration.servers import patronage

PASSWORD = "a long and unusual passphrase"


def users_in(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT email FROM users")).scalars())
    finally:
        engine.dispose()


class Writer:
    """Creates unverified accounts (a user and its outbox rows, one transaction each)."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.app = bootstrap(Settings(database_url=url, data_dir=data_dir),
                             hasher=Argon2PasswordHasher(**FAST_ARGON2))
        self.stop = threading.Event()
        self.written: list[str] = []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            email = f"load-{uuid.uuid4().hex[:10]}@example.com"
            self.app.handle(CreateUser(actor=Principal.system(), email=email,
                                       password=PASSWORD, full_name="Load", role=Role.CUSTOMER,
                                       verified=False))
            self.written.append(email)

    def __enter__(self) -> Writer:
        self.thread.start()
        while len(self.written) < 5:  # the load is running before the backup starts
            self.stop.wait(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.app.close()


def add_credits(url: str, *, consistent: bool) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        user = conn.execute(sa.text("SELECT id FROM users LIMIT 1")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO credit_transactions (id, customer_id, type, amount, balance_after) "
            "VALUES (:id, :user, 'adjustment', 10, 10)"), {"id": uuid.uuid4(), "user": user})
        conn.execute(sa.text(
            "INSERT INTO credit_balances (id, customer_id, current_balance, lifetime_earned) "
            "VALUES (:id, :user, :balance, 10)"),
            {"id": uuid.uuid4(), "user": user, "balance": 10 if consistent else 7})
    engine.dispose()


@pytest.fixture
def pg(databases: Databases, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    url = databases.create()
    migrate.upgrade(url)
    env = {**os.environ, "PATRONAGE_DATABASE_URL": url,
           "PATRONAGE_DATA_DIR": str(tmp_path / "var")}
    yield url, env


def test_postgresql_round_trip_under_write_load(pg: tuple[str, dict[str, str]],
                                                databases: Databases, tmp_path: Path) -> None:
    url, env = pg
    dump = tmp_path / "backups" / "patronage.dump"
    with Writer(url, tmp_path / "var") as writer:
        before = set(writer.written)
        made = patronage(["db", "backup", str(dump)], env)
        during = set(writer.written)
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 0 and str(dump) in made.stdout
    add_credits(url, consistent=True)  # after the dump: the restore must not have it

    checked = patronage(["db", "verify-backup", str(dump)], env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "backup OK" in checked.stdout and migrate.head() in checked.stdout

    # Restore into another database: exactly the snapshot, whole accounts only.
    target = databases.create()
    refused = patronage(["db", "restore", str(dump)], {**env, "PATRONAGE_DATABASE_URL": target})
    assert refused.returncode == 5 and "--yes" in refused.stderr
    restored = patronage(["db", "restore", str(dump), "--yes"],
                             {**env, "PATRONAGE_DATABASE_URL": target})
    assert restored.returncode == 0, restored.stderr
    snapshot = users_in(target)
    load = {e for e in snapshot if e.startswith("load-")}
    assert before <= load <= during
    assert migrate.current(target) == migrate.head()
    engine = create_engine(target)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM credit_balances")).scalar_one() == 0
        # Every restored account came with its outbox rows: no half-written registration.
        orphans = conn.execute(sa.text(
            "SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM outbox_messages m "
            "WHERE m.payload::text LIKE '%' || u.id::text || '%')")).scalar_one()
    engine.dispose()
    assert orphans == 0


def test_verify_backup_fails_on_a_ledger_that_does_not_add_up(
        pg: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = pg
    bootstrap(Settings(database_url=url, data_dir=tmp_path / "var"),
              hasher=Argon2PasswordHasher(**FAST_ARGON2)).handle(CreateUser(
                  actor=Principal.system(), email="c@example.com", password=PASSWORD,
                  full_name="C", role=Role.CUSTOMER))
    add_credits(url, consistent=False)
    dump = tmp_path / "bad.dump"
    assert patronage(["db", "backup", str(dump)], env).returncode == 0
    checked = patronage(["db", "verify-backup", str(dump)], env)
    assert checked.returncode == 5, checked.stdout
    assert "differ from their ledger" in checked.stdout


def test_a_missing_backup_is_a_clear_error(pg: tuple[str, dict[str, str]],
                                           tmp_path: Path) -> None:
    _, env = pg
    result = patronage(["db", "verify-backup", str(tmp_path / "nothing.dump")], env)
    assert result.returncode == 4
    assert "backup.not_found" in result.stderr


def test_sqlite_round_trip_with_media_under_write_load(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {**os.environ, "PATRONAGE_DATA_DIR": str(data)}
    env.pop("PATRONAGE_DATABASE_URL", None)
    assert patronage(["db", "upgrade"], env).returncode == 0
    url = f"sqlite:///{data / 'patronage.db'}"
    media = data / "media" / "content" / "a.mp4"
    media.parent.mkdir(parents=True)
    media.write_bytes(b"\x00video bytes")

    copy = tmp_path / "backups" / "patronage.db"
    with Writer(url, data) as writer:
        before = set(writer.written)
        made = patronage(["db", "backup", str(copy)], env)
        during = set(writer.written)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "backups" / "patronage.db.media.tar").is_file()
    checked = patronage(["db", "verify-backup", str(copy)], env)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    media.unlink()
    restored = patronage(["db", "restore", str(copy), "--yes"], env)
    assert restored.returncode == 0, restored.stderr
    assert media.read_bytes() == b"\x00video bytes"
    load = {e for e in users_in(url) if e.startswith("load-")}
    assert before <= load <= during
