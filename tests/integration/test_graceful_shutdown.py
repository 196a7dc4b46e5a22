"""SIGTERM, as an orchestrator sends it: a server finishes the requests in flight, a
worker finishes the message in hand; nothing is lost or handled twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.tables import email_logs, outbox_messages
from application.identity.registration import RegisterCustomer
from application.ports.mail import MailDeliveryError, OutgoingEmail
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from tests.integration.conftest import free_port
from tests.integration.servers import BIN, demo_platform, server_env, wait_until_up

PASSWORD = "a long and unusual passphrase"


def test_a_server_finishes_the_request_in_flight_on_sigterm(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", free_port())
    owner_email, owner_password = demo_platform(env)
    base = env["PATRONAGE_PUBLIC_URL"]
    server = subprocess.Popen([str(BIN / "patronage"), "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(base, server)
        token = httpx.post(f"{base}/api/v1/auth/login", json={
            "email": owner_email, "password": owner_password}).json()["token"]
        # Another writer holds SQLite's write lock: the request waits for it.
        holder = sqlite3.connect(tmp_path / "var" / "patronage.db")
        holder.execute("BEGIN IMMEDIATE")
        answers: list[httpx.Response] = []
        request = threading.Thread(target=lambda: answers.append(httpx.patch(
            f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
            json={"full_name": "Renamed in flight"}, timeout=30)))
        request.start()
        time.sleep(1.0)  # the request is in flight, waiting on the lock
        server.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        holder.rollback()
        holder.close()
        request.join(30)
        assert answers and answers[0].status_code == 200, answers
        assert server.wait(30) is not None  # and then it stopped
    finally:
        if server.poll() is None:
            server.kill()
    with sqlite3.connect(tmp_path / "var" / "patronage.db") as db:
        names = [r[0] for r in db.execute("SELECT full_name FROM users WHERE email = ?",
                                          (owner_email,))]
    assert names == ["Renamed in flight"]


class SlowServer:
    """An SMTP server that takes its time over each message."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started.set()
        import asyncio

        await asyncio.sleep(2)
        self.received.append(bytes(envelope.content))
        return "250 OK"


class Refusing:
    provider = "refusing"

    def send(self, message: OutgoingEmail) -> str | None:
        raise MailDeliveryError("not now")


def test_a_worker_finishes_the_message_in_hand_then_stops(tmp_path: Path) -> None:
    data = tmp_path / "var"
    settings = Settings(data_dir=data)
    migrate.upgrade(settings.effective_database_url)
    # A verification email whose first delivery failed: due again now.
    core = bootstrap(settings, mailer=Refusing())
    core.handle(RegisterCustomer(email="new@example.com", password=PASSWORD,
                                 full_name="New Customer"))
    core.wait_for_events()
    with core.engine.begin() as conn:
        due = conn.execute(sa.update(outbox_messages)
                           .where(outbox_messages.c.status == "pending")
                           .values(next_attempt_at=sa.func.current_timestamp())
                           .returning(outbox_messages.c.id)).scalars().all()
        # The failed attempt is on record (on SQLite its log once waited on the
        # handler's own write lock and was lost).
        failed = conn.execute(sa.select(sa.func.count()).select_from(email_logs)
                              .where(email_logs.c.status == "failed")).scalar_one()
    core.close()
    assert len(due) == 1
    assert failed == 1

    smtp = SlowServer()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "PATRONAGE_DATA_DIR": str(data), "PATRONAGE_MAILER": "smtp",
           "PATRONAGE_SMTP_HOST": "127.0.0.1", "PATRONAGE_SMTP_PORT": str(port),
           "PATRONAGE_SMTP_SECURITY": "none"}
    env.pop("PATRONAGE_DATABASE_URL", None)
    worker = subprocess.Popen([str(BIN / "patronage"), "worker", "--interval", "0.2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert smtp.started.wait(30), "the worker never delivered"
        worker.send_signal(signal.SIGTERM)  # mid-delivery
        output = worker.communicate(timeout=30)[0].decode()
    finally:
        if worker.poll() is None:
            worker.kill()
        controller.stop()
    assert worker.returncode == 0, output
    assert "worker stopped" in output
    assert len(smtp.received) == 1  # delivered, once
    with sa.create_engine(settings.effective_database_url).connect() as conn:
        status = conn.execute(sa.select(outbox_messages.c.status)
                              .where(outbox_messages.c.id == due[0])).scalar_one()
    assert status == "processed"
