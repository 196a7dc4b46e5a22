"""The permission matrix over HTTP, cell by cell: every role against every guarded action.

The expected table is written here independently of `domain/identity/permissions.py`, so
a change to the matrix has to be made (and argued) in both places.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.accounts import Headers, account

CUSTOMER, MEDIA, CREATOR, OWNER = (Role.CUSTOMER, Role.MEDIA_OWNER, Role.PLATFORM_CREATOR,
                                   Role.PLATFORM_OWNER)
ROLES = [CUSTOMER, MEDIA, CREATOR, OWNER]
EVERY_CREATOR = {MEDIA, CREATOR, OWNER}


@dataclass
class World:
    client: TestClient[Litestar]
    patronage: Patronage
    actor: Headers
    others_draft: str  # an item made by another creator
    others_series: str
    target_email: str  # a customer account to administer
    others_offering: str  # a draft offering made by another creator


@pytest.fixture(params=ROLES, ids=[r.value for r in ROLES])
def world(request: pytest.FixtureRequest, patronage: Patronage,
          client: TestClient[Litestar]) -> World:
    role: Role = request.param
    # A platform owner always exists (the platform keeps one); the actor is another account.
    account(patronage, client, "first-owner@example.com", OWNER)
    other = account(patronage, client, "other-creator@example.com", CREATOR)
    draft = client.post("/api/v1/studio/content", headers=other,
                        json={"title": "Someone else's", "content_type": "written",
                              "body_html": "<p>Words.</p>"})
    series = client.post("/api/v1/studio/series", headers=other, json={"title": "Theirs"})
    assert draft.status_code == 201 and series.status_code == 201, (draft.text, series.text)
    offering = client.post("/api/v1/studio/offerings", headers=other, json={
        "title": "Their class", "offering_type": "one_time_event", "capacity_type": "unlimited",
        "delivery_method": "online", "price": "5.00",
        "schedule": {"date": "2030-01-01", "start_time": "10:00", "duration_minutes": 60}})
    assert offering.status_code == 201, offering.text
    account(patronage, client, "target@example.com", CUSTOMER)
    return World(client, patronage, account(patronage, client, "actor@example.com", role),
                 draft.json()["id"], series.json()["id"], "target@example.com",
                 offering.json()["offering"]["id"])


Action = Callable[[World], Any]

ACTIONS: dict[str, tuple[set[Role], Action]] = {
    "list users": ({OWNER}, lambda w: w.client.get("/api/v1/admin/users", headers=w.actor)),
    "create a user": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/users", headers=w.actor,
        json={"email": "made@example.com", "password": "a long and unusual passphrase",
              "full_name": "Made", "role": "customer"})),
    "change someone's role": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/users/role", headers=w.actor,
        json={"email": w.target_email, "role": "platform_creator"})),
    "disable someone": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/users/disable", headers=w.actor, json={"email": w.target_email})),
    "change settings": ({OWNER}, lambda w: w.client.patch(
        "/api/v1/settings", headers=w.actor, json={"platform_name": "Mine now"})),
    "refund a purchase": ({OWNER}, lambda w: w.client.post(
        f"/api/v1/admin/purchases/{uuid4()}/refund", headers=w.actor,
        json={"reason": "because"})),
    "grant access": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/access-grants", headers=w.actor,
        json={"email": w.target_email, "content_id": w.others_draft})),
    "revoke access": ({OWNER}, lambda w: w.client.delete(
        f"/api/v1/admin/access-grants?email={w.target_email}&content_id={w.others_draft}",
        headers=w.actor)),
    "create content": (EVERY_CREATOR, lambda w: w.client.post(
        "/api/v1/studio/content", headers=w.actor,
        json={"title": "Mine", "content_type": "written"})),
    "create a series": (EVERY_CREATOR, lambda w: w.client.post(
        "/api/v1/studio/series", headers=w.actor, json={"title": "Mine"})),
    "read another creator's draft in the studio": ({OWNER}, lambda w: w.client.get(
        f"/api/v1/studio/content/{w.others_draft}", headers=w.actor)),
    "edit another creator's item": ({OWNER}, lambda w: w.client.patch(
        f"/api/v1/studio/content/{w.others_draft}", headers=w.actor, json={"title": "Hijacked"})),
    "publish another creator's item": ({OWNER}, lambda w: w.client.post(
        f"/api/v1/studio/content/{w.others_draft}/publish", headers=w.actor)),
    "delete another creator's item": ({OWNER}, lambda w: w.client.delete(
        f"/api/v1/studio/content/{w.others_draft}", headers=w.actor)),
    "edit another creator's series": ({OWNER}, lambda w: w.client.patch(
        f"/api/v1/studio/series/{w.others_series}", headers=w.actor, json={"title": "Hijacked"})),
    "read another creator's draft as a reader": ({OWNER}, lambda w: w.client.get(
        f"/api/v1/content/{w.others_draft}/access", headers=w.actor)),
    "create a tier": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/tiers", headers=w.actor, json={"name": "Mine", "price_monthly": "5.00"})),
    "edit a tier": ({OWNER}, lambda w: w.client.patch(
        f"/api/v1/admin/tiers/{uuid4()}", headers=w.actor, json={"price_monthly": "0.50"})),
    "list every tier": ({OWNER}, lambda w: w.client.get("/api/v1/admin/tiers",
                                                        headers=w.actor)),
    "list subscriptions": ({OWNER}, lambda w: w.client.get("/api/v1/admin/subscriptions",
                                                           headers=w.actor)),
    "end someone's subscription": ({OWNER}, lambda w: w.client.post(
        f"/api/v1/admin/subscriptions/{uuid4()}/cancel", headers=w.actor)),
    "adjust someone's credits": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/credits/adjust", headers=w.actor,
        json={"email": w.target_email, "amount": 50, "reason": "I said so"})),
    "sell a credit pack": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/credit-packs", headers=w.actor,
        json={"name": "Mine", "price": "5.00", "credits": 5})),
    "edit a credit pack": ({OWNER}, lambda w: w.client.patch(
        f"/api/v1/admin/credit-packs/{uuid4()}", headers=w.actor, json={"price": "0.50"})),
    "list every credit pack": ({OWNER}, lambda w: w.client.get("/api/v1/admin/credit-packs",
                                                               headers=w.actor)),
    "move the sandbox clock": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/sandbox/advance", headers=w.actor, json={"days": 1})),
    "create an offering": (EVERY_CREATOR, lambda w: w.client.post(
        "/api/v1/studio/offerings", headers=w.actor, json={
            "title": "Mine", "offering_type": "one_time_event", "capacity_type": "unlimited",
            "delivery_method": "online", "price": "5.00",
            "schedule": {"date": "2030-01-01", "start_time": "10:00",
                         "duration_minutes": 60}})),
    "edit another creator's offering": ({OWNER}, lambda w: w.client.patch(
        f"/api/v1/studio/offerings/{w.others_offering}", headers=w.actor,
        json={"title": "Hijacked"})),
    "see another creator's bookings": ({OWNER}, lambda w: w.client.get(
        f"/api/v1/studio/offerings/{w.others_offering}/bookings", headers=w.actor)),
    "move another creator's session": ({OWNER}, lambda w: w.client.post(
        f"/api/v1/studio/offerings/{w.others_offering}/sessions/move", headers=w.actor,
        json={"from": "2030-01-01T10:00:00Z", "to": "2030-01-08T10:00:00Z"})),
    "invite a media owner": ({OWNER}, lambda w: w.client.post(
        "/api/v1/admin/media-owners/invite", headers=w.actor,
        json={"email": "invitee@example.com"})),
    "list everyone's API keys": ({OWNER}, lambda w: w.client.get(
        "/api/v1/admin/api-keys", headers=w.actor)),
    "list media owners": ({OWNER}, lambda w: w.client.get(
        "/api/v1/admin/media-owners/", headers=w.actor)),
    "list invitations": ({OWNER}, lambda w: w.client.get(
        "/api/v1/admin/media-owners/invitations", headers=w.actor)),
    "read everyone's earnings": ({OWNER}, lambda w: w.client.get(
        "/api/v1/admin/earnings", headers=w.actor)),
    "export everyone's earnings": ({OWNER}, lambda w: w.client.get(
        "/api/v1/admin/earnings.csv", headers=w.actor)),
    "read a media owner's payouts": ({OWNER}, lambda w: w.client.get(
        f"/api/v1/admin/media-owners/{uuid4()}/payouts", headers=w.actor)),
    "read one's own earnings": (EVERY_CREATOR, lambda w: w.client.get(
        "/api/v1/studio/earnings", headers=w.actor)),
    # An owner holds every permission, but only media owners are paid out.
    "start payout onboarding": ({MEDIA, OWNER}, lambda w: w.client.post(
        "/api/v1/studio/payouts/onboarding", headers=w.actor)),
    "read one's payout account": ({MEDIA, OWNER}, lambda w: w.client.get(
        "/api/v1/studio/payouts/account", headers=w.actor)),
}


PAST_THE_CHECK = {"refund a purchase": "purchase.not_found", "revoke access": "grant.not_found",
                  "read a media owner's payouts": "media_owner.not_found",
                  "start payout onboarding": "payouts.not_media_owner",
                  "read one's payout account": "payouts.not_media_owner",
                  "edit a tier": "tier.not_found", "edit a credit pack": "credit_pack.not_found",
                  "end someone's subscription": "subscription.not_found",
                  "move another creator's session": "session.not_movable"}


def role_of(world: World) -> Role:
    me = world.client.get("/api/v1/me", headers=world.actor)
    return Role(me.json()["role"])


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_cell_of_the_matrix(world: World, action: str) -> None:
    allowed, act = ACTIONS[action]
    role = role_of(world)
    response = act(world)
    # Problems are JSON; a CSV export is not.
    body = response.json() if "json" in response.headers.get("content-type", "") else {}
    if role in allowed:
        # Past the permission check; some then find nothing to act on.
        assert response.status_code < 400 or body.get("code") == PAST_THE_CHECK.get(action), (
            role, action, response.text)
        return
    # Refused: administration says who may; someone else's item does not exist for you.
    assert response.status_code in (403, 404), (role, action, response.text)
    if response.status_code == 403:
        assert body["code"] in ("auth.owner_only", "auth.creators_only",
                                "auth.media_owners_only"), body
    else:
        assert body["code"] in ("content.not_found", "series.not_found",
                                "offering.not_found"), body
    assert_nothing_changed(world)


def assert_nothing_changed(w: World) -> None:
    with w.patronage.engine.connect() as conn:
        target = conn.execute(sa.text(
            "SELECT role, disabled_at FROM users WHERE email = :e"), {"e": w.target_email}).one()
        item = conn.execute(sa.text(
            "SELECT title, status, deleted_at FROM content WHERE id = :id"),
            {"id": w.others_draft}).one()
        made = conn.execute(sa.text("SELECT count(*) FROM users WHERE email = 'made@example.com'"
                                    )).scalar_one()
        grants = conn.execute(sa.text("SELECT count(*) FROM content_access")).scalar_one()
        name, offset = conn.execute(sa.text(
            "SELECT platform_name, sandbox_clock_offset_seconds FROM platform_settings")).one()
        tiers = conn.execute(sa.text("SELECT count(*) FROM subscription_tiers")).scalar_one()
        tiers += conn.execute(sa.text("SELECT count(*) FROM credit_packs")).scalar_one()
        tiers += conn.execute(sa.text("SELECT count(*) FROM media_owner_invitations")
                              ).scalar_one()
        tiers += conn.execute(sa.text("SELECT count(*) FROM payout_accounts")).scalar_one()
        credits = conn.execute(sa.text("SELECT count(*) FROM credit_transactions")).scalar_one()
        offering_title = conn.execute(sa.text(
            "SELECT title FROM offerings WHERE id = :id"), {"id": w.others_offering}
        ).scalar_one()
        offerings_made = conn.execute(sa.text(
            "SELECT count(*) FROM offerings WHERE title = 'Mine'")).scalar_one()
    assert (tiers, credits, offset) == (0, 0, 0)
    assert (offering_title, offerings_made) == ("Their class", 0)
    assert (target.role, target.disabled_at) == ("customer", None)
    assert (item.title, item.status, item.deleted_at) == ("Someone else's", "draft", None)
    assert (made, grants) == (0, 0)
    assert name != "Mine now"


@pytest.mark.parametrize("wanted", ["platform_owner", "customer"])
def test_nobody_changes_their_own_role(world: World, wanted: str) -> None:
    role = role_of(world)
    response = world.client.post("/api/v1/admin/users/role", headers=world.actor,
                                 json={"email": "actor@example.com", "role": wanted})
    assert response.status_code == 403, response.text
    expected = "user.own_account" if role is OWNER else "auth.owner_only"
    assert response.json()["code"] == expected
    assert role_of(world) is role


def test_an_owner_cannot_disable_themselves(patronage: Patronage,
                                            client: TestClient[Litestar]) -> None:
    account(patronage, client, "first-owner@example.com", OWNER)
    me = account(patronage, client, "actor@example.com", OWNER)
    response = client.post("/api/v1/admin/users/disable", headers=me,
                           json={"email": "actor@example.com"})
    assert response.status_code == 403
    assert response.json()["code"] == "user.own_account"
    assert client.get("/api/v1/me", headers=me).status_code == 200


def test_creators_see_only_their_own_items_in_the_studio(
        patronage: Patronage, client: TestClient[Litestar]) -> None:
    ann = account(patronage, client, "ann@example.com", CREATOR)
    bob = account(patronage, client, "bob@example.com", MEDIA)
    owner = account(patronage, client, "owner@example.com", OWNER)
    for who, title in ((ann, "Ann's"), (bob, "Bob's")):
        assert client.post("/api/v1/studio/content", headers=who,
                           json={"title": title, "content_type": "written"}).status_code == 201

    def titles(who: Headers) -> set[str]:
        return {i["title"] for i in client.get("/api/v1/studio/content", headers=who).json()}

    assert titles(ann) == {"Ann's"}
    assert titles(bob) == {"Bob's"}
    assert titles(owner) == {"Ann's", "Bob's"}
