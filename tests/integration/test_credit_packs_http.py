"""Credit packs over HTTP against PostgreSQL with the sandbox gateway (and on SQLite).

Owners put packs on sale; customers buy them through the ordinary purchase route and
get ``earned_purchase`` credits that expire with the pack's validity; the credits pay
for bookings; a full refund withdraws what is still unspent, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import credit_transactions, purchases
from application.credits.audit import AuditCredits
from application.principal import Principal
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.conftest import FAST_ARGON2, Inbox, plain
from tests.integration.test_offerings_http import CLASS, GOOD_CARD, T0, Studio, problem
from tests.unit.fakes.system import FrozenClock

DECLINED = "4000000000000002"
TEN_CLASSES = {"name": "Ten classes", "price": "120.00", "credits": 10, "valid_days": 90,
               "description": "Any ten classes within three months."}


class Shop(Studio):
    def pack(self, **fields: Any) -> dict[str, Any]:
        response = self.client.post("/api/v1/admin/credit-packs", headers=self.auth("owner"),
                                    json={**TEN_CLASSES, **fields})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def buy(self, who: str, pack: dict[str, Any], card: str = GOOD_CARD,
            key: str | None = None) -> httpx.Response:
        headers = self.auth(who)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post("/api/v1/purchases", headers=headers, json={
            "credit_pack_id": pack["id"], "payment_method": card})

    def my_credits(self, who: str) -> dict[str, Any]:
        response = self.client.get("/api/v1/me/credits", headers=self.auth(who))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refund(self, purchase_id: str, amount: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"reason": "Changed their mind"}
        if amount is not None:
            body["amount"] = amount
        return self.client.post(f"/api/v1/admin/purchases/{purchase_id}/refund",
                                headers=self.auth("owner"), json=body)

    def ledger_types(self, who: str) -> list[tuple[str, int]]:
        with self.patronage.engine.connect() as conn:
            rows = conn.execute(
                sa.select(credit_transactions.c.type, credit_transactions.c.amount)
                .join_from(credit_transactions, sa.table("users", sa.column("id"),
                                                         sa.column("email")),
                           sa.text("users.id = credit_transactions.customer_id"))
                .where(sa.text("users.email = :e"))
                .order_by(credit_transactions.c.entry_number),
                {"e": f"{who}@example.com"}).all()
        return [(str(kind), int(amount)) for kind, amount in rows]

    def audit_is_clean(self) -> bool:
        report = self.patronage.handle(AuditCredits(actor=Principal.system()))
        return bool(report.clean)


@pytest.fixture
def shop(settings: Settings, clean_db: sa.Engine, inbox: Inbox) -> Iterator[Shop]:
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=FrozenClock(T0))
    with TestClient(app=create_app(app)) as client:
        yield Shop(app, client, inbox)
    app.dispatcher.close()


def test_owners_put_packs_on_sale_and_everyone_sees_those_on_sale(shop: Shop) -> None:
    ten = shop.pack()
    five = shop.pack(name="Five classes", price="65.00", credits=5, valid_days=None)
    assert (ten["credits"], ten["valid_days"], ten["price"], ten["active"]) == (
        10, 90, "120.00", True)
    public = shop.client.get("/api/v1/credit-packs")
    assert [(p["name"], p["price"], p["valid_days"]) for p in public.json()] == [
        ("Five classes", "65.00", None), ("Ten classes", "120.00", 90)]
    owner = shop.auth("owner")
    off = shop.client.patch(f"/api/v1/admin/credit-packs/{five['id']}", headers=owner,
                            json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert [p["name"] for p in shop.client.get("/api/v1/credit-packs").json()] == [
        "Ten classes"]
    problem(shop.client.get(f"/api/v1/credit-packs/{five['id']}"), 404,
            "credit_pack.not_found")
    assert {p["name"] for p in shop.client.get("/api/v1/admin/credit-packs",
                                               headers=owner).json()} == {
        "Ten classes", "Five classes"}
    problem(shop.buy("ann", five), 409, "credit_pack.inactive")
    problem(shop.client.post("/api/v1/purchases", headers=shop.auth("ann"),
                             json={"credit_pack_id": "00000000-0000-7000-8000-000000000000",
                                   "payment_method": GOOD_CARD}), 404, "credit_pack.not_found")
    problem(shop.client.post("/api/v1/purchases", headers=shop.auth("ann"),
                             json={"credit_pack_id": ten["id"], "content_id": ten["id"]}),
            422, "purchase.one_item")


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"price": "0"}, 422, "credit_pack.price", "price"),
    ({"name": "   "}, 422, "validation.required", "name"),
    ({"credits": 0}, 400, "request.invalid", None),
    ({"valid_days": 0}, 400, "request.invalid", None),
    ({"stripe_price_id": "price_x"}, 400, "request.invalid", None),
])
def test_bad_packs_are_refused_naming_the_field_and_nothing_is_written(
        shop: Shop, body: dict[str, Any], status: int, code: str, field: str | None) -> None:
    response = shop.client.post("/api/v1/admin/credit-packs", headers=shop.auth("owner"),
                                json={**TEN_CLASSES, **body})
    refused = problem(response, status, code)
    if field is not None:
        assert refused["errors"][0]["field"] == field
    assert shop.client.get("/api/v1/admin/credit-packs", headers=shop.auth("owner")).json() == []


def test_customers_and_creators_cannot_sell_credits(shop: Shop) -> None:
    for who in ("ann", "host"):
        problem(shop.client.post("/api/v1/admin/credit-packs", headers=shop.auth(who),
                                 json=TEN_CLASSES), 403, "auth.owner_only")
        problem(shop.client.get("/api/v1/admin/credit-packs", headers=shop.auth(who)), 403,
                "auth.owner_only")
    pack = shop.pack()
    problem(shop.client.patch(f"/api/v1/admin/credit-packs/{pack['id']}",
                              headers=shop.auth("ann"), json={"price": "1.00"}),
            403, "auth.owner_only")
    assert shop.client.get(f"/api/v1/credit-packs/{pack['id']}").json()["price"] == "120.00"


def test_a_bought_pack_grants_its_credits_until_they_expire_and_can_be_bought_again(
        shop: Shop) -> None:
    pack = shop.pack()
    bought = shop.buy("ann", pack)
    assert bought.status_code == 201, bought.text
    assert (bought.json()["status"], bought.json()["amount"]) == ("completed", "120.00")
    mine = shop.my_credits("ann")
    assert (mine["balance"], mine["available"], mine["lifetime_earned"]) == (10, 10, 10)
    expires = datetime.fromisoformat(mine["next_expiries"][0]["expires_at"])
    assert mine["next_expiries"][0]["credits"] == 10
    assert expires == T0 + timedelta(days=90)
    history = shop.client.get("/api/v1/me/credits/transactions", headers=shop.auth("ann"))
    assert [(t["type"], t["amount"], t["description"]) for t in history.json()] == [
        ("earned_purchase", 10, "Credit pack: Ten classes")]
    shop.patronage.wait_for_events()
    receipt = shop.inbox.messages("ann@example.com")
    assert [str(m["Subject"]) for m in receipt] == ["Your receipt: Ten classes"]
    text = plain(receipt[0])
    assert "10 credits were added to your account" in text
    assert f"until {expires:%d %B %Y}" in text

    # An edit changes what the next buyer gets, never what was bought.
    shop.client.patch(f"/api/v1/admin/credit-packs/{pack['id']}", headers=shop.auth("owner"),
                      json={"credits": 12, "valid_days": None})
    again = shop.buy("ann", pack)
    assert again.status_code == 201 and again.json()["purchase_id"] != bought.json()[
        "purchase_id"]
    mine = shop.my_credits("ann")
    assert (mine["balance"], mine["next_expiries"]) == (
        22, [{"expires_at": mine["next_expiries"][0]["expires_at"], "credits": 10}])
    listing = shop.client.get("/api/v1/me/purchases", headers=shop.auth("ann")).json()
    assert [(p["kind"], p["title"], p["status"]) for p in listing] == [
        ("credit_pack", "Ten classes", "completed")] * 2

    shop.advance(91)
    mine = shop.my_credits("ann")
    assert (mine["balance"], mine["next_expiries"]) == (12, [])
    assert shop.ledger_types("ann") == [("earned_purchase", 10), ("earned_purchase", 12),
                                        ("expired", -10)]
    assert shop.audit_is_clean()


def test_a_declined_card_grants_nothing_and_a_retry_can_succeed(shop: Shop) -> None:
    pack = shop.pack()
    problem(shop.buy("ann", pack, card=DECLINED), 402, "payment.declined")
    assert shop.my_credits("ann")["balance"] == 0
    assert shop.buy("ann", pack).status_code == 201
    assert shop.my_credits("ann")["balance"] == 10
    with shop.patronage.engine.connect() as conn:
        statuses = sorted(conn.execute(sa.select(purchases.c.status)).scalars())
    assert statuses == ["completed", "failed"]


def test_pack_credits_pay_for_bookings_and_a_refund_withdraws_only_the_unspent(
        shop: Shop) -> None:
    pack = shop.pack()
    bought = shop.buy("ann", pack).json()
    klass = shop.offering(**CLASS)
    session = shop.sessions(klass["slug"])[0]["starts_at"]
    booked = shop.book("ann", klass, "credits", starts_at=session)
    assert booked.status_code == 201, booked.text
    assert shop.my_credits("ann")["balance"] == 8

    # A partial refund keeps the credits, as it keeps access to content.
    partial = shop.refund(bought["purchase_id"], amount="20.00")
    assert partial.status_code == 200, partial.text
    assert shop.my_credits("ann")["balance"] == 8
    full = shop.refund(bought["purchase_id"])
    assert full.status_code == 200, full.text
    mine = shop.my_credits("ann")
    assert (mine["balance"], mine["lifetime_earned"], mine["lifetime_spent"]) == (0, 10, 2)
    assert shop.ledger_types("ann") == [("earned_purchase", 10), ("spent_offering", -2),
                                        ("adjustment", -8)]
    # The booking the credits paid for stands.
    bookings = shop.client.get("/api/v1/me/bookings", headers=shop.auth("ann")).json()
    assert [b["status"] for b in bookings] == ["confirmed"]
    assert shop.audit_is_clean()
    shop.patronage.wait_for_events()
    refund_mail = [m for m in shop.inbox.messages("ann@example.com")
                   if str(m["Subject"]).startswith("Refund")]
    assert len(refund_mail) == 1
    assert "not used were withdrawn" in plain(refund_mail[0])

    # Cancelling that booking gives its 2 credits back to the pack's grant, and since
    # the pack was refunded they are withdrawn at once: no credits for money returned.
    cancel = shop.client.post(f"/api/v1/bookings/{booked.json()['id']}/cancel", json={},
                              headers=shop.auth("ann"))
    assert cancel.status_code == 200, cancel.text
    assert shop.my_credits("ann")["balance"] == 0
    assert shop.ledger_types("ann")[3:] == [("refunded_offering", 2), ("adjustment", -2)]
    assert shop.audit_is_clean()


def test_a_double_clicked_purchase_with_one_key_buys_one_pack(shop: Shop) -> None:
    pack = shop.pack()
    shop.auth("ann")

    def click(_: int) -> httpx.Response:
        return shop.buy("ann", pack, key="buy-ten-1")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(click, range(8)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["purchase_id"] for a in answers}) == 1
    assert shop.my_credits("ann")["balance"] == 10
    with shop.patronage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(purchases)).scalar() == 1


def test_packs_are_sold_on_the_embedded_default(tmp_path: Any) -> None:
    from adapters.sqlalchemy import migrate
    from adapters.sqlalchemy.engine import create_engine

    url = f"sqlite:///{tmp_path}/patronage.db"
    migrate.upgrade(url)
    engine = create_engine(url)
    app = bootstrap(Settings(data_dir=tmp_path / "var", database_url=url,
                             public_url="https://studio.example.com"),
                    engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=FrozenClock(T0))
    try:
        with TestClient(app=create_app(app)) as client:
            shop = Shop(app, client, Inbox(tmp_path / "var" / "mail"))
            pack = shop.pack()
            assert shop.buy("ann", pack).status_code == 201
            assert shop.my_credits("ann")["balance"] == 10
            bought = shop.client.get("/api/v1/me/purchases", headers=shop.auth("ann")).json()
            assert shop.refund(bought[0]["id"]).status_code == 200
            assert shop.my_credits("ann")["balance"] == 0
            assert shop.audit_is_clean()
    finally:
        app.dispatcher.close()
        engine.dispose()
