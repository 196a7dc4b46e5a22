"""Races against PostgreSQL with real concurrent requests and connections."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.sqlalchemy.tables import auth_throttle, outbox_messages, users
from application.handlers import EVENT_HANDLERS
from application.identity.registration import RegisterCustomer
from application.messagebus import EventRouting, OutboxProcessor
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.identity.events import UserRegistered
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from tests.integration.conftest import FAST_ARGON2

Client = TestClient[Litestar]
PASSWORD = "a long and unusual passphrase"


def test_parallel_registrations_of_one_email_make_one_account(
    client: Client, clean_db: sa.Engine
) -> None:
    body = {"email": "race@example.com", "password": PASSWORD, "full_name": "Racer"}
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = Counter(pool.map(lambda _: client.post("/api/v1/auth/register",
                                                          json=body).status_code, range(10)))
    # Five requests an hour may send mail to one address; the rest are throttled.
    assert statuses == Counter({202: 5, 429: 5})
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 1


def test_parallel_failed_logins_are_all_counted(client: Client, clean_db: sa.Engine) -> None:
    client.post("/api/v1/auth/register",
                json={"email": "ann@example.com", "password": PASSWORD, "full_name": "Ann"})

    def attempt(n: int) -> int:
        return int(client.post("/api/v1/auth/login", json={
            "email": "ann@example.com", "password": f"wrong guess {n}"}).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(attempt, range(24)))
    # Each attempt is counted before its password is checked, so however many arrive
    # at once, exactly the allowed five are checked; the others are refused unchecked.
    assert statuses == Counter({401: 5, 429: 19})
    with clean_db.connect() as conn:
        recorded = conn.execute(sa.select(auth_throttle.c.failures).where(
            auth_throttle.c.key == "account:ann@example.com")).scalar_one()
    # Every attempt was counted exactly once: the upsert loses no increments.
    assert recorded == 24
    blocked = client.post("/api/v1/auth/login",
                          json={"email": "ann@example.com", "password": PASSWORD})
    assert blocked.status_code == 429


class SlowHandler:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, event: UserRegistered, uow: UnitOfWork, services: Services) -> None:
        with self.lock:
            self.calls += 1
        time.sleep(0.5)  # hold the row lock while the other workers try to claim it


def wired(settings: Settings, engine: sa.Engine, handlers: dict[Any, Any]) -> Patronage:
    from adapters.passwords.argon2_hasher import Argon2PasswordHasher

    patronage = bootstrap(settings, engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    routing = EventRouting({**EVENT_HANDLERS, **handlers})
    # Rebuild with the test routing so the slow handler is subscribed.
    from adapters.sqlalchemy.unit_of_work import uow_factory
    from application.handlers import COMMAND_HANDLERS
    from application.messagebus import MessageBus

    make_uow = uow_factory(engine, clock=patronage.services.clock, ids=patronage.services.ids,
                           subscribers=routing.handler_names_for)
    services = attrs.evolve(patronage.services, uow_factory=make_uow)
    processor = OutboxProcessor(make_uow, routing, services)
    patronage.outbox = processor
    patronage.bus = MessageBus(make_uow, services, COMMAND_HANDLERS, lambda ids: None)
    return patronage


def test_two_workers_never_run_the_same_message(
    settings: Settings, clean_db: sa.Engine
) -> None:
    slow = SlowHandler()
    patronage = wired(settings, clean_db, {UserRegistered: {"test.slow": slow}})
    patronage.handle(RegisterCustomer(email="ann@example.com", password=PASSWORD,
                                      full_name="Ann"))
    with clean_db.connect() as conn:
        (message_id,) = conn.execute(sa.select(outbox_messages.c.id).where(
            outbox_messages.c.handler == "test.slow")).scalars()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: patronage.outbox.process([message_id]), range(4)))
    assert slow.calls == 1
    assert sorted(results) == [0, 0, 0, 1]
    with clean_db.connect() as conn:
        status = conn.execute(sa.select(outbox_messages.c.status).where(
            outbox_messages.c.id == message_id)).scalar_one()
    assert status == "processed"


class FailOnce:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: UserRegistered, uow: UnitOfWork, services: Services) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("first attempt fails")


def test_failing_handler_keeps_the_command_and_retries_exactly_once(
    settings: Settings, clean_db: sa.Engine
) -> None:
    flaky = FailOnce()
    patronage = wired(settings, clean_db, {UserRegistered: {"test.flaky": flaky}})
    patronage.handle(RegisterCustomer(email="ann@example.com", password=PASSWORD,
                                      full_name="Ann"))
    with clean_db.connect() as conn:
        (message_id,) = conn.execute(sa.select(outbox_messages.c.id).where(
            outbox_messages.c.handler == "test.flaky")).scalars()
    assert patronage.outbox.process([message_id]) == 0
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 1
        row = conn.execute(sa.select(outbox_messages).where(
            outbox_messages.c.id == message_id)).mappings().one()
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "first attempt fails" in row["last_error"]
    with clean_db.begin() as conn:
        conn.execute(sa.update(outbox_messages).where(outbox_messages.c.id == message_id)
                     .values(next_attempt_at=sa.func.now() - sa.text("interval '1 hour'")))
    # Several workers pass over it at once; it still runs a single more time.
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda _: patronage.process_outbox(), range(3)))
    patronage.process_outbox()
    assert flaky.calls == 2
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(outbox_messages.c.status).where(
            outbox_messages.c.id == message_id)).scalar_one() == "processed"


def test_a_held_lock_becomes_a_retryable_503_not_a_hang(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    from application.identity.registration import CreateUser
    from application.principal import Principal
    from domain.identity.roles import Role

    patronage.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                                password=PASSWORD, full_name="O", role=Role.PLATFORM_OWNER))
    token = client.post("/api/v1/auth/login", json={"email": "owner@example.com",
                                                    "password": PASSWORD}).json()["token"]
    with clean_db.connect() as holder:
        holder.exec_driver_sql("SELECT id FROM platform_settings FOR UPDATE")
        started = time.monotonic()
        response = client.patch("/api/v1/settings", json={"platform_name": "Blocked"},
                                headers={"Authorization": f"Bearer {token}"})
        waited = time.monotonic() - started
        holder.rollback()
    assert response.status_code == 503
    assert response.json()["code"] == "service.busy"
    assert response.headers["Retry-After"] == "1"
    assert waited < 15  # bounded by lock_timeout, not by the holder
    assert client.get("/api/v1/settings").json()["platform_name"] == "My Platform"
