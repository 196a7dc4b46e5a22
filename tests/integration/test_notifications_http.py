"""In-app notifications over HTTP on PostgreSQL: made from domain events through the
outbox, one per event whoever handles it, an inbox per person with unread first, and
each person's choice of channel, within what must be emailed."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa

from adapters.sqlalchemy.tables import email_logs, notifications, purchases
from application.identity.registration import CreateUser
from application.notifications import in_app
from application.notifications.credit_warnings import WarnExpiringCredits
from application.principal import Principal
from domain.commerce.events import PurchaseCompleted
from domain.identity.roles import Role
from domain.notifications.kinds import Kind
from tests.integration.accounts import PASSWORD
from tests.integration.test_media_owners_http import Market, market, problem

__all__ = ["market"]  # the fixture, shared with the media-owner tests


def inbox(market: Market, who: str, query: str = "") -> dict[str, Any]:
    market.patronage.wait_for_events()
    response = market.get(f"/api/v1/me/notifications{query}", who)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    body: dict[str, Any] = response.json()
    return body


def emails_of(market: Market, email_type: str) -> list[dict[str, Any]]:
    market.patronage.wait_for_events()
    return market.rows(email_logs, email_logs.c.email_type == email_type)


def sell(market: Market, buyer: str, n: int) -> list[str]:
    bought = []
    for i in range(n):
        item_id = market.item("maya", price="3.00", title=f"Essay {buyer} {i}")
        response = market.buy(buyer, item_id)
        assert response.status_code == 201, response.text
        bought.append(response.json()["purchase_id"])
        market.clock.advance(seconds=1)
    return bought


def test_a_purchase_and_its_refund_land_in_the_buyers_inbox(market: Market) -> None:
    market.media_owner("maya")
    (purchase_id,) = sell(market, "ann", 1)
    first = inbox(market, "ann")
    assert first["unread"] == 1 and first["next_cursor"] is None
    (note,) = first["notifications"]
    assert (note["kind"], note["title"], note["read_at"]) == (
        "purchase_completed", "Purchased: Essay ann 0", None)
    assert note["action_url"].startswith("/content/")
    assert market.get("/api/v1/me/notifications/unread-count", "ann").json() == {"unread": 1}
    market.refund(purchase_id)
    kinds = [n["kind"] for n in inbox(market, "ann")["notifications"]]
    assert kinds == ["purchase_refunded", "purchase_completed"]
    # Nobody else is told.
    assert inbox(market, "bob")["notifications"] == []
    assert inbox(market, "maya")["notifications"][0]["kind"] == "payouts_enabled"


def test_unread_come_first_then_newest_and_pages_follow_the_cursor(market: Market) -> None:
    market.media_owner("maya")
    sell(market, "ann", 5)
    everything = inbox(market, "ann")["notifications"]
    titles = [n["title"] for n in everything]
    assert titles == [f"Purchased: Essay ann {i}" for i in (4, 3, 2, 1, 0)]
    # Reading the newest sends it behind the unread ones.
    marked = market.post(f"/api/v1/me/notifications/{everything[0]['id']}/read", "ann")
    assert marked.status_code == 200 and marked.json() == {"unread": 4}
    again = market.post(f"/api/v1/me/notifications/{everything[0]['id']}/read", "ann")
    assert again.json() == {"unread": 4}
    pages, cursor = [], ""
    while True:
        page = inbox(market, "ann", f"?limit=2{cursor}")
        pages.append([n["title"][-1] for n in page["notifications"]])
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert pages == [["3", "2"], ["1", "0"], ["4"]]
    problem(market.get("/api/v1/me/notifications?cursor=bm90LWEtY3Vyc29y", "ann"), 422,
            "notifications.cursor")
    all_read = market.post("/api/v1/me/notifications/read-all", "ann")
    assert all_read.json() == {"marked": 4, "unread": 0}
    assert inbox(market, "ann")["unread"] == 0


def test_nobody_reads_or_marks_someone_elses_notifications(market: Market) -> None:
    market.media_owner("maya")
    sell(market, "ann", 1)
    (note,) = inbox(market, "ann")["notifications"]
    problem(market.post(f"/api/v1/me/notifications/{note['id']}/read", "bob"), 404,
            "notification.not_found")
    assert market.post("/api/v1/me/notifications/read-all", "bob").json()["marked"] == 0
    assert inbox(market, "ann")["unread"] == 1


def test_preferences_decide_the_channel_but_never_switch_off_a_required_email(
        market: Market) -> None:
    prefs = market.get("/api/v1/me/notification-preferences", "ann").json()
    assert {p["kind"] for p in prefs} == {k.value for k in Kind}
    assert all(p["channel"] == "both" for p in prefs)
    required = {p["kind"] for p in prefs if p["email_required"]}
    assert "purchase_completed" in required and "booking_reminder" not in required

    def put(who: str, body: dict[str, str]) -> httpx.Response:
        return market.client.put("/api/v1/me/notification-preferences", json=body,
                                 headers=market.auth(who))

    problem(put("ann", {"purchase_completed": "none"}), 422, "notifications.email_required")
    problem(put("ann", {"purchase_completed": "email", "no_such_kind": "both"}), 422,
            "notifications.kind")
    assert put("ann", {"purchase_completed": "sms"}).status_code == 400
    # Nothing of a refused change applied.
    assert all(p["channel"] == "both"
               for p in market.get("/api/v1/me/notification-preferences", "ann").json())

    changed = put("ann", {"purchase_completed": "email"})
    assert changed.status_code == 200, changed.text
    assert {p["kind"]: p["channel"] for p in changed.json()}["purchase_completed"] == "email"
    market.media_owner("maya")
    sell(market, "ann", 1)
    assert inbox(market, "ann")["notifications"] == []  # email only
    assert len(emails_of(market, "purchase_receipt")) == 1  # the receipt still goes


@pytest.mark.parametrize(("channel", "emailed", "in_app_too"), [
    ("none", 0, False), ("in_app", 0, True), ("email", 1, False), ("both", 1, True)])
def test_a_switchable_kind_follows_the_choice(market: Market, channel: str, emailed: int,
                                              in_app_too: bool) -> None:
    market.media_owner("maya", onboard=False)
    chosen = market.client.put("/api/v1/me/notification-preferences",
                               json={"payouts_enabled": channel}, headers=market.auth("maya"))
    assert chosen.status_code == 200, chosen.text
    onboarded = market.post("/api/v1/studio/payouts/onboarding", "maya")
    assert onboarded.json()["state"] == "enabled"
    assert len(emails_of(market, "payouts_enabled")) == emailed
    kinds = [n["kind"] for n in inbox(market, "maya")["notifications"]]
    assert kinds == (["payouts_enabled"] if in_app_too else [])


def test_one_notification_per_event_whoever_handles_it(market: Market) -> None:
    """Two workers handling the same event at once (a redelivery racing the first
    delivery) leave one notification: the second insert meets the source key."""
    market.media_owner("maya")
    sell(market, "ann", 1)
    (row,) = market.rows(purchases)
    event = PurchaseCompleted(purchase_id=row["id"], customer_id=row["customer_id"])
    with market.patronage.engine.begin() as conn:
        conn.execute(sa.delete(notifications))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def handle() -> None:
        try:
            barrier.wait(timeout=10)
            with market.patronage.services.uow_factory() as uow:
                in_app.purchase_completed(event, uow, market.patronage.services)
                uow.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=handle) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (only,) = market.rows(notifications)
    assert only["source_key"] == f"purchase_completed:{UUID(str(row['id']))}"


def test_the_inbox_pages_alike_on_both_databases(any_db: tuple[Any, Any]) -> None:
    patronage, client = any_db
    user = patronage.handle(CreateUser(actor=Principal.system(), email="ann@example.com",
                                       password=PASSWORD, full_name="Ann",
                                       role=Role.CUSTOMER))
    services = patronage.services
    with services.uow_factory() as uow:
        for n in range(7):
            assert in_app.notify(uow, services, user_id=user.id, kind=Kind.BOOKING_REMINDER,
                                 key=f"k{n}", title=f"Note {n}", message="m")
        # The same key again: nothing more.
        assert not in_app.notify(uow, services, user_id=user.id,
                                 kind=Kind.BOOKING_REMINDER, key="k0", title="again",
                                 message="m")
        uow.commit()
    token = client.post("/api/v1/auth/login", json={"email": "ann@example.com",
                                                    "password": PASSWORD}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    everything = client.get("/api/v1/me/notifications?limit=100", headers=auth).json()
    assert len(everything["notifications"]) == 7 and everything["unread"] == 7
    for note in everything["notifications"][::3]:
        assert client.post(f"/api/v1/me/notifications/{note['id']}/read",
                           headers=auth).status_code == 200
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.get(f"/api/v1/me/notifications?limit=3{cursor}", headers=auth).json()
        seen += [n["id"] for n in page["notifications"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    expected = client.get("/api/v1/me/notifications?limit=100", headers=auth).json()
    assert seen == [n["id"] for n in expected["notifications"]]
    assert len(set(seen)) == 7
    reads = [n["read_at"] is not None for n in expected["notifications"]]
    assert reads == sorted(reads)  # unread ones first


def test_a_new_item_in_a_bought_series_is_news_to_its_buyers_once(market: Market) -> None:
    market.media_owner("maya")

    def draft(title: str) -> str:
        made = market.post("/api/v1/studio/content", "maya", {
            "title": title, "content_type": "written", "visibility": "purchased_only",
            "body_html": "<p>x</p>"})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    series = market.post("/api/v1/studio/series", "maya",
                         {"title": "Field course", "price": "12.00"}).json()
    first = draft("Lesson one")
    market.post(f"/api/v1/studio/series/{series['id']}/items", "maya", {"content_id": first})
    market.post(f"/api/v1/studio/content/{first}/publish", "maya")
    assert market.post(f"/api/v1/studio/series/{series['id']}/publish", "maya"
                       ).status_code == 200
    bought = market.post("/api/v1/purchases", "ann", {"series_id": series["id"]})
    assert bought.status_code == 201, bought.text

    second = draft("Lesson two")
    market.post(f"/api/v1/studio/series/{series['id']}/items", "maya", {"content_id": second})
    assert market.post(f"/api/v1/studio/content/{second}/publish", "maya"
                       ).status_code == 200
    news = [n for n in inbox(market, "ann")["notifications"]
            if n["kind"] == "series_new_item"]
    assert [n["title"] for n in news] == ["New in Field course: Lesson two"]
    assert news[0]["action_url"].startswith("/content/lesson-two")
    assert inbox(market, "bob")["notifications"] == []
    # Published again after a change: nobody is told twice.
    market.post(f"/api/v1/studio/content/{second}/unpublish", "maya")
    market.post(f"/api/v1/studio/content/{second}/publish", "maya")
    again = [n for n in inbox(market, "ann")["notifications"]
             if n["kind"] == "series_new_item"]
    assert len(again) == 1
    assert emails_of(market, "series_new_item") == []


def test_credits_expiring_within_a_week_are_told_once(market: Market) -> None:
    def adjust(who: str, amount: int, days: int) -> None:
        response = market.post("/api/v1/admin/credits/adjust", "owner", {
            "email": f"{who}@example.com", "amount": amount, "reason": "Class pass",
            "expires_at": (market.clock.now() + timedelta(days=days)).isoformat()})
        assert response.status_code == 200, response.text

    adjust("ann", 3, 5)     # within the week: told
    adjust("ann", 4, 10)    # not yet
    adjust("bob", 2, 6)     # bob chose no news of this kind
    chosen = market.client.put("/api/v1/me/notification-preferences",
                               json={"credits_expiring": "none"}, headers=market.auth("bob"))
    assert chosen.status_code == 200, chosen.text

    warn = WarnExpiringCredits(actor=Principal.system())
    assert market.patronage.handle(warn) == 2
    assert market.patronage.handle(warn) == 0  # once per grant, however often it runs
    (note,) = [n for n in inbox(market, "ann")["notifications"]
               if n["kind"] == "credits_expiring"]
    assert note["title"].startswith("3 credits expire on")
    (mail,) = emails_of(market, "credits_expiring")
    assert mail["recipient_email"] == "ann@example.com"
    assert inbox(market, "bob")["notifications"] == []

    market.advance(6)  # now the 10-day grant is within the week
    assert market.patronage.handle(warn) == 1
    titles = sorted(n["title"] for n in inbox(market, "ann")["notifications"]
                    if n["kind"] == "credits_expiring")
    assert [t.split(" expire")[0] for t in titles] == ["3 credits", "4 credits"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-05:00"])
def test_a_cursor_at_the_calendars_edge_is_refused_not_a_crash(market: Market,
                                                               moment: str) -> None:
    raw = f"u|{moment}|{UUID(int=1)}".encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    problem(market.get(f"/api/v1/me/notifications?cursor={cursor}", "ann"), 422,
            "notifications.cursor")
