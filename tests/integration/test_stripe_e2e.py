"""A purchase end to end: our running server, the stripe SDK, localstripe and its webhooks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from adapters.sqlalchemy.tables import content_access, purchases, webhook_events
from application.catalog.authoring import CreateContent, PublishContent
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.conftest import free_port
from tests.integration.test_stripe_gateway import (  # noqa: F401 - pytest fixtures
    API_KEY,
    localstripe,
    shim,
)

SECRET = "whsec_e2e_secret"
PASSWORD = "a long passphrase"


@pytest.fixture
def server(pg_url: str, shim: Any, localstripe: str,  # noqa: F811 - fixtures
           tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PATRONAGE_DATABASE_URL": pg_url,
           "PATRONAGE_DATA_DIR": str(tmp_path / "var"), "PATRONAGE_PORT": str(port),
           "PATRONAGE_PAYMENTS": "stripe", "PATRONAGE_STRIPE_SECRET_KEY": API_KEY,
           "PATRONAGE_STRIPE_WEBHOOK_SECRET": SECRET,
           # The recording proxy drops the fields localstripe is too old to know.
           "PATRONAGE_STRIPE_API_BASE": shim.url,
           "PATRONAGE_ARGON2_MEMORY_KIB": "19456", "PATRONAGE_ARGON2_TIME_COST": "2",
           "PATRONAGE_ARGON2_PARALLELISM": "1"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "patronage"), "serve", "--no-outbox-worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)
    # localstripe sends every event to every registered endpoint, signed with SECRET.
    registered = httpx.post(f"{localstripe}/_config/webhooks/patronage-e2e",
                            json={"url": f"{base}/api/v1/webhooks/stripe", "secret": SECRET})
    assert registered.status_code == 200, registered.text
    yield base
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def setup_catalog(patronage: Patronage) -> tuple[str, str]:
    system = Principal.system()
    patronage.handle(CreateUser(actor=system, email="owner@example.com", password=PASSWORD,
                                full_name="O", role=Role.PLATFORM_OWNER))
    patronage.handle(CreateUser(actor=system, email="buyer@example.com", password=PASSWORD,
                                full_name="B", role=Role.CUSTOMER))
    owner = patronage.handle(ActAs(actor=system, email="owner@example.com"))
    item = patronage.handle(CreateContent(actor=owner, title="Stripe essay", price="12.34",
                                          content_type=ContentType.WRITTEN,
                                          body_html="<p>worth it</p>"))
    patronage.handle(PublishContent(actor=owner, content_id=item.id))
    return str(item.id), "buyer@example.com"


def login(base: str, email: str) -> dict[str, str]:
    token = httpx.post(f"{base}/api/v1/auth/login",
                       json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def wait_for(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def purchase_row(engine: sa.Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(purchases)).mappings().one()


def test_pending_purchase_completes_through_a_real_webhook_and_a_refund_revokes_it(
    patronage: Patronage, clean_db: sa.Engine, server: str,
    localstripe: str,  # noqa: F811 - the fixture
) -> None:
    content_id, buyer = setup_catalog(patronage)
    auth = login(server, buyer)
    started = httpx.post(f"{server}/api/v1/purchases", headers=auth,
                         json={"content_id": content_id, "payment_method": "pm_card_visa"})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["gateway"] == "stripe" and body["amount"] == "12.34"
    assert body["status"] in ("pending", "completed")

    # localstripe posts payment_intent.succeeded to our server, which completes it.
    wait_for(lambda: purchase_row(clean_db)["status"] == "completed")
    row = purchase_row(clean_db)
    assert row["stripe_payment_intent_id"].startswith("pi_")
    access = httpx.get(f"{server}/api/v1/content/{content_id}/access", headers=auth).json()
    assert access == {"allowed": True, "reason": "grant:purchased"}
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(webhook_events)
                            ).scalar_one() >= 1
    intent = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe}
                                 ).v1.payment_intents.retrieve(row["stripe_payment_intent_id"])
    assert intent.status == "succeeded" and intent.amount == 1234

    # The owner refunds through our API; localstripe records the refund but sends no
    # charge.refunded, so we deliver the event Stripe would send, signed as Stripe does.
    owner = login(server, "owner@example.com")
    refunded = httpx.post(f"{server}/api/v1/admin/purchases/{row['id']}/refund",
                          headers=owner, json={"reason": "changed their mind"})
    assert refunded.status_code == 200, refunded.text
    refund_id = refunded.json()["refund_id"]
    event = json.dumps({
        "id": f"evt_refund_{refund_id}", "object": "event", "type": "charge.refunded",
        "created": int(time.time()),
        "data": {"object": {
            "id": "ch_e2e", "object": "charge", "amount": 1234, "amount_refunded": 1234,
            "currency": "usd", "payment_intent": row["stripe_payment_intent_id"],
            "refunds": {"object": "list", "data": [
                {"id": refund_id, "object": "refund", "amount": 1234, "currency": "usd"}]},
        }},
    })
    delivered = httpx.post(f"{server}/api/v1/webhooks/stripe", content=event, headers={
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(event, SECRET),
        "Content-Type": "application/json"})
    assert delivered.status_code == 200 and delivered.json()["outcome"] == "applied"
    assert purchase_row(clean_db)["status"] == "refunded"
    access = httpx.get(f"{server}/api/v1/content/{content_id}/access", headers=auth).json()
    assert access == {"allowed": False, "reason": "purchase_required"}


def test_a_declined_card_leaves_the_purchase_failed_without_access(
    patronage: Patronage, clean_db: sa.Engine, server: str
) -> None:
    content_id, buyer = setup_catalog(patronage)
    auth = login(server, buyer)
    declined = httpx.post(f"{server}/api/v1/purchases", headers=auth, json={
        "content_id": content_id, "payment_method": "pm_card_chargeCustomerFail"})
    assert declined.status_code == 402, declined.text
    assert declined.json()["code"] == "payment.declined"
    assert purchase_row(clean_db)["status"] == "failed"
    # localstripe also sends payment_intent.payment_failed; it must not change anything.
    time.sleep(2)
    assert purchase_row(clean_db)["status"] == "failed"
    with clean_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(content_access)
                            ).scalar_one() == 0
