"""Stripe webhooks over HTTP with payloads signed by the stripe SDK's own helper."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient
from stripe import WebhookSignature

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import (
    content,
    content_access,
    credit_balances,
    credit_packs,
    credit_transactions,
    email_logs,
    purchase_refunds,
    purchases,
    webhook_events,
)
from adapters.stripe_payments.gateway import StripeGateway
from application.catalog.authoring import CreateContent, PublishContent
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.conftest import FAST_ARGON2
from tests.integration.wire import require_libpq_tracing, round_trips

SECRET = "whsec_test_signing_secret"
URL = "/api/v1/webhooks/stripe"
Client = TestClient[Litestar]


@pytest.fixture
def stripe_app(settings: Settings, clean_db: sa.Engine) -> Iterator[Patronage]:
    gateway = StripeGateway(api_key="sk_test_unused", webhook_secret=SECRET,
                            api_base="http://127.0.0.1:9")
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    payments=gateway)
    yield app
    app.dispatcher.close()


@pytest.fixture
def client(stripe_app: Patronage) -> Iterator[Client]:
    with TestClient(app=create_app(stripe_app)) as test_client:
        yield test_client


class World:
    def __init__(self, patronage: Patronage, engine: sa.Engine) -> None:
        system = Principal.system()
        patronage.handle(CreateUser(actor=system, email="owner@example.com",
                                    password="a long passphrase", full_name="O",
                                    role=Role.PLATFORM_OWNER))
        buyer = patronage.handle(CreateUser(actor=system, email="buyer@example.com",
                                            password="a long passphrase", full_name="B",
                                            role=Role.CUSTOMER))
        owner = patronage.handle(ActAs(actor=system, email="owner@example.com"))
        item = patronage.handle(CreateContent(actor=owner, title="Paid essay",
                                              content_type=ContentType.WRITTEN, price="9.00",
                                              body_html="<p>paid</p>"))
        patronage.handle(PublishContent(actor=owner, content_id=item.id))
        self.engine = engine
        self.buyer_id = buyer.id
        self.content_id = item.id
        self.purchase_id = uuid.uuid4()
        self.intent_id = f"pi_{uuid.uuid4().hex[:24]}"

    def pending_purchase(self, *, with_intent: bool = True) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.insert(purchases).values(
                id=self.purchase_id, customer_id=self.buyer_id, content_id=self.content_id,
                amount_paid=Decimal("9.00"), currency="usd", platform_fee_amount=Decimal(0),
                creator_payout_amount=Decimal("9.00"), status="pending",
                stripe_payment_intent_id=self.intent_id if with_intent else None))

    def status(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(sa.select(purchases.c.status).where(
                purchases.c.id == self.purchase_id)).scalar_one())

    def count(self, table: sa.Table, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                    .where(*where)).scalar_one())

    def purchase_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(content.c.purchase_count).where(
                content.c.id == self.content_id)).scalar_one())

    def intent(self, status: str = "succeeded") -> dict[str, Any]:
        return {"id": self.intent_id, "object": "payment_intent", "amount": 900,
                "currency": "usd", "status": status,
                "metadata": {"purchase_id": str(self.purchase_id)}}

    def charge(self, refunds: list[tuple[str, int]]) -> dict[str, Any]:
        return {"id": "ch_test_1", "object": "charge", "amount": 900, "currency": "usd",
                "amount_refunded": sum(a for _, a in refunds),
                "payment_intent": self.intent_id,
                "refunds": {"object": "list", "data": [
                    {"id": rid, "object": "refund", "amount": amount, "currency": "usd",
                     "status": "succeeded"} for rid, amount in refunds]}}


@pytest.fixture
def world(stripe_app: Patronage, clean_db: sa.Engine) -> World:
    return World(stripe_app, clean_db)


def event(kind: str, obj: dict[str, Any], event_id: str | None = None,
          created: int | None = None) -> bytes:
    return json.dumps({
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": kind,
        "api_version": "2026-10-28.endive", "created": created or int(time.time()),
        "data": {"object": obj}}).encode()


def deliver(client: Client, body: bytes, *, secret: str = SECRET,
            timestamp: int | None = None, signature: str | None = "sign") -> Any:
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["Stripe-Signature"] = WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp)
    elif signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(URL, content=body, headers=headers)


def test_missing_or_bad_signatures_are_400_and_write_nothing(client: Client,
                                                              world: World) -> None:
    world.pending_purchase()
    body = event("payment_intent.succeeded", world.intent())
    for response in (
        deliver(client, body, signature=None),
        deliver(client, body, signature="t=1,v1=deadbeef"),
        deliver(client, body, secret="whsec_someone_else"),
        # Signed, then altered by one byte: the signature covers the raw bytes.
        client.post(URL, content=body.replace(b"900", b"901"), headers={
            "Stripe-Signature": WebhookSignature.generate_signature_header(
                body.decode(), SECRET)}),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "webhook.invalid"
    assert world.count(webhook_events) == 0
    assert world.status() == "pending"
    assert world.count(content_access) == 0


def test_a_stale_signature_is_refused(client: Client, world: World) -> None:
    world.pending_purchase()
    body = event("payment_intent.succeeded", world.intent())
    stale = deliver(client, body, timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    assert world.count(webhook_events) == 0 and world.status() == "pending"
    fresh = deliver(client, body, timestamp=int(time.time()) - 60)
    assert fresh.status_code == 200 and fresh.json()["outcome"] == "applied"


def test_success_fulfils_once_in_one_transaction(client: Client, world: World) -> None:
    world.pending_purchase()
    response = deliver(client, event("payment_intent.succeeded", world.intent()))
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "applied"}
    assert world.status() == "completed"
    assert world.count(content_access, content_access.c.access_type == "purchased") == 1
    assert world.purchase_count() == 1
    assert world.count(email_logs, email_logs.c.email_type == "purchase_receipt") == 1


def test_the_same_event_ten_times_at_once_changes_state_once(client: Client,
                                                              world: World) -> None:
    world.pending_purchase()
    body = event("payment_intent.succeeded", world.intent())
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: deliver(client, body), range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    outcomes = Counter(r.json()["outcome"] for r in responses)
    assert outcomes == Counter({"applied": 1, "duplicate": 9})
    assert world.count(webhook_events) == 1
    assert world.count(content_access) == 1
    assert world.purchase_count() == 1
    assert world.count(email_logs, email_logs.c.email_type == "purchase_receipt") == 1


def test_failure_after_success_does_not_move_backwards(client: Client, world: World) -> None:
    world.pending_purchase()
    deliver(client, event("payment_intent.succeeded", world.intent()))
    late = deliver(client, event("payment_intent.payment_failed",
                                 world.intent("requires_payment_method")))
    assert late.status_code == 200
    assert world.status() == "completed"
    assert world.count(content_access) == 1


def test_success_before_the_intent_is_stored_is_matched_by_metadata(
    client: Client, world: World
) -> None:
    world.pending_purchase(with_intent=False)
    response = deliver(client, event("payment_intent.succeeded", world.intent()))
    assert response.json()["outcome"] == "applied"
    assert world.status() == "completed"
    with world.engine.connect() as conn:
        stored = conn.execute(sa.select(purchases.c.stripe_payment_intent_id)).scalar_one()
    assert stored == world.intent_id


def test_refund_events_revoke_once_however_often_they_arrive(client: Client,
                                                              world: World) -> None:
    world.pending_purchase()
    deliver(client, event("payment_intent.succeeded", world.intent()))
    partial = event("charge.refunded", world.charge([("re_part", 400)]))
    assert deliver(client, partial).json()["outcome"] == "applied"
    assert world.status() == "completed"  # a partial refund keeps access
    assert world.count(content_access) == 1

    full = event("charge.refunded", world.charge([("re_part", 400), ("re_rest", 500)]))
    for _ in range(3):
        assert deliver(client, full).status_code == 200
    # Stripe may also send the same refunds under a new event id.
    again = event("charge.refunded", world.charge([("re_part", 400), ("re_rest", 500)]))
    assert deliver(client, again).status_code == 200

    assert world.status() == "refunded"
    assert world.count(purchase_refunds) == 2
    assert world.count(content_access) == 0
    assert world.purchase_count() == 0
    assert world.count(email_logs, email_logs.c.email_type == "purchase_refund") == 1


def test_unknown_event_types_are_acknowledged_without_change(client: Client,
                                                             world: World) -> None:
    world.pending_purchase()
    response = deliver(client, event("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert world.status() == "pending"


def test_a_failing_handler_answers_non_2xx_and_leaves_nothing(client: Client,
                                                             world: World) -> None:
    world.pending_purchase()
    with world.engine.begin() as conn:
        # A sequence survives the rollback of the failing transaction: fail only once.
        conn.exec_driver_sql("CREATE SEQUENCE IF NOT EXISTS fail_once_seq")
        conn.exec_driver_sql("""
            CREATE OR REPLACE FUNCTION fail_once_fn() RETURNS trigger AS $$
            BEGIN
              IF nextval('fail_once_seq') = 1 THEN
                RAISE EXCEPTION 'injected failure';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        conn.exec_driver_sql("CREATE TRIGGER fail_once_trg BEFORE INSERT ON content_access "
                             "FOR EACH ROW EXECUTE FUNCTION fail_once_fn()")
    try:
        body = event("payment_intent.succeeded", world.intent())
        first = deliver(client, body)
        assert first.status_code == 500
        assert world.count(webhook_events) == 0
        assert world.status() == "pending"
        # Stripe retries the same event: now it goes through, once.
        retry = deliver(client, body)
        assert retry.status_code == 200 and retry.json()["outcome"] == "applied"
        assert world.status() == "completed" and world.count(content_access) == 1
    finally:
        with world.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS fail_once_trg ON content_access")
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS fail_once_fn()")
            conn.exec_driver_sql("DROP SEQUENCE IF EXISTS fail_once_seq")


@pytest.mark.parametrize(("amount", "currency"), [(100, "usd"), (900, "eur"), (90000, "usd")])
def test_a_payment_of_the_wrong_amount_or_currency_completes_nothing(
        client: Client, world: World, caplog: pytest.LogCaptureFixture, amount: int,
        currency: str) -> None:
    world.pending_purchase()
    paid = {**world.intent(), "amount": amount, "currency": currency}
    with caplog.at_level("ERROR", logger="patronage.payments"):
        response = deliver(client, event("payment_intent.succeeded", paid))
    assert response.status_code == 200  # acknowledged: Stripe must not retry it forever
    assert response.json()["outcome"] == "mismatch"
    assert world.status() == "pending"
    assert world.count(content_access) == 0
    assert world.count(email_logs, email_logs.c.email_type == "purchase_receipt") == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "patronage.payments"]
    assert len(logged) == 1 and world.intent_id in logged[0] and "expected" in logged[0]


def _pending_pack_purchase(world: World) -> uuid.UUID:
    """A pending purchase of a 10-credit pack for 9.00, as `POST /purchases` leaves it."""
    pack_id = uuid.uuid4()
    with world.engine.begin() as conn:
        conn.execute(sa.insert(credit_packs).values(
            id=pack_id, name="Ten classes", price=Decimal("9.00"), currency="usd", credits=10,
            valid_days=30))
        conn.execute(sa.insert(purchases).values(
            id=world.purchase_id, customer_id=world.buyer_id, credit_pack_id=pack_id,
            pack_credits=10, pack_valid_days=30, amount_paid=Decimal("9.00"), currency="usd",
            platform_fee_amount=Decimal(0), creator_payout_amount=Decimal("9.00"),
            status="pending", stripe_payment_intent_id=world.intent_id))
    return pack_id


def test_a_pack_paid_by_webhook_grants_its_credits_once_and_a_refund_withdraws_them_once(
        client: Client, world: World) -> None:
    _pending_pack_purchase(world)
    body = event("payment_intent.succeeded", world.intent())
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = Counter(r.json()["outcome"] for r in pool.map(
            lambda _: deliver(client, body), range(10)))
    assert outcomes == Counter({"applied": 1, "duplicate": 9})
    assert world.status() == "completed"

    def ledger() -> list[tuple[str, int]]:
        with world.engine.connect() as conn:
            return [(str(t), int(a)) for t, a in conn.execute(
                sa.select(credit_transactions.c.type, credit_transactions.c.amount)
                .where(credit_transactions.c.customer_id == world.buyer_id)
                .order_by(credit_transactions.c.entry_number))]

    def balance() -> int:
        with world.engine.connect() as conn:
            return int(conn.execute(sa.select(credit_balances.c.current_balance).where(
                credit_balances.c.customer_id == world.buyer_id)).scalar_one())

    assert (ledger(), balance()) == ([("earned_purchase", 10)], 10)
    assert world.count(content_access) == 0  # a pack opens no content

    partial = event("charge.refunded", world.charge([("re_part", 400)]))
    assert deliver(client, partial).json()["outcome"] == "applied"
    assert (world.status(), balance()) == ("completed", 10)
    full = [event("charge.refunded", world.charge([("re_part", 400), ("re_rest", 500)]))
            for _ in range(2)]
    for body in (full[0], full[0], full[1]):
        assert deliver(client, body).status_code == 200
    assert world.status() == "refunded"
    assert (ledger(), balance()) == ([("earned_purchase", 10), ("adjustment", -10)], 0)
    assert world.count(email_logs, email_logs.c.email_type == "purchase_refund") == 1


# -- the cost of an event ------------------------------------------------------------------


def test_a_payment_none_of_ours_holds_costs_one_statement_on_the_wire(
        client: Client, world: World, stripe_app: Patronage, tmp_path: Path) -> None:
    """A subscription invoice's payment, or one taken in the dashboard: one statement,
    with no BEGIN or COMMIT, finds that no purchase, booking or installment holds it
    and keeps its event id; a redelivery is one statement that finds the id."""
    require_libpq_tracing(world.engine, tmp_path)
    world.pending_purchase()
    foreign = {"id": "pi_someone_elses", "object": "payment_intent", "amount": 900,
               "currency": "usd", "status": "succeeded", "metadata": {}}
    body = event("payment_intent.succeeded", foreign)
    for outcome in ("ignored", "duplicate"):
        with round_trips(world.engine, tmp_path, stripe_app) as sent:
            response = deliver(client, body)
        assert response.status_code == 200 and response.json()["outcome"] == outcome
        work = [s for s in sent if not s.startswith("PREPARE ")]
        assert len(work) == 1 and work[0].startswith("WITH probe AS"), sent
    assert world.count(webhook_events) == 1 and world.status() == "pending"


def test_a_payment_of_ours_without_metadata_is_still_found_by_its_id(
        client: Client, world: World) -> None:
    world.pending_purchase()
    bare = {**world.intent(), "metadata": {}}
    response = deliver(client, event("payment_intent.succeeded", bare))
    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    assert world.status() == "completed"
    assert world.count(content_access) == 1
