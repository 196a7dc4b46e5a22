"""Prometheus metrics: per route template, the core's counters, the database's figures,
and several server processes adding up to one count."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import outbox_messages
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, account, login
from tests.integration.conftest import FAST_ARGON2, free_port
from tests.integration.servers import BIN, demo_platform, server_env, serving

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of that name carrying those labels (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


@pytest.fixture
def metered(settings: Settings, clean_db: sa.Engine
            ) -> Iterator[tuple[Patronage, TestClient[Litestar]]]:
    patronage = bootstrap(attrs.evolve(settings, metrics=True), engine=clean_db,
                          hasher=Argon2PasswordHasher(**FAST_ARGON2))
    with TestClient(app=create_app(patronage)) as client:
        yield patronage, client
    patronage.dispatcher.close()


def test_metrics_count_per_route_template_and_the_cores_events(
        metered: tuple[Patronage, TestClient[Litestar]]) -> None:
    patronage, client = metered
    before = scrape(client.get("/metrics").text)
    for slug in ("no-such-item", "another-missing-one"):
        assert client.get(f"/api/v1/content/{slug}").status_code == 404
    assert client.get("/not-a-route-at-all").status_code == 404
    refused = client.post("/api/v1/webhooks/stripe", content=b"{}",
                          headers={"stripe-signature": "t=1,v1=00"})
    assert refused.status_code == 400
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    item = client.post("/api/v1/studio/content", headers=owner, json={
        "title": "Paid essay", "content_type": "written", "body_html": "<p>Words.</p>",
        "price": "5.00", "visibility": "purchased_only"})
    assert item.status_code == 201, item.text
    assert client.post(f"/api/v1/studio/content/{item.json()['id']}/publish",
                       headers=owner).status_code == 200
    patronage.handle(CreateUser(actor=Principal.system(), email="buyer@example.com",
                                password=PASSWORD, full_name="Buyer", role=Role.CUSTOMER,
                                verified=True))
    buyer = login(client, "buyer@example.com")
    bought = client.post("/api/v1/purchases", headers=buyer,
                         json={"content_id": item.json()["id"]})
    assert bought.status_code == 201, bought.text
    assert client.post("/api/v1/auth/password-reset/request",
                       json={"email": "buyer@example.com"}).status_code in (200, 202, 204)
    patronage.wait_for_events()

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = scrape(response.text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    template = "/api/v1/content/{slug}"
    assert grew("patronage_requests_total", path=template, status_code="404") == 2
    assert "no-such-item" not in response.text and "not-a-route-at-all" not in response.text
    assert value(after, "patronage_request_duration_seconds_count", path=template) >= 2
    assert grew("patronage_webhook_events_total", type="unknown", outcome="rejected") == 1
    assert grew("patronage_payments_total", outcome="succeeded") == 1
    assert grew("patronage_emails_total", outcome="sent") >= 1
    # Between requests no connection is out (the scrape's own is read after its own
    # checkout, so at most that one).
    assert value(after, "patronage_db_connections_in_use") in (0, 1)
    waits = value(after, "patronage_db_connection_wait_seconds_count")
    assert waits > value(before, "patronage_db_connection_wait_seconds_count")
    assert value(after, "patronage_database_up") == 1
    assert ("patronage_credits_total", (("movement", "issued"),)) in after
    # The scrape itself is not counted as a request.
    assert value(after, "patronage_requests_total", path="/metrics") == 0


def test_the_outbox_backlog_and_dead_letters_are_read_at_scrape_time(
        metered: tuple[Patronage, TestClient[Litestar]]) -> None:
    patronage, client = metered
    with patronage.engine.begin() as conn:
        conn.execute(sa.delete(outbox_messages))
        for status, age in (("pending", 120), ("pending", 5), ("dead", 999)):
            conn.execute(sa.text(
                "INSERT INTO outbox_messages (id, event_type, handler, payload, status, "
                "next_attempt_at, created_at) VALUES (gen_random_uuid(), 'X', 'none', '{}', "
                ":status, now() + interval '1 hour', now() - make_interval(secs => :age))"),
                {"status": status, "age": age})
    samples = scrape(client.get("/metrics").text)
    assert value(samples, "patronage_outbox_pending") == 2
    assert value(samples, "patronage_outbox_dead") == 1
    assert 119 <= value(samples, "patronage_outbox_oldest_pending_age_seconds") < 200


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.1)


def test_two_server_processes_add_up_to_one_count(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", free_port(), PATRONAGE_METRICS="true")
    demo_platform(env)
    with serving(env, "--workers", "2") as server:
        # A connection each, so both processes answer some of them.
        for _ in range(40):
            assert httpx.get(f"{server.base}/api/v1/content", timeout=10).status_code == 200
        # Whichever process answers the scrape, it reports both processes' requests.
        counts = set()
        for _ in range(6):
            samples = scrape(httpx.get(f"{server.base}/metrics", timeout=10).text)
            counts.add(value(samples, "patronage_requests_total", path="/api/v1/content",
                             method="GET"))
        writers = {f.stem.rsplit("_", 1)[-1]
                   for f in (tmp_path / "var" / "prometheus").glob("counter_*.db")}
    assert counts == {40}
    assert len(writers) == 2  # two processes counted into the shared folder


def test_the_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", free_port())
    demo_platform(env)
    port = free_port()
    worker = subprocess.Popen([str(BIN / "patronage"), "worker", "--interval", "0.2",
                               "--metrics-port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        samples = scrape(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        assert value(samples, "patronage_database_up") == 1
        assert ("patronage_outbox_pending", ()) in samples
        assert ("patronage_db_connections_in_use", ()) in samples
    finally:
        worker.terminate()
        worker.wait(10)


def test_metrics_on_a_port_of_their_own_are_not_on_the_public_one(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path / "var", free_port(), PATRONAGE_METRICS="true",
                     PATRONAGE_METRICS_PORT=str(port))
    demo_platform(env)
    with serving(env, "--workers", "2") as server:
        for _ in range(10):
            assert httpx.get(f"{server.base}/api/v1/content", timeout=10).status_code == 200
        assert httpx.get(f"{server.base}/metrics", timeout=10).status_code == 404
        wait_for_port(port)
        samples = scrape(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    assert value(samples, "patronage_requests_total", path="/api/v1/content") == 10
    assert value(samples, "patronage_database_up") == 1
