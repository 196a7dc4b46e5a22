"""PostgreSQL restarted under load: `patronage serve` (two processes) takes purchases,
resume-position writes and Stripe webhook deliveries (each sent twice, as Stripe may)
while the database restarts. The clients retry what failed, as real ones do.

The database is a throwaway cluster this test makes itself (``initdb`` in a temporary
folder, on its own loopback port), never the machine's server. Afterwards: the servers
answer again within seconds, every purchase answered 201 exists exactly once and is
completed once, every webhook event was applied once, and the outbox empties.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from adapters.sqlalchemy import migrate
from application.catalog.authoring import CreateContent, PublishContent
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.identity.roles import Role
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from tests.integration.conftest import free_port
from tests.integration.servers import BIN, FAST_ARGON2_ENV, wait_until_outbox_drained
from tests.integration.test_stripe_gateway import Recorded, Reply, StripeRecorder

PASSWORD = "a long and unusual passphrase"
WEBHOOK_SECRET = "whsec_restart_test"
BUYERS, ITEMS = 6, 4
PG_BIN = Path(shutil.which("pg_ctl") or "/usr/lib/postgresql/15/bin/pg_ctl").parent


class Cluster:
    """A PostgreSQL cluster of our own (as the postgres user when we are root: initdb
    refuses root)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(PG_BIN / tool), *args], capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    def _ctl(self, *action: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c max_connections=200", *action)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if shutil.which("initdb") is None and not (PG_BIN / "initdb").exists():
        pytest.fail("initdb is needed (PostgreSQL's server package)")
    folder = Path(tempfile.mkdtemp(prefix="patronage-pg-"))
    made = Cluster(folder)
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(folder, ignore_errors=True)


class FaithfulStripe(StripeRecorder):
    """Answers as Stripe does where a retry depends on it: a POST repeated with its
    Idempotency-Key gets the first answer again (a purchase retried across the restart
    must not make a second payment), and a payment reads back as it was created."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], Reply] = {}
        self._intents: dict[str, dict[str, Any]] = {}

    def reply(self, request: Recorded) -> Reply:
        key = request.headers.get("idempotency-key")
        with self._lock:
            if request.method == "POST" and key and (request.path, key) in self._answers:
                return self._answers[(request.path, key)]
            answer = self._answer(request)
            if request.method == "POST" and key:
                self._answers[(request.path, key)] = answer
            return answer

    def _answer(self, request: Recorded) -> Reply:
        if request.path == "/v1/customers":
            return 200, {"id": f"cus_{uuid.uuid4().hex[:14]}", "object": "customer"}, {}
        if request.path == "/v1/payment_intents":
            intent = f"pi_{uuid.uuid4().hex[:20]}"
            self._intents[intent] = {
                "id": intent, "object": "payment_intent",
                "amount": int(request.form.get("amount", "0")),
                "currency": request.form.get("currency", "usd"),
                "status": "requires_payment_method", "client_secret": f"{intent}_secret_x",
                "metadata": {"purchase_id": request.form.get("metadata[purchase_id]")}}
            return 200, self._intents[intent], {}
        known = self._intents.get(request.path.removeprefix("/v1/payment_intents/"))
        if request.method == "GET" and known is not None:
            return 200, known, {}
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"No such object: {request.path}"}}, {}


def signed_success(intent: str, purchase_id: str, cents: int) -> tuple[bytes, str]:
    body = json.dumps({
        "id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": "payment_intent.succeeded",
        "created": int(time.time()), "data": {"object": {
            "id": intent, "object": "payment_intent", "amount": cents, "currency": "usd",
            "status": "succeeded", "metadata": {"purchase_id": purchase_id}}}}).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), WEBHOOK_SECRET, timestamp=int(time.time()))
    return body, header


REFUSED: list[int] = []  # the answers that had to be retried (503s, dropped connections)


def until_answered(send: Callable[[], httpx.Response], ok: set[int],
                   deadline: float) -> httpx.Response:
    """Retry what a client would retry (503s, dropped connections) until answered."""
    while True:
        try:
            response = send()
            if response.status_code in ok:
                return response
            assert response.status_code == 503, response.text  # never a 500
            REFUSED.append(503)
        except httpx.TransportError:
            REFUSED.append(0)
        assert time.monotonic() < deadline, "no answer in time"
        time.sleep(0.1)


def test_a_database_restart_under_load_loses_nothing_and_doubles_nothing(
        cluster: Cluster, tmp_path: Path) -> None:
    admin = sa.create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE patronage")
    admin.dispose()
    url = cluster.url("patronage")
    migrate.upgrade(url)
    stripe_server = FaithfulStripe()
    port = free_port()
    env = {**os.environ, **FAST_ARGON2_ENV, "PATRONAGE_DATABASE_URL": url,
           "PATRONAGE_DATA_DIR": str(tmp_path / "var"), "PATRONAGE_PORT": str(port),
           "PATRONAGE_PUBLIC_URL": f"http://127.0.0.1:{port}", "PATRONAGE_PAYMENTS": "stripe",
           "PATRONAGE_STRIPE_SECRET_KEY": "sk_test_restart",
           "PATRONAGE_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "PATRONAGE_STRIPE_API_BASE": stripe_server.url}
    settings = Settings.from_env(env)
    core = bootstrap(settings)
    system = Principal.system()
    core.handle(CreateUser(actor=system, email="owner@example.com", password=PASSWORD,
                           full_name="Owner", role=Role.PLATFORM_OWNER, verified=True))
    for n in range(BUYERS):
        core.handle(CreateUser(actor=system, email=f"buyer{n}@example.com", password=PASSWORD,
                               full_name="Buyer", role=Role.CUSTOMER, verified=True))
    owner = core.handle(ActAs(actor=system, email="owner@example.com"))
    items = []
    for n in range(ITEMS):
        made = core.handle(CreateContent(actor=owner, title=f"Essay {n}",
                                         content_type=ContentType.WRITTEN,
                                         visibility=Visibility.PURCHASED_ONLY, price="3.00",
                                         body_html="<p>Words.</p>"))
        core.handle(PublishContent(actor=owner, content_id=made.id))
        items.append(str(made.id))
    # A draft video (as if its file were uploaded): its creator keeps a resume position.
    talk = core.handle(CreateContent(actor=owner, title="Talk", content_type=ContentType.VIDEO,
                                     visibility=Visibility.PUBLIC))
    with core.engine.begin() as conn:
        conn.execute(sa.text("UPDATE content SET media_duration_seconds = 600 WHERE id = :id"),
                     {"id": talk.id})
    core.close()

    base = env["PATRONAGE_PUBLIC_URL"]
    log = (tmp_path / "serve.log").open("wb")  # kept for a failure's post-mortem
    server = subprocess.Popen([str(BIN / "patronage"), "serve", "--workers", "2"], env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    answered: dict[tuple[int, int], str] = {}
    events: list[tuple[str, int]] = []  # (event id, deliveries applied or duplicate)
    lock = threading.Lock()
    try:
        until_answered(lambda: httpx.get(f"{base}/ready", timeout=2), {200},
                       time.monotonic() + 30)

        def login(email: str) -> dict[str, str]:
            token = until_answered(lambda: httpx.post(
                f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                timeout=10), {200}, time.monotonic() + 60).json()["token"]
            return {"Authorization": f"Bearer {token}"}

        buyers = [login(f"buyer{n}@example.com") for n in range(BUYERS)]
        owner_headers = login("owner@example.com")

        def buy(pair: tuple[int, int]) -> None:
            buyer, item = pair
            key = {"Idempotency-Key": f"buy-{buyer}-{item}"}
            deadline = time.monotonic() + 90
            bought = until_answered(lambda: httpx.post(
                f"{base}/api/v1/purchases", headers={**buyers[buyer], **key},
                json={"content_id": items[item]}, timeout=10), {201}, deadline).json()
            with lock:
                answered[pair] = bought["purchase_id"]
            intent = bought["client_secret"].split("_secret")[0]
            body, header = signed_success(intent, bought["purchase_id"], 300)
            for _ in range(2):  # Stripe may deliver an event more than once
                until_answered(lambda: httpx.post(
                    f"{base}/api/v1/webhooks/stripe", content=body,
                    headers={"Stripe-Signature": header}, timeout=10), {200}, deadline)
            with lock:
                events.append((json.loads(body)["id"], 2))

        def progress(n: int) -> None:
            until_answered(lambda: httpx.put(
                f"{base}/api/v1/content/{talk.id}/progress", headers=owner_headers,
                json={"position_seconds": n % 50}, timeout=10), {200},
                time.monotonic() + 90)

        REFUSED.clear()
        pairs = [(b, i) for b in range(BUYERS) for i in range(ITEMS)]
        restarted = threading.Event()

        def restart_soon() -> None:
            time.sleep(0.5)
            cluster.restart()
            restarted.set()

        with ThreadPoolExecutor(10) as pool:
            restarter = pool.submit(restart_soon)
            work = [pool.submit(buy, p) for p in pairs]
            work += [pool.submit(progress, n) for n in range(40)]
            for done in work:
                done.result()
            restarter.result()
        assert restarted.is_set()
        recovered = time.monotonic()
        until_answered(lambda: httpx.get(f"{base}/ready", timeout=2), {200}, recovered + 10)

        engine = sa.create_engine(url)
        # Failed event handlers are retried by the servers' retry loop.
        wait_until_outbox_drained(engine, seconds=60, poll=1)
        with engine.connect() as conn:
            purchases = conn.execute(sa.text(
                "SELECT id::text, status FROM purchases")).all()
            grants = conn.execute(sa.text(
                "SELECT count(*) FROM content_access WHERE access_type = 'purchased'")
            ).scalar_one()
            recorded = conn.execute(sa.text("SELECT count(*) FROM webhook_events")).scalar_one()
            counts: dict[str, int] = dict(conn.execute(sa.text(
                "SELECT id::text, purchase_count FROM content")).all())
        engine.dispose()
    finally:
        os.killpg(server.pid, 2)
        server.wait(30)
        log.close()
        stripe_server.close()

    assert REFUSED, "the restart never met a request: nothing was tested"
    assert len(answered) == len(pairs)
    assert sorted(answered.values()) == sorted(p for p, _ in purchases)  # each exactly once
    assert {status for _, status in purchases} == {"completed"}
    assert grants == len(pairs)  # granted once each, though each event came twice
    assert recorded == len(events)
    assert all(counts[i] == BUYERS for i in items)
