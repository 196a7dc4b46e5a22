"""Database faults over HTTP on PostgreSQL: a connection killed mid-request or between
requests, a lock wait past lock_timeout, a statement past statement_timeout. Each ends
as a clean, retryable problem (never a 500 or a trace), nothing is half-written, and
the next request works without a restart.

The app gets a database of its own, so killing its connections touches nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.executor import Executor
from domain.errors import Unavailable
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import Headers, account
from tests.integration.conftest import FAST_ARGON2, Databases

EMAIL = "fault@example.com"


class Faulty:
    def __init__(self, url: str, patronage: Patronage, client: Any) -> None:
        self.url, self.patronage, self.client = url, patronage, client
        self.admin = sa.create_engine(sa.engine.make_url(url), isolation_level="AUTOCOMMIT")
        self.database = sa.engine.make_url(url).database
        self.headers: Headers = account(patronage, client, EMAIL, Role.CUSTOMER)

    def backends(self, *, waiting_on_a_lock: bool = False) -> list[int]:
        """The app's connections to its database (only those waiting on a lock)."""
        with self.admin.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db "
                "AND application_name = 'patronage' AND pid <> pg_backend_pid() "
                "AND (NOT :waiting OR wait_event_type = 'Lock')"),
                {"db": self.database, "waiting": waiting_on_a_lock}).scalars())

    def terminate(self, pids: list[int]) -> None:
        with self.admin.connect() as conn:
            for pid in pids:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    def name(self) -> str:
        with self.admin.connect() as conn:
            return str(conn.execute(sa.text("SELECT full_name FROM users WHERE email = :e"),
                                    {"e": EMAIL}).scalar_one())

    def rename(self, name: str) -> httpx.Response:
        response: httpx.Response = self.client.patch("/api/v1/me", headers=self.headers,
                                                     json={"full_name": name})
        return response


@pytest.fixture
def faulty(databases: Databases, tmp_path: Path) -> Iterator[Faulty]:
    url = databases.create()
    migrate.upgrade(url)
    engine = create_engine(url)
    settings = Settings(data_dir=tmp_path / "var", database_url=url,
                        public_url="https://studio.example.com")
    patronage = bootstrap(settings, engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    with TestClient(app=create_app(patronage)) as client:
        made = Faulty(url, patronage, client)
        yield made
        made.admin.dispose()
    patronage.dispatcher.close()
    engine.dispose()


def assert_retryable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"]
    body = response.json()
    assert body["code"] == code
    assert "Traceback" not in response.text and "psycopg" not in response.text


class RowLock:
    """Holds the user's row locked from another session, as a long transaction would."""

    def __init__(self, faulty: Faulty) -> None:
        self._conn = sa.create_engine(sa.engine.make_url(faulty.url)).connect()
        self._conn.execute(sa.text("SELECT id FROM users WHERE email = :e FOR UPDATE"),
                           {"e": EMAIL})

    def release(self) -> None:
        self._conn.rollback()
        self._conn.close()
        self._conn.engine.dispose()


def test_a_connection_killed_mid_request_is_a_clean_503_and_nothing_is_half_written(
        faulty: Faulty) -> None:
    lock = RowLock(faulty)
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(faulty.rename("Half written")))
    waiting.start()
    try:
        deadline = time.monotonic() + 4
        while not (stuck := faulty.backends(waiting_on_a_lock=True)):
            assert time.monotonic() < deadline, "the request never waited on the lock"
            time.sleep(0.02)
        faulty.terminate(stuck)
        waiting.join(10)
    finally:
        lock.release()
    assert_retryable(answers[0], "service.database_unavailable")
    assert faulty.name() == "Fault"  # the killed transaction wrote nothing

    # No restart: the next requests work, reads and writes.
    assert faulty.client.get("/api/v1/me", headers=faulty.headers).status_code == 200
    assert faulty.rename("Written once").status_code == 200
    assert faulty.name() == "Written once"


def test_every_pooled_connection_killed_between_requests_costs_at_most_one_answer(
        faulty: Faulty) -> None:
    for _ in range(3):
        assert faulty.client.get("/api/v1/me", headers=faulty.headers).status_code == 200
    pooled = faulty.backends()
    assert pooled
    faulty.terminate(pooled)
    first = faulty.client.get("/api/v1/me", headers=faulty.headers)
    if first.status_code != 200:
        assert_retryable(first, "service.database_unavailable")
    # The pool replaced its dead connections: everything works again at once.
    for _ in range(5):
        assert faulty.client.get("/api/v1/me", headers=faulty.headers).status_code == 200
    assert faulty.rename("After the outage").status_code == 200


def test_a_lock_wait_past_lock_timeout_is_a_retryable_503_and_the_pool_stays_healthy(
        faulty: Faulty) -> None:
    lock = RowLock(faulty)
    try:
        started = time.monotonic()
        refused = faulty.rename("Waited too long")
        waited = time.monotonic() - started
    finally:
        lock.release()
    assert_retryable(refused, "service.busy")
    assert 4 < waited < 15  # lock_timeout is 5 s: bounded, never a hang
    assert faulty.name() == "Fault"
    assert faulty.rename("Next one").status_code == 200


def test_a_statement_past_statement_timeout_is_unavailable_and_the_pool_serves_on(
        faulty: Faulty) -> None:
    engine = faulty.patronage.engine
    with engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = '100ms'")
        with pytest.raises(Unavailable) as raised:
            Executor(conn)(sa.text("SELECT pg_sleep(2)"))
        assert raised.value.code == "service.busy"
        conn.rollback()
        conn.exec_driver_sql("RESET statement_timeout")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    assert faulty.client.get("/api/v1/me", headers=faulty.headers).status_code == 200
