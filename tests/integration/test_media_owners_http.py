"""Media owners on the sandbox, end to end over HTTP on PostgreSQL: invited, onboarded
for payouts, selling content and bookings, refunded, and reading earnings that add up;
two media owners never see each other's things."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import (
    earnings_entries,
    payout_accounts,
    purchase_refunds,
    purchases,
    users,
)
from application.commerce.payment_events import HandlePaymentEvent
from application.identity.registration import CreateUser
from application.ports.payments import PaymentEvent, RefundRecord
from application.principal import Principal
from domain.identity.roles import Role
from domain.values import Money
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers
from tests.integration.conftest import FAST_ARGON2, Inbox
from tests.unit.fakes.system import FrozenClock

Client = TestClient[Litestar]
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
DONE_URL = "https://studio.example.com/studio/payouts?onboarding=done"
EVENT = {
    "title": "Sound bath", "offering_type": "one_time_event",
    "schedule": {"date": "2027-01-15", "start_time": "18:00", "duration_minutes": 90},
    "capacity_type": "small_group", "max_participants": 5, "delivery_method": "online",
    "join_url": "https://meet.example.com/bath", "price": "20.00", "timezone": "UTC",
}


class Market:
    def __init__(self, patronage: Patronage, client: Client, inbox: Inbox,
                 clock: FrozenClock) -> None:
        self.patronage, self.client, self.inbox, self.clock = patronage, client, inbox, clock
        self._tokens: dict[str, Headers] = {}
        self._passwords: dict[str, str] = {}
        for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                            ("host@example.com", Role.PLATFORM_CREATOR),
                            ("ann@example.com", Role.CUSTOMER),
                            ("bob@example.com", Role.CUSTOMER)):
            self.user(email, role)

    def user(self, email: str, role: Role) -> None:
        self.patronage.handle(CreateUser(actor=Principal.system(), email=email,
                                         password=PASSWORD, role=role, verified=True,
                                         full_name=email.split("@")[0].title()))

    def auth(self, who: str, password: str | None = None) -> Headers:
        if password is not None:
            self._passwords[who] = password
        if who not in self._tokens:
            response = self.client.post("/api/v1/auth/login", json={
                "email": f"{who}@example.com",
                "password": self._passwords.get(who, PASSWORD)})
            assert response.status_code == 200, response.text
            self._tokens[who] = {"Authorization": f"Bearer {response.json()['token']}"}
        return dict(self._tokens[who])

    def advance(self, days: int) -> None:
        self.clock.advance(days=days)
        self._tokens.clear()  # sessions end when idle that long

    def get(self, path: str, who: str) -> httpx.Response:
        return self.client.get(path, headers=self.auth(who))

    def post(self, path: str, who: str | None, body: Any = None) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.auth(who) if who else {})

    def media_owner(self, who: str, *, onboard: bool = True) -> None:
        self.user(f"{who}@example.com", Role.MEDIA_OWNER)
        if onboard:
            assert self.post("/api/v1/studio/payouts/onboarding", who).json()["state"] == \
                "enabled"

    def item(self, who: str, price: str = "10.00", title: str = "Field notes") -> str:
        created = self.post("/api/v1/studio/content", who, {
            "title": title, "content_type": "written", "visibility": "purchased_only",
            "price": price, "body_html": "<p>The whole essay.</p>"})
        assert created.status_code == 201, created.text
        item_id = str(created.json()["id"])
        published = self.post(f"/api/v1/studio/content/{item_id}/publish", who)
        assert published.status_code == 200, published.text
        return item_id

    def buy(self, who: str, item_id: str) -> httpx.Response:
        return self.post("/api/v1/purchases", who, {"content_id": item_id})

    def refund(self, purchase_id: str, amount: str | None = None) -> None:
        body: dict[str, Any] = {"reason": "Asked for it"}
        if amount is not None:
            body["amount"] = amount
        response = self.post(f"/api/v1/admin/purchases/{purchase_id}/refund", "owner", body)
        assert response.status_code == 200, response.text

    def earnings(self, who: str, query: str = "from=2026-01-01&to=2027-12-31",
                 admin: bool = False) -> dict[str, Any]:
        path = "/api/v1/admin/earnings" if admin else "/api/v1/studio/earnings"
        response = self.get(f"{path}?{query}", who)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        with self.patronage.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table).where(*where)).mappings()]


@pytest.fixture
def market(settings: Settings, clean_db: sa.Engine, inbox: Inbox) -> Iterator[Market]:
    clock = FrozenClock(T0)
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=clock)
    with TestClient(app=create_app(app)) as client:
        yield Market(app, client, inbox, clock)
    app.dispatcher.close()


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def line(lines: list[dict[str, Any]], key: str | None = None) -> dict[str, str]:
    found = [x for x in lines if key is None or x["key"] == key]
    assert len(found) == 1, lines
    return {k: v for k, v in found[0].items()
            if k in ("gross", "refunds", "platform_fee", "net", "sales", "label")}


def money(gross: str, refunds: str, fee: str, net: str, sales: int) -> dict[str, Any]:
    return {"gross": gross, "refunds": refunds, "platform_fee": fee, "net": net,
            "sales": sales}


def totals(report: dict[str, Any]) -> dict[str, Any]:
    found = line(report["totals"])
    found.pop("label")
    return found


# -- the whole story ----------------------------------------------------------------------


def test_invite_onboard_publish_sell_refund_and_read_earnings(market: Market) -> None:
    invited = market.post("/api/v1/admin/media-owners/invite", "owner",
                          {"email": "Maya@Example.com"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["email"] == "maya@example.com"
    assert invited.json()["status"] == "pending"
    market.patronage.wait_for_events()
    token = market.inbox.link_token("maya@example.com", "invited to sell")

    accepted = market.post("/api/v1/media-owners/accept", None, {
        "token": token, "full_name": "Maya Lin", "password": "her own long passphrase"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "media_owner" and accepted.json()["email_verified"]
    # The link works once.
    problem(market.post("/api/v1/media-owners/accept", None, {
        "token": token, "full_name": "Maya Lin", "password": "her own long passphrase"}),
        422, "invitation.invalid")
    listed = market.get("/api/v1/admin/media-owners/invitations", "owner").json()
    assert [(i["email"], i["status"]) for i in listed] == [("maya@example.com", "accepted")]

    maya = market.auth("maya", "her own long passphrase")
    account = market.client.get("/api/v1/studio/payouts/account", headers=maya).json()
    assert account["state"] == "not_started" and account["platform_fee_percent"] == "30.00"

    item_id = market.item("maya", price="10.00", title="Field notes")
    # Published, but not for sale until she can be paid.
    body = problem(market.buy("ann", item_id), 409, "seller.payouts_not_ready")
    assert body["payouts"] == "not_started"
    assert market.rows(purchases) == []

    onboarded = market.client.post("/api/v1/studio/payouts/onboarding", headers=maya)
    assert onboarded.status_code == 200, onboarded.text
    assert onboarded.json()["state"] == "enabled"
    assert onboarded.json()["onboarding_url"] == DONE_URL
    market.patronage.wait_for_events()
    assert [str(m["Subject"]) for m in market.inbox.messages("maya@example.com")
            if "paid" in str(m["Subject"])] == ["You can now be paid"]
    (stored,) = market.rows(users, users.c.email == "maya@example.com")
    assert stored["stripe_connect_account_id"] == onboarded.json()["account_id"]

    bought = market.buy("ann", item_id)
    assert bought.status_code == 201, bought.text
    purchase_id = bought.json()["purchase_id"]
    (sale,) = market.rows(earnings_entries)
    assert (sale["entry_type"], sale["amount"], sale["platform_fee"], sale["creator_payout"]) \
        == ("sale", Decimal("10.00"), Decimal("3.00"), Decimal("7.00"))
    assert sale["destination_account"] == onboarded.json()["account_id"]

    report = market.client.get("/api/v1/studio/earnings?from=2026-11-01&to=2026-11-30",
                               headers=maya).json()
    assert totals(report) == money("10.00", "0.00", "3.00", "7.00", 1)
    assert line(report["by_item"]) == {**money("10.00", "0.00", "3.00", "7.00", 1),
                                       "label": "Field notes"}
    assert [m["key"] for m in report["by_month"]] == ["2026-11"]
    assert report["by_seller"] is None

    market.advance(15)  # into December: the refunds fall in another month
    maya = market.auth("maya")
    market.refund(purchase_id, "4.00")
    after_partial = market.earnings("maya")
    assert totals(after_partial) == money("10.00", "4.00", "1.80", "4.20", 1)
    market.refund(purchase_id)
    after_full = market.earnings("maya")
    assert totals(after_full) == money("10.00", "10.00", "0.00", "0.00", 1)
    months = {m["key"]: m for m in after_full["by_month"]}
    assert line([months["2026-11"]]) == {**money("10.00", "0.00", "3.00", "7.00", 1),
                                         "label": "2026-11"}
    assert line([months["2026-12"]]) == {**money("0.00", "10.00", "-3.00", "-7.00", 0),
                                         "label": "2026-12"}

    everyone = market.earnings("owner", admin=True)
    assert [(s["label"], s["gross"]) for s in everyone["by_seller"]] == [("Maya Lin", "10.00")]
    exported = market.get("/api/v1/admin/earnings.csv?from=2026-01-01&to=2027-12-31", "owner")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["section"] for r in table} == {"total", "month", "item", "seller"}
    (total_row,) = [r for r in table if r["section"] == "total"]
    assert (total_row["gross"], total_row["refunds"], total_row["net"]) == \
        ("10.00", "10.00", "0.00")


def test_an_existing_customer_accepts_signed_in_and_becomes_a_media_owner(
        market: Market) -> None:
    market.post("/api/v1/admin/media-owners/invite", "owner", {"email": "ann@example.com"})
    market.patronage.wait_for_events()
    first = market.inbox.link_token("ann@example.com", "invited to sell")
    # Inviting again sends a fresh link; the first stops working.
    market.post("/api/v1/admin/media-owners/invite", "owner", {"email": "ann@example.com"})
    market.patronage.wait_for_events()
    token = market.inbox.link_token("ann@example.com", "invited to sell")
    assert token != first
    problem(market.post("/api/v1/media-owners/accept", "ann", {"token": first}), 422,
            "invitation.invalid")
    # The link proves the mailbox, not the account: anyone else is turned away.
    problem(market.post("/api/v1/media-owners/accept", None, {"token": token}), 403,
            "invitation.sign_in")
    problem(market.post("/api/v1/media-owners/accept", "bob", {"token": token}), 403,
            "invitation.sign_in")
    accepted = market.post("/api/v1/media-owners/accept", "ann", {"token": token})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "media_owner"
    (ann,) = market.rows(users, users.c.email == "ann@example.com")
    assert ann["role"] == "media_owner"


@pytest.mark.parametrize(("email", "code"), [
    ("host@example.com", "invitation.staff_account"),
    ("owner@example.com", "invitation.staff_account")])
def test_staff_are_not_invited(market: Market, email: str, code: str) -> None:
    problem(market.post("/api/v1/admin/media-owners/invite", "owner", {"email": email}),
            409, code)


def test_an_expired_invitation_accepts_nothing(market: Market) -> None:
    market.post("/api/v1/admin/media-owners/invite", "owner", {"email": "zoe@example.com"})
    market.patronage.wait_for_events()
    token = market.inbox.link_token("zoe@example.com", "invited to sell")
    market.advance(15)
    problem(market.post("/api/v1/media-owners/accept", None, {
        "token": token, "full_name": "Zoe", "password": "a long enough passphrase"}),
        422, "invitation.invalid")
    assert market.rows(users, users.c.email == "zoe@example.com") == []


def test_only_owners_invite_and_only_media_owners_onboard(market: Market) -> None:
    market.media_owner("maya")
    for who in ("maya", "host", "ann"):
        problem(market.post("/api/v1/admin/media-owners/invite", who,
                            {"email": "x@example.com"}), 403, "auth.owner_only")
    for who in ("host", "ann"):
        refused = market.post("/api/v1/studio/payouts/onboarding", who)
        assert refused.status_code == 403, refused.text
    problem(market.post("/api/v1/studio/payouts/onboarding", "owner"), 409,
            "payouts.not_media_owner")


def test_owners_see_which_media_owners_can_sell(market: Market) -> None:
    market.media_owner("maya")
    market.media_owner("noor", onboard=False)
    listed = market.get("/api/v1/admin/media-owners/", "owner")
    assert listed.status_code == 200, listed.text
    states = {m["email"]: (m["payouts"]["state"], m["payouts"]["account_id"] is not None)
              for m in listed.json()}
    assert states == {"maya@example.com": ("enabled", True),
                      "noor@example.com": ("not_started", False)}
    problem(market.get("/api/v1/admin/media-owners/", "maya"), 403, "auth.owner_only")


def test_parallel_onboarding_clicks_make_one_account(market: Market) -> None:
    market.media_owner("maya", onboard=False)
    headers = market.auth("maya")

    def click(_: int) -> tuple[int, str]:
        response = market.client.post("/api/v1/studio/payouts/onboarding", headers=headers)
        return response.status_code, response.json().get("account_id", "")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(click, range(8)))
    assert {status for status, _ in results} == {200}
    (account,) = market.rows(payout_accounts)
    assert {account_id for _, account_id in results} == {account["account_id"]}


# -- bookings of a media owner's offering --------------------------------------------------


def test_a_booking_is_split_and_its_refund_taken_back_in_proportion(market: Market) -> None:
    market.media_owner("maya")
    created = market.post("/api/v1/studio/offerings", "maya", EVENT)
    assert created.status_code == 201, created.text
    offering = created.json()["offering"]
    market.post(f"/api/v1/studio/offerings/{offering['id']}/publish", "maya")
    booked = market.post("/api/v1/bookings", "ann", {"offering_id": offering["id"],
                                                     "payment_method": "purchase"})
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]
    report = market.earnings("maya")
    assert line(report["by_item"]) == {**money("20.00", "0.00", "6.00", "14.00", 1),
                                       "label": "Sound bath"}
    canceled = market.post(f"/api/v1/bookings/{booking_id}/cancel", "maya",
                           {"reason": "Venue flooded"})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["refunded"] == "20.00"
    assert totals(market.earnings("maya")) == money("20.00", "20.00", "0.00", "0.00", 1)
    entries = market.rows(earnings_entries)
    assert sorted((e["entry_type"], e["source_type"]) for e in entries) == \
        [("refund", "booking"), ("sale", "booking")]


def test_each_installment_of_a_plan_is_split_on_the_terms_it_was_booked_on(
        market: Market) -> None:
    market.media_owner("maya")
    course = {**EVENT, "title": "Pottery course", "price": "100.00",
              "schedule": {"date": "2027-04-10", "start_time": "10:00",
                           "duration_minutes": 240},
              "payment_options": {"installments": 3}}
    offering = market.post("/api/v1/studio/offerings", "maya", course).json()["offering"]
    market.post(f"/api/v1/studio/offerings/{offering['id']}/publish", "maya")
    booked = market.post("/api/v1/bookings", "ann", {
        "offering_id": offering["id"], "payment_method": "purchase", "installments": True})
    assert booked.status_code == 201, booked.text
    # A fee change after booking does not touch the plan's later payments.
    changed = market.client.patch("/api/v1/settings", json={"platform_fee_percent": "10"},
                                  headers=market.auth("owner"))
    assert changed.status_code == 200, changed.text
    advanced = market.post("/api/v1/admin/sandbox/advance", "owner", {"days": 31})
    assert advanced.status_code == 200 and advanced.json()["installments_paid"] == 1
    market._tokens.clear()
    sales = sorted((e["source_type"], e["amount"], e["platform_fee"], e["creator_payout"])
                   for e in market.rows(earnings_entries))
    assert sales == [("booking", Decimal("33.34"), Decimal("10.00"), Decimal("23.34")),
                     ("installment", Decimal("33.33"), Decimal("10.00"), Decimal("23.33"))]
    canceled = market.post(f"/api/v1/bookings/{booked.json()['id']}/cancel", "maya", {})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["refunded"] == "66.67"
    assert totals(market.earnings("maya")) == money("66.67", "66.67", "0.00", "0.00", 2)


def test_an_offering_of_a_media_owner_without_payouts_is_not_booked_for_money(
        market: Market) -> None:
    market.media_owner("maya", onboard=False)
    created = market.post("/api/v1/studio/offerings", "maya", EVENT)
    offering = created.json()["offering"]
    market.post(f"/api/v1/studio/offerings/{offering['id']}/publish", "maya")
    problem(market.post("/api/v1/bookings", "ann", {"offering_id": offering["id"],
                                                    "payment_method": "purchase"}),
            409, "seller.payouts_not_ready")


# -- two media owners ----------------------------------------------------------------------


def test_two_media_owners_never_see_or_touch_each_others_things(market: Market) -> None:
    market.media_owner("maya")
    market.media_owner("noor")
    mayas_item = market.item("maya", price="10.00", title="Maya's notes")
    noors_item = market.item("noor", price="8.00", title="Noor's notes")
    created = market.post("/api/v1/studio/offerings", "maya", EVENT)
    offering = created.json()["offering"]
    market.post(f"/api/v1/studio/offerings/{offering['id']}/publish", "maya")
    assert market.buy("ann", mayas_item).status_code == 201
    assert market.buy("bob", noors_item).status_code == 201
    booked = market.post("/api/v1/bookings", "bob", {"offering_id": offering["id"],
                                                     "payment_method": "purchase"})
    booking_id = booked.json()["id"]

    # Content: someone else's item does not exist for you.
    problem(market.get(f"/api/v1/studio/content/{mayas_item}", "noor"), 404,
            "content.not_found")
    edited = market.client.patch(f"/api/v1/studio/content/{mayas_item}",
                                 json={"title": "Mine now"}, headers=market.auth("noor"))
    problem(edited, 404, "content.not_found")
    listed = market.get("/api/v1/studio/content/", "noor").json()
    assert [entry["id"] for entry in listed] == [noors_item]
    # Bookings: neither the offering's list nor cancelling a booking.
    assert market.get(f"/api/v1/studio/offerings/{offering['id']}/bookings",
                      "noor").status_code == 404
    refused = market.post(f"/api/v1/bookings/{booking_id}/cancel", "noor", {})
    assert refused.status_code in (403, 404), refused.text
    # Earnings: each sees their own sales only, and nobody else's reports.
    assert [x["label"] for x in market.earnings("noor")["by_item"]] == ["Noor's notes"]
    assert {x["label"] for x in market.earnings("maya")["by_item"]} == \
        {"Maya's notes", "Sound bath"}
    problem(market.get("/api/v1/admin/earnings", "noor"), 403, "auth.owner_only")
    problem(market.get("/api/v1/admin/earnings.csv", "noor"), 403, "auth.owner_only")
    # Payouts: their own only.
    (maya,) = market.rows(users, users.c.email == "maya@example.com")
    problem(market.get(f"/api/v1/admin/media-owners/{maya['id']}/payouts", "noor"), 403,
            "auth.owner_only")
    own = market.get("/api/v1/studio/payouts", "noor")
    assert own.status_code == 200 and own.json()["payouts"] == []
    assert market.get(f"/api/v1/admin/media-owners/{maya['id']}/payouts",
                      "owner").status_code == 200
    # The platform's owner sees both, by seller.
    sellers = market.earnings("owner", admin=True)["by_seller"]
    assert sorted((s["label"], s["gross"]) for s in sellers) == \
        [("Maya", "30.00"), ("Noor", "8.00")]


# -- the sums reconcile -------------------------------------------------------------------


def test_every_month_reconciles_with_purchases_and_refunds(market: Market) -> None:
    """Over three months of sales by a media owner and a platform creator, with partial
    and full refunds in later months: fee + net == gross - refunds on every line, and
    the ledger's totals are the purchases' and the refunds' tables to the cent."""
    market.media_owner("maya")
    prices = ["9.99", "0.15", "12.34", "7.77", "100.00", "0.99"]
    items = [market.item("maya" if n % 2 == 0 else "host", price=price, title=f"Item {n}")
             for n, price in enumerate(prices)]
    bought: list[str] = []
    for month in range(3):
        for n, item_id in enumerate(items):
            buyer = f"buyer{month}-{n}"
            market.user(f"{buyer}@example.com", Role.CUSTOMER)
            response = market.buy(buyer, item_id)
            assert response.status_code == 201, response.text
            bought.append(response.json()["purchase_id"])
        for n, purchase_id in enumerate(bought[::3]):
            if n % 2 == 0:
                market.refund(purchase_id, "0.01")
        market.advance(31)
    for purchase_id in bought[1::4]:
        market.refund(purchase_id)

    report = market.earnings("owner", admin=True)
    for section in ("totals", "by_month", "by_item", "by_seller"):
        for x in report[section]:
            assert Decimal(x["platform_fee"]) + Decimal(x["net"]) == \
                Decimal(x["gross"]) - Decimal(x["refunds"]), (section, x)
    with market.patronage.engine.connect() as conn:
        paid = conn.execute(sa.select(sa.func.sum(purchases.c.amount_paid)).where(
            purchases.c.status.in_(("completed", "refunded")))).scalar_one()
        fees = conn.execute(sa.select(sa.func.sum(purchases.c.platform_fee_amount)).where(
            purchases.c.status.in_(("completed", "refunded")))).scalar_one()
        refunded = conn.execute(sa.select(sa.func.sum(purchase_refunds.c.amount))).scalar_one()
    total = totals(report)
    assert Decimal(total["gross"]) == paid and Decimal(total["refunds"]) == refunded
    assert total["sales"] == len(bought) == 18
    # Summed over months, the month lines are the totals.
    for field in ("gross", "refunds", "platform_fee", "net"):
        assert sum(Decimal(m[field]) for m in report["by_month"]) == Decimal(total[field])
    assert [m["key"] for m in report["by_month"]] == ["2026-11", "2026-12", "2027-01",
                                                      "2027-02"]
    # Fees never exceed what was charged, and the platform creator's sales pay none.
    assert Decimal(total["platform_fee"]) <= fees
    (host,) = [s for s in report["by_seller"] if s["label"] == "Host"]
    assert host["platform_fee"] == "0.00"
    # A month's own query gives that month's line.
    december = market.earnings("owner", "from=2026-12-01&to=2026-12-31", admin=True)
    month_line = line(report["by_month"], "2026-12")
    month_line.pop("label")
    assert totals(december) == month_line


def test_an_earnings_range_is_checked(market: Market) -> None:
    market.media_owner("maya")
    problem(market.get("/api/v1/studio/earnings?from=2026-12-01&to=2026-11-01", "maya"),
            422, "earnings.range")
    problem(market.get("/api/v1/studio/earnings?from=2010-01-01&to=2026-11-01", "maya"),
            422, "earnings.range")
    for edge in ("from=0001-01-01", "to=0001-01-01", "to=9999-12-31"):
        problem(market.get(f"/api/v1/studio/earnings?{edge}", "maya"), 422, "earnings.range")
    bad = market.get("/api/v1/studio/earnings?from=yesterday", "maya")
    assert bad.status_code == 400, bad.text
    problem(market.get("/api/v1/studio/earnings", "ann"), 403, "auth.creators_only")
    empty = market.earnings("maya")
    assert empty["totals"] == [] and empty["by_month"] == [] and empty["by_item"] == []
    default = market.get("/api/v1/studio/earnings", "maya").json()
    assert default["end"] == T0.date().isoformat()
    assert default["start"] == (T0.date().replace(day=1) - timedelta(days=335)).replace(
        day=1).isoformat()


def test_earnings_are_exact_on_both_databases(
        any_db: tuple[Patronage, Client]) -> None:
    """SQLite keeps NUMERIC as a float: sums of many odd amounts still come out to the
    cent, the same as PostgreSQL's."""
    patronage, client = any_db
    system = Principal.system()
    for email, role in (("maya@example.com", Role.MEDIA_OWNER),
                        ("owner@example.com", Role.PLATFORM_OWNER)):
        patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                    full_name=email.split("@")[0].title(), role=role,
                                    verified=True))

    def auth(email: str) -> Headers:
        token = client.post("/api/v1/auth/login", json={"email": email,
                                                         "password": PASSWORD}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    maya, owner = auth("maya@example.com"), auth("owner@example.com")
    assert client.post("/api/v1/studio/payouts/onboarding", headers=maya).json()["state"] == \
        "enabled"
    prices = [Decimal("0.10"), Decimal("0.20"), Decimal("0.30"), Decimal("19.99"),
              Decimal("0.07")] * 6
    for n, price in enumerate(prices):
        email = f"buyer{n}@example.com"
        patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                    full_name="Buyer", role=Role.CUSTOMER, verified=True))
        made = client.post("/api/v1/studio/content", headers=maya, json={
            "title": f"Piece {n}", "content_type": "written", "price": str(price),
            "visibility": "purchased_only", "body_html": "<p>x</p>"}).json()
        client.post(f"/api/v1/studio/content/{made['id']}/publish", headers=maya)
        bought = client.post("/api/v1/purchases", headers=auth(email),
                             json={"content_id": made["id"]})
        assert bought.status_code == 201, bought.text
        if n % 3 == 0:
            refunded = client.post(
                f"/api/v1/admin/purchases/{bought.json()['purchase_id']}/refund",
                headers=owner, json={"reason": "r"})
            assert refunded.status_code == 200, refunded.text
    today = datetime.now(UTC).date()
    report = client.get(f"/api/v1/studio/earnings?from={today - timedelta(days=2)}"
                        f"&to={today + timedelta(days=2)}", headers=maya).json()
    (total,) = report["totals"]
    refunded_total = sum(p for n, p in enumerate(prices) if n % 3 == 0)
    assert Decimal(total["gross"]) == sum(prices)
    assert Decimal(total["refunds"]) == refunded_total
    assert Decimal(total["platform_fee"]) + Decimal(total["net"]) == \
        sum(prices) - refunded_total
    assert total["gross"] == f"{sum(prices):.2f}"


def test_a_booking_refunded_at_the_provider_reaches_the_ledger_once(market: Market) -> None:
    """A refund made by hand in Stripe's dashboard arrives only as charge.refunded: the
    earnings ledger records it against the booking's sale, once per refund."""
    market.media_owner("maya")
    offering = market.post("/api/v1/studio/offerings", "maya", EVENT).json()["offering"]
    market.post(f"/api/v1/studio/offerings/{offering['id']}/publish", "maya")
    booked = market.post("/api/v1/bookings", "ann", {"offering_id": offering["id"],
                                                     "payment_method": "purchase"})
    assert booked.status_code == 201, booked.text
    (sale,) = market.rows(earnings_entries)

    def refunded(event_id: str) -> str:
        outcome: str = market.patronage.handle(HandlePaymentEvent(PaymentEvent(
            id=event_id, type="charge.refunded", created=market.clock.now(),
            intent_id=sale["reference"],
            refunds=(RefundRecord(id="re_by_hand", amount=Money("5.00", "usd")),))))
        return outcome

    assert refunded("evt_dashboard_1") == "applied"
    assert refunded("evt_dashboard_1") == "duplicate"
    assert refunded("evt_dashboard_2") == "ignored"  # the same refund, told again
    (refund,) = market.rows(earnings_entries, earnings_entries.c.entry_type == "refund")
    assert (refund["amount"], refund["platform_fee"], refund["creator_payout"]) == (
        Decimal("5.00"), Decimal("1.50"), Decimal("3.50"))
    assert totals(market.earnings("maya")) == money("20.00", "5.00", "4.50", "10.50", 1)
