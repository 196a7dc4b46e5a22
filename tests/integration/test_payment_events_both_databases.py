"""Payment events on each database: SQLite takes the same steps in more statements than
PostgreSQL (no INSERT in a CTE, no held writes), with the same outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from application.catalog.authoring import CreateContent, PublishContent
from application.commerce.payment_events import FAILED, SUCCEEDED, HandlePaymentEvent
from application.commerce.purchasing import StartPurchase
from application.identity.administration import ActAs
from application.identity.login import Login
from application.identity.registration import CreateUser
from application.ports.payments import PaymentEvent
from application.principal import Principal
from domain.catalog.rules import ContentType
from domain.identity.roles import Role
from domain.values import Money
from entrypoints.bootstrap import Patronage

PASSWORD = "a long and unusual passphrase"


def _event(event_id: str, kind: str, intent_id: str) -> HandlePaymentEvent:
    return HandlePaymentEvent(PaymentEvent(id=event_id, type=kind, created=datetime.now(UTC),
                                           intent_id=intent_id, amount=Money("9.00", "usd")))


def _count(app: Patronage, sql: str) -> Any:
    with app.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def test_a_purchase_and_the_events_after_it(any_db: tuple[Patronage, Any]) -> None:
    app, _ = any_db
    system = Principal.system()
    for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                        ("buyer@example.com", Role.CUSTOMER)):
        app.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                              full_name="Someone", role=role, verified=True))
    owner = app.handle(ActAs(actor=system, email="owner@example.com"))
    item = app.handle(CreateContent(actor=owner, title="An essay", price="9.00",
                                    content_type=ContentType.WRITTEN, body_html="<p>x</p>"))
    app.handle(PublishContent(actor=owner, content_id=item.id))
    token = app.handle(Login(email="buyer@example.com", password=PASSWORD)).token

    # The sandbox's own event completes it inline: recorded, the purchase locked, and
    # the grant, the count and the purchase written with the commit.
    started = app.handle(StartPurchase(token=token, content_id=item.id))
    assert started.status == "completed"
    assert _count(app, "SELECT count(*) FROM content_access "
                       "WHERE access_type = 'purchased'") == 1
    assert _count(app, "SELECT purchase_count FROM content") == 1
    intent = _count(app, "SELECT stripe_payment_intent_id FROM purchases")
    assert intent

    # Someone else's payment: recorded once, on its own.
    assert app.handle(_event("evt_foreign", SUCCEEDED, "pi_someone_elses")) == "ignored"
    assert app.handle(_event("evt_foreign", SUCCEEDED, "pi_someone_elses")) == "duplicate"
    # An event for our payment that names no purchase: found by the payment, and
    # recorded with what it did (a late failure changes nothing of a completed one).
    assert app.handle(_event("evt_late_failure", FAILED, intent)) == "applied"
    assert app.handle(_event("evt_late_failure", FAILED, intent)) == "duplicate"
    assert _count(app, "SELECT status FROM purchases") == "completed"
    with app.engine.connect() as conn:
        kept = set(conn.execute(sa.text("SELECT id FROM webhook_events")).scalars())
    assert {"evt_foreign", "evt_late_failure"} <= kept and len(kept) == 3
