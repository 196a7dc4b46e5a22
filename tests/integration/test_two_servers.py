"""Two `patronage serve` processes on one PostgreSQL database behave as one platform:
sessions, login throttling, double-clicked purchases, a webhook delivered to both at
once, and signed media URLs all hold across them. Both servers share the secret key
and the data folder (for local media), as `docs/deployment.md` says they must. And two
`patronage worker` processes handle each outbox message once, even when one of them is
killed in the middle of a delivery and started again."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
import stripe
from aiosmtpd.controller import Controller

from adapters.sqlalchemy import migrate
from application.identity.registration import RegisterCustomer
from application.ports.mail import MailDeliveryError, OutgoingEmail
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from tests.integration.conftest import Databases, free_port
from tests.integration.servers import (
    BIN,
    FAST_ARGON2_ENV,
    demo_platform,
    server_env,
    serving,
    wait_until_outbox_drained,
)
from tests.integration.test_stripe_gateway import Recorded, Reply, StripeRecorder

WEBHOOK_SECRET = "whsec_two_servers"
PASSWORD = "a long and unusual passphrase"


class FaithfulRecorder(StripeRecorder):
    """Answers like Stripe for customers and payments: new ids, the same answer again
    for a repeated Idempotency-Key."""

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self.replies["/v1/customers"] = self._customer
        self.replies["/v1/payment_intents"] = self._intent

    def _once(self, request: Recorded, make: Any) -> Reply:
        key = request.headers.get("idempotency-key") or uuid.uuid4().hex
        with self._lock:
            if key not in self._answers:
                self._answers[key] = make()
            return self._answers[key]

    def _customer(self, request: Recorded) -> Reply:
        return self._once(request, lambda: (
            200, {"id": f"cus_{uuid.uuid4().hex[:14]}", "object": "customer"}, {}))

    def _intent(self, request: Recorded) -> Reply:
        def make() -> Reply:
            intent = f"pi_{uuid.uuid4().hex[:20]}"
            return 200, {"id": intent, "object": "payment_intent",
                         "amount": int(request.form.get("amount", "0")),
                         "currency": request.form.get("currency", "usd"),
                         "status": "requires_payment_method",
                         "client_secret": f"{intent}_secret_x",
                         "metadata": {"purchase_id": request.form.get(
                             "metadata[purchase_id]")}}, {}
        return self._once(request, make)


@pytest.fixture
def pair(tmp_path: Path, databases: Databases) -> Iterator[tuple[str, str, str, str, str]]:
    """Servers A and B; the owner's email and password; the database URL."""
    url = databases.create()
    recorder = FaithfulRecorder()
    port_a, port_b = free_port(), free_port()
    shared = {"PATRONAGE_DATABASE_URL": url, "PATRONAGE_SECRET_KEY": secrets.token_urlsafe(48),
              "PATRONAGE_PAYMENTS": "stripe", "PATRONAGE_STRIPE_SECRET_KEY": "sk_test_two",
              "PATRONAGE_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
              "PATRONAGE_STRIPE_API_BASE": recorder.url}
    data = tmp_path / "shared-var"
    env_a = server_env(data, port_a, **shared)
    env_b = server_env(data, port_b, **shared)
    owner, password = demo_platform(env_a)
    with ExitStack() as stack:
        stack.callback(recorder.close)
        a = stack.enter_context(serving(env_a))
        b = stack.enter_context(serving(env_b))
        yield a.base, b.base, owner, password, url


def login(base: str, email: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password},
                      timeout=30)


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_two_servers_behave_as_one(pair: tuple[str, str, str, str, str]) -> None:
    a, b, owner_email, owner_password, url = pair
    owner = bearer(login(a, owner_email, owner_password))
    for email in ("buyer@example.com", "target@example.com"):
        made = httpx.post(f"{b}/api/v1/admin/users", headers=owner, json={
            "email": email, "password": PASSWORD, "full_name": "Someone",
            "role": "customer"}, timeout=30)
        assert made.status_code == 201, made.text

    # A session made on A works on B; logging out on B ends it on A at once.
    session = bearer(login(a, "buyer@example.com"))
    assert httpx.get(f"{b}/api/v1/me", headers=session).status_code == 200
    assert httpx.post(f"{b}/api/v1/auth/logout", headers=session).status_code in (200, 204)
    assert httpx.get(f"{a}/api/v1/me", headers=session).status_code == 401

    # Failed logins count on both: five on either, then both refuse.
    answers = [login(server, "target@example.com", "wrong password, sorry").status_code
               for server in (a, b, a, b, a)]
    assert answers == [401] * 5
    assert login(b, "target@example.com", "wrong password, sorry").status_code == 429
    assert login(a, "target@example.com", "wrong password, sorry").status_code == 429

    # Twenty parallel purchases of one item by one buyer, spread over A and B: one.
    buyer = bearer(login(b, "buyer@example.com"))
    items = httpx.get(f"{a}/api/v1/content?limit=50").json()["items"]
    item = next(i for i in items if i["price"])

    def buy(n: int) -> httpx.Response:
        return httpx.post(f"{(a, b)[n % 2]}/api/v1/purchases", headers=buyer,
                          json={"content_id": item["id"]}, timeout=30)

    with ThreadPoolExecutor(20) as pool:
        clicks = list(pool.map(buy, range(20)))
    assert {c.status_code for c in clicks} <= {201, 409}, [c.text for c in clicks]
    named = {c.json()["purchase_id"] for c in clicks if c.status_code == 201}
    assert len(named) == 1
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id::text FROM purchases WHERE content_id = :c"), {"c": item["id"]}).all()
    assert [r[0] for r in rows] == list(named)

    # The same webhook delivered to A and B at the same moment: one grant, one email.
    secret = next(c.json()["client_secret"] for c in clicks if c.status_code == 201)
    intent, purchase_id = secret.split("_secret")[0], next(iter(named))
    body = json.dumps({
        "id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "payment_intent.succeeded",
        "created": int(time.time()), "data": {"object": {
            "id": intent, "object": "payment_intent",
            "amount": int(Decimal(item["price"]) * 100), "currency": item["currency"],
            "status": "succeeded", "metadata": {"purchase_id": purchase_id}}}}).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), WEBHOOK_SECRET, timestamp=int(time.time()))
    barrier = threading.Barrier(2)

    def deliver(server: str) -> str:
        barrier.wait()
        response = httpx.post(f"{server}/api/v1/webhooks/stripe", content=body,
                              headers={"Stripe-Signature": header}, timeout=30)
        assert response.status_code == 200, response.text
        return str(response.json()["outcome"])

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(deliver, (a, b)))
    assert outcomes == ["applied", "duplicate"]
    deadline = time.monotonic() + 30
    while True:
        with engine.connect() as conn:
            grants = conn.execute(sa.text(
                "SELECT count(*) FROM content_access WHERE content_id = :c "
                "AND access_type = 'purchased'"), {"c": item["id"]}).scalar_one()
            receipts = conn.execute(sa.text(
                "SELECT count(*) FROM email_logs WHERE email_type = 'purchase_receipt' "
                "AND status = 'sent'")).scalar_one()
        if receipts:
            break
        assert time.monotonic() < deadline, "no receipt was sent"
        time.sleep(0.2)
    time.sleep(1)  # had a second receipt been queued, it would be out by now
    with engine.connect() as conn:
        receipts = conn.execute(sa.text(
            "SELECT count(*) FROM email_logs WHERE email_type = 'purchase_receipt'")
        ).scalar_one()
    engine.dispose()
    assert (grants, receipts) == (1, 1)

    # A signed media URL issued by A is honoured by B (the same secret key).
    video = next(i for i in items if i["content_type"] == "video")
    played = httpx.post(f"{a}/api/v1/content/{video['id']}/playback", headers=owner,
                        timeout=30)
    assert played.status_code == 200, played.text
    path = urlsplit(played.json()["url"]).path
    fetched = httpx.get(f"{b}{path}", timeout=30)
    assert fetched.status_code in (200, 206), fetched.text[:200]
    assert fetched.content


class SlowSmtp:
    """Takes a second over each message; counts what it accepted, by recipient."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.started = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started.set()
        await asyncio.sleep(1)
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


class Refusing:
    provider = "refusing"

    def send(self, message: OutgoingEmail) -> str | None:
        raise MailDeliveryError("not now")


def test_two_workers_handle_each_message_once_even_when_one_is_killed(
        tmp_path: Path, databases: Databases) -> None:
    url = databases.create()
    migrate.upgrade(url)
    # Six verification emails whose first delivery failed, all due again now.
    core = bootstrap(Settings(data_dir=tmp_path / "var", database_url=url),
                     mailer=Refusing())
    for n in range(6):
        core.handle(RegisterCustomer(email=f"new{n}@example.com", password=PASSWORD,
                                     full_name="New"))
    core.wait_for_events()
    engine = core.engine
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE outbox_messages SET next_attempt_at = now() "
                             "WHERE status = 'pending'"))
    smtp = SlowSmtp()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, **FAST_ARGON2_ENV, "PATRONAGE_DATABASE_URL": url,
           "PATRONAGE_DATA_DIR": str(tmp_path / "var"), "PATRONAGE_MAILER": "smtp",
           "PATRONAGE_SMTP_HOST": "127.0.0.1", "PATRONAGE_SMTP_PORT": str(port),
           "PATRONAGE_SMTP_SECURITY": "none"}

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(BIN / "patronage"), "worker", "--interval", "0.2"],
                                env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    first, second = worker(), worker()
    restarted = None
    try:
        assert smtp.started.wait(30)
        first.send_signal(signal.SIGKILL)  # in the middle of a delivery, or about to be
        first.wait(10)
        restarted = worker()
        wait_until_outbox_drained(engine, seconds=60, poll=0.2)
        with engine.connect() as conn:
            sent: dict[str, int] = dict(conn.execute(sa.text(
                "SELECT recipient_email, count(*) FROM email_logs WHERE status = 'sent' "
                "GROUP BY recipient_email")).all())
    finally:
        for process in (first, second, restarted):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        controller.stop()
        core.close()
    # Each message was handled (and its email recorded as sent) exactly once.
    assert sent == {f"new{n}@example.com": 1 for n in range(6)}
    # The mail server got every message; the one in hand when its worker was killed
    # may have reached it before the kill and then again (at least once, never lost).
    assert set(smtp.accepted) == set(sent)
    assert len(smtp.accepted) <= 7


def test_resume_positions_saved_on_both_servers_at_once_are_all_stored(
        pair: tuple[str, str, str, str, str]) -> None:
    """Eight viewers' players, each saving its position ten times, half on A and half on
    B, all at once: every save answers 200 with its own position, and each viewer's last
    position is the one stored (each server sends the saves it has in hand together)."""
    a, b, owner_email, owner_password, url = pair
    owner = bearer(login(a, owner_email, owner_password))
    video = next(i for i in httpx.get(f"{a}/api/v1/content?limit=50").json()["items"]
                 if i["content_type"] == "video")
    viewers = []
    for n in range(8):
        email = f"viewer{n}@example.com"
        made = httpx.post(f"{a}/api/v1/admin/users", headers=owner, json={
            "email": email, "password": PASSWORD, "full_name": "Viewer", "role": "customer"},
            timeout=30)
        assert made.status_code == 201, made.text
        granted = httpx.post(f"{b}/api/v1/admin/access-grants", headers=owner,
                             json={"email": email, "content_id": video["id"]}, timeout=30)
        assert granted.status_code == 201, granted.text
        viewers.append(bearer(login((a, b)[n % 2], email)))
    barrier = threading.Barrier(len(viewers))

    def play(n: int) -> list[tuple[int, int]]:
        answers = []
        with httpx.Client(base_url=(a, b)[n % 2], headers=viewers[n], timeout=30) as http:
            barrier.wait()
            for second in range(10, 110, 10):
                saved = http.put(f"/api/v1/content/{video['id']}/progress",
                                 json={"position_seconds": second + n})
                answers.append((saved.status_code, saved.json().get("position_seconds")))
        return answers

    with ThreadPoolExecutor(len(viewers)) as pool:
        answered = list(pool.map(play, range(len(viewers))))
    for n, answers in enumerate(answered):
        assert answers == [(200, second + n) for second in range(10, 110, 10)], answers
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        positions = sorted(conn.execute(sa.text(
            "SELECT position_seconds FROM video_playback WHERE content_id = :c"),
            {"c": video["id"]}).scalars())
        played = conn.execute(sa.text(
            "SELECT count(*) FROM events WHERE event_type = 'content.played' "
            "AND subject_id = :c"), {"c": video["id"]}).scalar_one()
    engine.dispose()
    assert positions == [100 + n for n in range(8)]
    assert played == 8
