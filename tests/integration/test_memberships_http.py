"""Memberships over HTTP against PostgreSQL, with the sandbox gateway and its movable clock.

The whole life of a membership as a member and an owner see it: tiers, subscribing
(Idempotency-Key, double clicks, one live subscription), access to members-only
items by tier, renewals and credits as the sandbox's clock moves, a failing card,
the grace period, cancelling at period end and resuming, switching tier, trials
offered once, yearly members' monthly credits, and who may read or change what.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.sqlalchemy.tables import credit_transactions, subscriptions
from application.catalog.authoring import CreateContent, PublishContent
from application.catalog.browsing import ExplainAccess
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.accounts import PASSWORD, Headers
from tests.integration.conftest import Inbox

Client = TestClient[Litestar]
GOOD_CARD = "4242424242424242"
RENEWALS_FAIL = "4000000000000341"
DECLINED = "4000000000000002"


class Platform:
    """An owner, two customers and a members-only essay; logs in again whenever asked
    (moving the sandbox's clock past a session's lifetime ends it, as time would)."""

    def __init__(self, patronage: Patronage, client: Client, inbox: Inbox) -> None:
        self.patronage, self.client, self.inbox = patronage, client, inbox
        self._tokens: dict[str, Headers] = {}
        system = Principal.system()
        for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                            ("ann@example.com", Role.CUSTOMER),
                            ("bob@example.com", Role.CUSTOMER)):
            patronage.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                                        full_name=email.split("@")[0].title(), role=role,
                                        verified=True))
        owner = patronage.handle(ActAs(actor=system, email="owner@example.com"))
        self.essay = self._publish(owner, "The members' essay", Visibility.MEMBERS_ONLY, None)
        self.yoga = self._publish(owner, "Paid yoga class", Visibility.PURCHASED_ONLY, "9.00",
                                  category="yoga")

    def _publish(self, owner: Principal, title: str, visibility: Visibility,
                 price: str | None, category: str | None = None) -> UUID:
        item = self.patronage.handle(CreateContent(
            actor=owner, title=title, content_type=ContentType.WRITTEN, visibility=visibility,
            price=price, category=category, body_html="<p>For members. THE-END</p>"))
        self.patronage.handle(PublishContent(actor=owner, content_id=item.id))
        item_id: UUID = item.id
        return item_id

    def auth(self, who: str) -> Headers:
        # Signing in costs an argon2 verification: reuse the token until the clock moves.
        if who in self._tokens:
            return dict(self._tokens[who])  # a copy: callers add headers to it
        response = self.client.post("/api/v1/auth/login",
                                    json={"email": f"{who}@example.com", "password": PASSWORD})
        assert response.status_code == 200, response.text
        self._tokens[who] = {"Authorization": f"Bearer {response.json()['token']}"}
        return dict(self._tokens[who])

    def tier(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Gold", "price_monthly": "10.00", "monthly_credits": 4, **fields}
        response = self.client.post("/api/v1/admin/tiers", json=body, headers=self.auth("owner"))
        assert response.status_code == 201, response.text
        tier: dict[str, Any] = response.json()
        return tier

    def subscribe(self, who: str, tier: dict[str, Any], card: str = GOOD_CARD,
                  period: str = "monthly", key: str | None = None) -> httpx.Response:
        headers = self.auth(who)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post("/api/v1/subscriptions", headers=headers, json={
            "tier_id": tier["id"], "billing_period": period, "payment_method": card})

    def member(self, who: str) -> dict[str, Any]:
        response = self.client.get("/api/v1/me/subscription", headers=self.auth(who))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def access(self, who: str, item: UUID | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/content/{item or self.essay}/access",
                                   headers=self.auth(who))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def advance(self, days: int) -> dict[str, Any]:
        response = self.client.post("/api/v1/admin/sandbox/advance", json={"days": days},
                                    headers=self.auth("owner"))
        assert response.status_code == 200, response.text
        self._tokens.clear()  # sessions may have ended in the time that passed
        self.patronage.wait_for_events()
        body: dict[str, Any] = response.json()
        return body

    def ledger(self, who: str) -> list[dict[str, Any]]:
        with self.patronage.engine.connect() as conn:
            user_id = conn.execute(sa.text("SELECT id FROM users WHERE email = :e"),
                                   {"e": f"{who}@example.com"}).scalar_one()
            return [dict(r) for r in conn.execute(
                sa.select(credit_transactions)
                .where(credit_transactions.c.customer_id == user_id)
                .order_by(credit_transactions.c.entry_number)).mappings()]

    def subjects(self, who: str) -> list[str]:
        self.patronage.wait_for_events()
        return [str(m["Subject"]) for m in self.inbox.messages(f"{who}@example.com")]


@pytest.fixture
def platform(patronage: Patronage, client: Client, inbox: Inbox) -> Iterator[Platform]:
    yield Platform(patronage, client, inbox)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# -- tiers ---------------------------------------------------------------------------------


def test_owners_create_and_edit_tiers_and_everyone_sees_the_active_ones(
        platform: Platform) -> None:
    gold = platform.tier(
        price_yearly="100.00", trial_days=7, category_access=["yoga"],
        offering_access_rules=[{"offering_type": "retreat", "access": "credits",
                                "credit_cost": 3},
                               {"offering_type": "one_time_event", "access": "free"}])
    assert gold["offering_access_rules"][0] == {"access": "credits", "offering_type": "retreat",
                                               "offering_id": None, "credit_cost": 3}
    silver = platform.tier(name="Silver", price_monthly="5.00")
    owner = platform.auth("owner")
    changed = platform.client.patch(f"/api/v1/admin/tiers/{silver['id']}", headers=owner,
                                    json={"price_monthly": "6.00", "monthly_credits": 2})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["price_monthly"], changed.json()["monthly_credits"]) == ("6.00", 2)
    public = platform.client.get("/api/v1/tiers")
    assert [(t["name"], t["price_monthly"]) for t in public.json()] == [
        ("Silver", "6.00"), ("Gold", "10.00")]
    gone = platform.client.post(f"/api/v1/admin/tiers/{silver['id']}/deactivate", headers=owner)
    assert gone.status_code == 200, gone.text
    assert gone.json()["active"] is False
    assert [t["name"] for t in platform.client.get("/api/v1/tiers").json()] == ["Gold"]
    problem(platform.client.get(f"/api/v1/tiers/{silver['id']}"), 404, "tier.not_found")
    assert {t["name"] for t in platform.client.get("/api/v1/admin/tiers",
                                                   headers=owner).json()} == {"Gold", "Silver"}


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"name": "No price"}, 422, "tier.price_required", "price_monthly"),
    ({"name": "Free", "price_monthly": "0"}, 422, "tier.price", "price_monthly"),
    ({"name": "Bad rule", "price_monthly": "5.00",
      "offering_access_rules": [{"access": "free"}]}, 422, "tier.rules",
     "offering_access_rules[0]"),
    ({"name": "Bad rule", "price_monthly": "5.00",
      "offering_access_rules": [{"offering_type": "retreat", "access": "free",
                                 "credit_cost": 2}]}, 422, "tier.rules",
     "offering_access_rules[0].credit_cost"),
    ({"name": "Twice", "price_monthly": "5.00",
      "offering_access_rules": [{"offering_type": "retreat"}, {"offering_type": "retreat"}]},
     422, "tier.rules", "offering_access_rules[1]"),
    ({"name": "Sneaky", "price_monthly": "5.00", "stripe_product_id": "prod_x"}, 400,
     "request.invalid", None),
    ({"name": "Bad price", "price_monthly": "-1"}, 400, "request.invalid", None),
])
def test_bad_tiers_are_refused_naming_the_field_and_nothing_is_written(
        platform: Platform, body: dict[str, Any], status: int, code: str,
        field: str | None) -> None:
    response = platform.client.post("/api/v1/admin/tiers", json=body,
                                    headers=platform.auth("owner"))
    refused = problem(response, status, code)
    if field is not None:
        assert refused["errors"][0]["field"] == field
    assert platform.client.get("/api/v1/admin/tiers", headers=platform.auth("owner")).json() == []


# -- subscribing and access ---------------------------------------------------------------


def test_a_member_opens_members_only_items_and_explain_names_the_tier(
        platform: Platform) -> None:
    tier = platform.tier(name="Gold")
    assert platform.access("ann") == {"allowed": False, "reason": "membership_required"}
    response = platform.subscribe("ann", tier)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "active"
    assert (response.json()["amount"], response.json()["client_secret"]) == ("10.00", None)
    assert platform.access("ann") == {"allowed": True, "reason": "membership"}
    # A tier without categories opens members-only items, not paid ones.
    assert platform.access("ann", platform.yoga)["reason"] == "purchase_required"
    assert platform.access("bob")["reason"] == "membership_required"
    with platform.patronage.engine.connect() as conn:
        slug = conn.execute(sa.text("SELECT slug FROM content WHERE id = :id"),
                            {"id": platform.essay}).scalar_one()
    view = platform.patronage.handle(ExplainAccess(actor=Principal.system(),
                                                   email="ann@example.com", slug=slug))
    assert view.allowed and "membership Gold covers item" in view.trace
    me = platform.member("ann")
    assert (me["tier_name"], me["status"], me["has_access"]) == ("Gold", "active", True)
    assert me["renews_at"] == me["current_period_end"] and me["ends_at"] is None
    assert me["credits"]["balance"] == 4
    assert me["payment_method"] == "card ending 4242"
    assert "Welcome to Gold" in platform.subjects("ann")


def test_a_tier_with_categories_opens_paid_items_of_those_categories(
        platform: Platform) -> None:
    tier = platform.tier(name="Yoga", category_access=["yoga"])
    assert platform.subscribe("ann", tier).status_code == 201
    assert platform.access("ann", platform.yoga) == {"allowed": True, "reason": "membership"}
    # The members-only essay has no category: a tier limited to yoga does not open it.
    assert platform.access("ann")["reason"] == "membership_required"


def test_the_same_idempotency_key_and_double_clicks_make_one_subscription(
        platform: Platform) -> None:
    tier = platform.tier()
    first = platform.subscribe("ann", tier, key="join-1")
    again = platform.subscribe("ann", tier, key="join-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["subscription_id"] == again.json()["subscription_id"]
    other_tier = platform.tier(name="Silver", price_monthly="5.00")
    problem(platform.subscribe("ann", other_tier, key="join-1"), 409,
            "request.idempotency_key_reused")
    problem(platform.subscribe("ann", other_tier), 409, "subscription.exists")

    headers = platform.auth("bob")

    def click(_: int) -> httpx.Response:
        return platform.client.post("/api/v1/subscriptions", headers=headers,
                                    json={"tier_id": tier["id"]})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(click, range(6)))
    ids = {a.json().get("subscription_id") for a in answers if a.status_code == 201}
    assert len(ids) == 1, [a.text for a in answers]
    assert {a.status_code for a in answers} <= {201, 409}
    with platform.patronage.engine.connect() as conn:
        live = conn.execute(sa.select(sa.func.count()).select_from(subscriptions).where(
            subscriptions.c.status.in_(("active", "trialing", "past_due", "incomplete"))
        )).scalar_one()
    assert live == 2  # ann's and bob's: one each
    assert [r["amount"] for r in platform.ledger("bob")] == [4]  # one first invoice


def test_a_declined_card_makes_no_membership_and_frees_the_slot(platform: Platform) -> None:
    tier = platform.tier()
    problem(platform.subscribe("ann", tier, card=DECLINED), 402, "payment.declined")
    assert platform.access("ann")["reason"] == "membership_required"
    assert platform.subscribe("ann", tier).status_code == 201


def test_an_inactive_tier_takes_no_one_new_and_keeps_its_members(platform: Platform) -> None:
    tier = platform.tier()
    assert platform.subscribe("ann", tier).status_code == 201
    platform.client.post(f"/api/v1/admin/tiers/{tier['id']}/deactivate",
                         headers=platform.auth("owner"))
    problem(platform.subscribe("bob", tier), 409, "tier.inactive")
    assert platform.access("ann")["allowed"] is True
    assert platform.advance(31)["renewed"] == 1
    assert platform.member("ann")["status"] == "active"


# -- the sandbox's clock: renewals, a failing card, grace, cancelling ------------------------


def test_renewals_grant_credits_a_failing_card_gets_grace_then_access_ends(
        platform: Platform) -> None:
    tier = platform.tier(monthly_credits=4)
    assert platform.subscribe("ann", tier).status_code == 201
    assert platform.subscribe("bob", tier, card=RENEWALS_FAIL).status_code == 201
    assert platform.access("bob")["allowed"] is True

    moved = platform.advance(31)
    assert (moved["renewed"], moved["failed"], moved["ended"]) == (1, 1, 0)
    ann = platform.member("ann")
    assert ann["status"] == "active" and ann["credits"]["balance"] == 4
    # The first month's credits expired at its end; the second month's are there.
    assert [(r["type"], r["amount"]) for r in platform.ledger("ann")] == [
        ("earned_subscription", 4), ("expired", -4), ("earned_subscription", 4)]
    assert any(s.startswith("Receipt: Gold") for s in platform.subjects("ann"))

    bob = platform.member("bob")
    assert bob["status"] == "past_due" and bob["grace_until"] is not None
    assert bob["ends_at"] == bob["grace_until"]
    assert platform.access("bob") == {"allowed": True, "reason": "membership"}
    assert [r["amount"] for r in platform.ledger("bob") if r["amount"] > 0] == [4]
    assert "Payment failed: Gold" in platform.subjects("bob")

    platform.advance(6)  # still within the 7 days of grace
    assert platform.access("bob")["allowed"] is True
    platform.advance(2)
    assert platform.access("bob") == {"allowed": False, "reason": "membership_required"}
    assert platform.member("bob")["has_access"] is False
    assert platform.access("ann")["allowed"] is True


def test_grace_follows_the_setting(platform: Platform) -> None:
    owner = platform.auth("owner")
    assert platform.client.patch("/api/v1/settings", headers=owner,
                                 json={"membership_grace_days": 0}).status_code == 200
    tier = platform.tier()
    platform.subscribe("bob", tier, card=RENEWALS_FAIL)
    platform.advance(31)
    assert platform.member("bob")["status"] == "past_due"
    assert platform.access("bob")["allowed"] is False


def test_cancelling_keeps_access_to_the_period_end_and_resuming_undoes_it(
        platform: Platform) -> None:
    tier = platform.tier()
    platform.subscribe("ann", tier)
    end = platform.member("ann")["current_period_end"]
    cancelled = platform.client.post("/api/v1/me/subscription/cancel",
                                     headers=platform.auth("ann"))
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["cancel_at_period_end"], cancelled.json()["ends_at"],
            cancelled.json()["renews_at"]) == (True, end, None)
    assert "Cancelled: Gold" in platform.subjects("ann")
    resumed = platform.client.post("/api/v1/me/subscription/resume",
                                   headers=platform.auth("ann"))
    assert resumed.json()["cancel_at_period_end"] is False
    problem(platform.client.post("/api/v1/me/subscription/resume", headers=platform.auth("ann")),
            409, "subscription.not_canceled")
    # Cancel again: a second request of its own, not a replay of the first.
    again = platform.client.post("/api/v1/me/subscription/cancel", headers=platform.auth("ann"))
    assert again.json()["cancel_at_period_end"] is True

    platform.advance(29)
    assert platform.access("ann")["allowed"] is True
    moved = platform.advance(2)
    assert moved["ended"] == 1
    me = platform.member("ann")
    assert (me["status"], me["has_access"], me["canceled_at"]) == ("canceled", False, end)
    assert platform.access("ann")["reason"] == "membership_required"
    assert "Your Gold membership ended" in platform.subjects("ann")
    # Credits already earned stay until they expire.
    assert platform.member("ann")["credits"]["lifetime_earned"] == 4


def test_switching_tier_keeps_one_subscription(platform: Platform) -> None:
    gold = platform.tier(name="Gold")
    yoga = platform.tier(name="Yoga", price_monthly="7.00", category_access=["yoga"],
                         price_yearly="70.00")
    first = platform.subscribe("ann", gold).json()["subscription_id"]
    problem(platform.client.post("/api/v1/me/subscription/change", headers=platform.auth("ann"),
                                 json={"tier_id": gold["id"]}), 409, "subscription.same_tier")
    switched = platform.client.post("/api/v1/me/subscription/change",
                                    headers=platform.auth("ann"), json={"tier_id": yoga["id"]})
    assert switched.status_code == 200, switched.text
    assert (switched.json()["id"], switched.json()["tier_name"]) == (first, "Yoga")
    assert platform.access("ann", platform.yoga)["allowed"] is True
    assert platform.access("ann")["allowed"] is False
    yearly = platform.client.post("/api/v1/me/subscription/change", headers=platform.auth("ann"),
                                  json={"tier_id": yoga["id"], "billing_period": "yearly"})
    assert yearly.json()["billing_period"] == "yearly"
    with platform.patronage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subscriptions)
                            ).scalar_one() == 1


def test_a_trial_is_free_and_offered_once(platform: Platform) -> None:
    tier = platform.tier(trial_days=14)
    started = platform.subscribe("ann", tier)
    assert started.json()["status"] == "trialing"
    me = platform.member("ann")
    assert me["trial_end"] == me["current_period_end"]
    assert platform.access("ann")["allowed"] is True
    owner = platform.auth("owner")
    platform.client.post(f"/api/v1/admin/subscriptions/{me['id']}/cancel", headers=owner)
    assert platform.access("ann")["allowed"] is False
    again = platform.subscribe("ann", tier)
    assert again.json()["status"] == "active"
    assert platform.member("ann")["trial_end"] is None


def test_yearly_members_get_monthly_credits_each_with_its_expiry(platform: Platform) -> None:
    tier = platform.tier(price_monthly=None, price_yearly="100.00", monthly_credits=3)
    assert platform.subscribe("ann", tier, period="yearly").status_code == 201
    assert [r["amount"] for r in platform.ledger("ann")] == [3]
    platform.advance(31)
    platform.advance(31)
    ledger = platform.ledger("ann")
    grants = [r for r in ledger if r["type"] == "earned_subscription"]
    assert [r["amount"] for r in grants] == [3, 3, 3]
    assert len({r["expires_at"] for r in grants}) == 3
    assert sum(r["amount"] for r in ledger) == platform.member("ann")["credits"]["balance"] == 3
    # Running the schedule again changes nothing.
    platform.advance(1)
    assert len(platform.ledger("ann")) == len(ledger)


def test_rollover_keeps_unspent_credits_up_to_the_cap(platform: Platform) -> None:
    tier = platform.tier(monthly_credits=5, credit_rollover=True, credit_rollover_cap=7)
    platform.subscribe("ann", tier)
    platform.advance(31)
    assert platform.member("ann")["credits"]["balance"] == 10
    platform.advance(31)
    # Seven carried over at most, plus the new five.
    assert platform.member("ann")["credits"]["balance"] == 12
    assert [r["amount"] for r in platform.ledger("ann") if r["type"] == "expired"] == [-3]


# -- credits, and who may see or change what -----------------------------------------------


def test_credits_are_each_members_own_and_only_owners_adjust_them(platform: Platform) -> None:
    tier = platform.tier()
    platform.subscribe("ann", tier)
    ann, bob, owner = platform.auth("ann"), platform.auth("bob"), platform.auth("owner")
    assert platform.client.get("/api/v1/me/credits", headers=bob).json()["balance"] == 0
    problem(platform.client.get("/api/v1/me/subscription", headers=bob), 404,
            "subscription.not_found")
    ann_sub = platform.member("ann")["id"]
    for who in (ann, bob):
        problem(platform.client.post("/api/v1/admin/credits/adjust", headers=who,
                                     json={"email": "ann@example.com", "amount": 100,
                                           "reason": "mine"}), 403, "auth.owner_only")
        problem(platform.client.post(f"/api/v1/admin/subscriptions/{ann_sub}/cancel",
                                     headers=who), 403, "auth.owner_only")
    problem(platform.client.post("/api/v1/me/subscription/cancel", headers=bob), 404,
            "subscription.not_found")
    assert platform.member("ann")["cancel_at_period_end"] is False

    problem(platform.client.post("/api/v1/admin/credits/adjust", headers=owner,
                                 json={"email": "ann@example.com", "amount": 5,
                                       "reason": "   "}), 422, "credits.reason_required")
    problem(platform.client.post("/api/v1/admin/credits/adjust", headers=owner,
                                 json={"email": "ann@example.com", "amount": -50,
                                       "reason": "too much"}), 409, "credits.insufficient")
    added = platform.client.post("/api/v1/admin/credits/adjust", headers=owner,
                                 json={"email": "ann@example.com", "amount": 6,
                                       "reason": "Sorry about the outage"})
    assert added.status_code == 200, added.text
    assert added.json()["credits"]["balance"] == 10
    taken = platform.client.post("/api/v1/admin/credits/adjust", headers=owner,
                                 json={"email": "ann@example.com", "amount": -7,
                                       "reason": "Double grant"})
    assert taken.json()["credits"]["balance"] == 3
    history = platform.client.get("/api/v1/me/credits/transactions?limit=2",
                                  headers=platform.auth("ann")).json()
    assert [(h["type"], h["amount"], h["description"]) for h in history] == [
        ("adjustment", -7, "Double grant"), ("adjustment", 6, "Sorry about the outage")]
    assert platform.client.get("/api/v1/me/credits/transactions?offset=2",
                               headers=platform.auth("ann")).json()[0]["amount"] == 4
    rows = platform.ledger("ann")
    assert all(r["actor_id"] is not None for r in rows if r["type"] == "adjustment")
    # Soonest-expiring first: the month's 4 went before the adjustment's 6 (no expiry).
    summary = platform.client.get("/api/v1/me/credits", headers=platform.auth("ann")).json()
    assert summary["next_expiries"] == []


def test_the_sandbox_clock_is_refused_with_a_clear_error_for_customers(
        platform: Platform) -> None:
    problem(platform.client.post("/api/v1/admin/sandbox/advance", json={"days": 5},
                                 headers=platform.auth("ann")), 403, "auth.owner_only")
    problem(platform.client.post("/api/v1/admin/sandbox/advance", json={"days": 0},
                                 headers=platform.auth("owner")), 400, "request.invalid")
