"""Entitlements over HTTP against PostgreSQL: who may read, watch and resume what.

Grants, subscriptions and purchases are written straight into their tables (the
payment flows that normally write them are not under test here); every check then
goes through the HTTP API, and looks at the real effect (the body, the playback
URL, the saved progress), not only at the reason the API gives.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient
from typer.testing import CliRunner

from adapters.local_storage.storage import InvalidMediaToken, LocalMediaStorage
from adapters.sqlalchemy.tables import (
    content_access,
    events,
    purchases,
    subscription_tiers,
    subscriptions,
    video_playback,
)
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.config import Settings

Client = TestClient[Litestar]
PASSWORD = "a long and unusual passphrase"
PUBLIC_URL = "https://studio.example.com"
OWNER_EMAIL = "owner@example.com"
A_EMAIL = "ann@example.com"
B_EMAIL = "bob@example.com"
DURATION = 100
# Longer than the 400-character preview, so a preview is visibly an excerpt.
BODY = "<p>" + " ".join(f"word{i}" for i in range(150)) + " THE-END</p>"


# -- people ----------------------------------------------------------------------------


@attrs.frozen
class Person:
    email: str
    token: str
    user_id: UUID

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@attrs.frozen
class World:
    client: Client
    engine: sa.Engine
    owner: Person
    a: Person
    b: Person


def login(client: Client, email: str) -> Person:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    return Person(email=email, token=body["token"], user_id=UUID(body["user_id"]))


def register(client: Client, email: str) -> Person:
    response = client.post("/api/v1/auth/register",
                           json={"email": email, "password": PASSWORD, "full_name": "Reader"})
    assert response.status_code == 202, response.text
    return login(client, email)


@pytest.fixture
def world(patronage: Patronage, client: Client, clean_db: sa.Engine) -> World:
    patronage.handle(CreateUser(actor=Principal.system(), email=OWNER_EMAIL, password=PASSWORD,
                                full_name="Owner", role=Role.PLATFORM_OWNER))
    return World(client=client, engine=clean_db, owner=login(client, OWNER_EMAIL),
                 a=register(client, A_EMAIL), b=register(client, B_EMAIL))


# -- content -----------------------------------------------------------------------------


def media_bytes(size: int = 64) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(size - 12)


def create_item(
    w: World,
    *,
    content_type: str = "written",
    visibility: str = "purchased_only",
    price: str | None = "9.99",
    category: str | None = None,
    title: str | None = None,
    publish: bool = True,
    media: bytes | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "title": title or f"Item {secrets.token_hex(3)}",
        "content_type": content_type,
        "visibility": visibility,
    }
    if price is not None:
        payload["price"] = price
    if category is not None:
        payload["category"] = category
    if content_type == "written":
        payload["body_html"] = BODY
    response = w.client.post("/api/v1/studio/content", json=payload, headers=w.owner.auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    if content_type != "written":
        attach_media(w, created["id"], media or media_bytes())
    if publish:
        response = w.client.post(f"/api/v1/studio/content/{created['id']}/publish",
                                 headers=w.owner.auth)
        assert response.status_code == 200, response.text
        created = response.json()
    return created


def attach_media(w: World, content_id: str, data: bytes, mime: str = "video/mp4") -> None:
    response = w.client.post(f"/api/v1/studio/content/{content_id}/media/uploads",
                             json={"content_type": mime, "size": len(data)},
                             headers=w.owner.auth)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["method"] == "PUT"
    assert ticket["url"].startswith(PUBLIC_URL + "/media/upload/")
    put = w.client.put(ticket["url"].removeprefix(PUBLIC_URL), content=data,
                       headers=ticket["headers"])
    assert put.status_code == 200, put.text
    response = w.client.post(f"/api/v1/studio/content/{content_id}/media/confirm",
                             json={"key": ticket["key"], "duration_seconds": DURATION},
                             headers=w.owner.auth)
    assert response.status_code == 200, response.text
    assert response.json()["has_media"] is True


def video(w: World, **kwargs: Any) -> dict[str, Any]:
    return create_item(w, content_type="video", **kwargs)


# -- rows written by the payment flows ----------------------------------------------------


def grant(w: World, person: Person, item: dict[str, Any], access_type: str = "complimentary",
          expires_at: datetime | None = None) -> UUID:
    grant_id = uuid.uuid4()
    with w.engine.begin() as conn:
        conn.execute(sa.insert(content_access).values(
            id=grant_id, user_id=person.user_id, content_id=UUID(item["id"]),
            access_type=access_type, granted_at=datetime.now(UTC), expires_at=expires_at))
    return grant_id


def revoke(w: World, grant_id: UUID) -> None:
    with w.engine.begin() as conn:
        conn.execute(sa.delete(content_access).where(content_access.c.id == grant_id))


def subscribe(w: World, person: Person, *, categories: list[str], full: bool = False,
              status: str = "active", period_end: timedelta = timedelta(days=20),
              grace_left: timedelta = timedelta(days=6)) -> None:
    now = datetime.now(UTC)
    # A renewal that failed a day ago: access lasts until grace_until.
    past_due = status == "past_due"
    tier_id = uuid.uuid4()
    with w.engine.begin() as conn:
        conn.execute(sa.insert(subscription_tiers).values(
            id=tier_id, name=f"Tier {tier_id.hex[:6]}", price_monthly=Decimal("10.00"),
            category_access=categories, full_catalog_access=full))
        conn.execute(sa.insert(subscriptions).values(
            id=uuid.uuid4(), customer_id=person.user_id, tier_id=tier_id,
            stripe_subscription_id=f"sub_{uuid.uuid4().hex}", billing_period="monthly",
            current_period_start=now - timedelta(days=40), current_period_end=now + period_end,
            status=status, canceled_at=now if status == "canceled" else None,
            past_due_since=now - timedelta(days=1) if past_due else None,
            grace_until=now + grace_left if past_due else None))


def buy_series(w: World, person: Person, series_id: str, status: str = "completed") -> None:
    with w.engine.begin() as conn:
        conn.execute(sa.insert(purchases).values(
            id=uuid.uuid4(), customer_id=person.user_id, series_id=UUID(series_id),
            amount_paid=Decimal("30.00"), creator_payout_amount=Decimal("27.00"),
            platform_fee_amount=Decimal("3.00"), status=status,
            stripe_payment_intent_id=f"pi_{uuid.uuid4().hex}",
            purchased_at=datetime.now(UTC)))


# -- the API, as a reader uses it -------------------------------------------------------


def access(w: World, item: dict[str, Any], person: Person | None) -> dict[str, Any]:
    response = w.client.get(f"/api/v1/content/{item['id']}/access",
                            headers=person.auth if person else {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def read(w: World, item: dict[str, Any], person: Person | None) -> dict[str, Any]:
    response = w.client.get(f"/api/v1/content/{item['slug']}",
                            headers=person.auth if person else {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def playback(w: World, item: dict[str, Any], person: Person | None) -> Any:
    return w.client.post(f"/api/v1/content/{item['id']}/playback",
                         headers=person.auth if person else {})


def progress(w: World, item: dict[str, Any], person: Person, position: int) -> Any:
    return w.client.put(f"/api/v1/content/{item['id']}/progress",
                        json={"position_seconds": position}, headers=person.auth)


def assert_reads_body(w: World, item: dict[str, Any], person: Person | None,
                      reason: str) -> None:
    assert access(w, item, person) == {"allowed": True, "reason": reason}
    detail = read(w, item, person)
    assert detail["access"] == {"allowed": True, "reason": reason}
    assert detail["body_html"] is not None and "THE-END" in detail["body_html"]
    assert detail["preview"] is None


def assert_sees_preview_only(w: World, item: dict[str, Any], person: Person | None,
                             reason: str) -> None:
    assert access(w, item, person) == {"allowed": False, "reason": reason}
    detail = read(w, item, person)
    assert detail["access"] == {"allowed": False, "reason": reason}
    assert detail["body_html"] is None
    assert detail["preview"] and detail["preview"].startswith("word0 word1")
    assert "THE-END" not in detail["preview"] and "<p>" not in detail["preview"]


def assert_playback_allowed(w: World, item: dict[str, Any], person: Person | None) -> str:
    before = datetime.now(UTC)
    response = playback(w, item, person)
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(minutes=5) - timedelta(seconds=5) <= expires
    assert expires <= datetime.now(UTC) + timedelta(minutes=5) + timedelta(seconds=5)
    assert body["url"].startswith(PUBLIC_URL + "/media/")
    # The URL really serves the file.
    media = w.client.get(body["url"].removeprefix(PUBLIC_URL))
    assert media.status_code == 200
    assert media.content.startswith(b"\x00\x00\x00\x18ftyp")
    return str(body["url"])


def assert_playback_refused(w: World, item: dict[str, Any], person: Person | None,
                            reason: str) -> None:
    response = playback(w, item, person)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == f"access.{reason}"
    assert problem["status"] == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "url" not in problem


def grant_row(w: World, grant_id: UUID) -> sa.Row[Any]:
    with w.engine.connect() as conn:
        return conn.execute(sa.select(content_access).where(content_access.c.id == grant_id)
                            ).one()


def progress_rows(w: World) -> int:
    with w.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(video_playback))
                   .scalar_one())


# -- grants ------------------------------------------------------------------------------


def test_a_complimentary_grant_opens_the_body_and_playback(world: World) -> None:
    w = world
    essay, film = create_item(w), video(w)
    grant(w, w.a, essay)
    grant(w, w.a, film)

    assert_reads_body(w, essay, w.a, "grant:complimentary")
    assert access(w, film, w.a) == {"allowed": True, "reason": "grant:complimentary"}
    assert_playback_allowed(w, film, w.a)


def test_an_expired_grant_opens_nothing(world: World) -> None:
    w = world
    essay, film = create_item(w), video(w)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    grant(w, w.a, essay, "purchased", expires_at=yesterday)
    grant(w, w.a, film, "purchased", expires_at=yesterday)

    assert_sees_preview_only(w, essay, w.a, "purchase_required")
    assert access(w, film, w.a) == {"allowed": False, "reason": "purchase_required"}
    assert_playback_refused(w, film, w.a, "purchase_required")


def test_a_grant_that_has_not_expired_yet_still_opens(world: World) -> None:
    w = world
    film = video(w)
    grant(w, w.a, film, "purchased", expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert access(w, film, w.a) == {"allowed": True, "reason": "grant:purchased"}
    assert_playback_allowed(w, film, w.a)


def test_a_grant_for_one_user_does_not_open_the_item_for_another(world: World) -> None:
    w = world
    essay, film = create_item(w), video(w)
    grant(w, w.a, essay, "purchased")
    grant(w, w.a, film, "purchased")

    assert_reads_body(w, essay, w.a, "grant:purchased")
    assert_playback_allowed(w, film, w.a)
    assert_sees_preview_only(w, essay, w.b, "purchase_required")
    assert_playback_refused(w, film, w.b, "purchase_required")


def test_the_most_durable_grant_is_reported(world: World) -> None:
    w = world
    essay = create_item(w)
    grant(w, w.a, essay, "preview")
    assert access(w, essay, w.a)["reason"] == "grant:preview"
    grant(w, w.a, essay, "complimentary")
    assert access(w, essay, w.a)["reason"] == "grant:complimentary"
    grant(w, w.a, essay, "purchased")
    assert access(w, essay, w.a)["reason"] == "grant:purchased"


def test_playback_through_a_grant_records_when_it_was_last_used(world: World) -> None:
    w = world
    film = video(w)
    grant_id = grant(w, w.a, film)
    assert grant_row(w, grant_id).last_accessed_at is None

    # Checking access alone is not a use of the grant.
    access(w, film, w.a)
    assert grant_row(w, grant_id).last_accessed_at is None

    before = datetime.now(UTC)
    assert_playback_allowed(w, film, w.a)
    used = grant_row(w, grant_id).last_accessed_at
    assert used is not None
    assert before - timedelta(seconds=1) <= used <= datetime.now(UTC) + timedelta(seconds=1)


def test_private_items_open_only_to_grants(world: World) -> None:
    w = world
    essay, film = create_item(w, visibility="private"), video(w, visibility="private")
    grant(w, w.a, essay, "preview")
    grant(w, w.a, film, "purchased")
    subscribe(w, w.b, categories=[], full=True)

    assert_reads_body(w, essay, w.a, "grant:preview")
    assert_playback_allowed(w, film, w.a)
    # A full-catalog membership does not open private items, and without a grant they
    # do not exist: no title, no preview, nothing to buy.
    for person in (w.b, None):
        assert_not_found(w, essay, person)
        assert_not_found(w, film, person)
    assert_not_for_sale(w, film, w.b)


def test_the_playback_url_expires_after_the_configured_minutes(
    world: World, patronage: Patronage
) -> None:
    w = world
    film = video(w, visibility="public")
    url = assert_playback_allowed(w, film, w.a)
    token = url.rsplit("/", 1)[1]
    storage = patronage.services.media
    assert isinstance(storage, LocalMediaStorage)
    storage.verify(token, "get", datetime.now(UTC) + timedelta(minutes=4))
    with pytest.raises(InvalidMediaToken):
        storage.verify(token, "get", datetime.now(UTC) + timedelta(minutes=5, seconds=2))


def test_playback_of_an_item_without_media_is_404(world: World) -> None:
    w = world
    essay = create_item(w, visibility="public")
    response = playback(w, essay, w.a)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "content.no_media"


def test_playback_refreshes_a_stale_last_use(world: World) -> None:
    w = world
    film = video(w)
    grant_id = grant(w, w.a, film)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    with w.engine.begin() as conn:
        conn.execute(sa.update(content_access).where(content_access.c.id == grant_id)
                     .values(last_accessed_at=long_ago))
    before = datetime.now(UTC)
    assert_playback_allowed(w, film, w.a)
    used = grant_row(w, grant_id).last_accessed_at
    assert used is not None and used >= before - timedelta(seconds=1)


def test_a_refused_playback_does_not_touch_any_grant(world: World) -> None:
    w = world
    film = video(w)
    expired = grant(w, w.a, film, "purchased",
                    expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert_playback_refused(w, film, w.a, "purchase_required")
    assert grant_row(w, expired).last_accessed_at is None


# -- anonymous, public, free, drafts, deleted, bad tokens ---------------------------------


def test_anonymous_readers(world: World) -> None:
    w = world
    paid_essay, paid_film = create_item(w), video(w)
    public_essay = create_item(w, visibility="public")
    public_film = video(w, visibility="public")

    assert_sees_preview_only(w, paid_essay, None, "sign_in_required")
    response = playback(w, paid_film, None)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "access.sign_in_required"

    assert_reads_body(w, public_essay, None, "public")
    assert_playback_allowed(w, public_film, None)


def test_free_items_open_to_any_signed_in_reader(world: World) -> None:
    w = world
    free_essay = create_item(w, price=None)
    free_film = video(w, price=None)
    assert_reads_body(w, free_essay, w.a, "free")
    assert_playback_allowed(w, free_film, w.b)
    assert_sees_preview_only(w, free_essay, None, "sign_in_required")


def test_the_creator_and_staff_see_their_items(world: World) -> None:
    w = world
    essay, film = create_item(w), video(w)
    assert_reads_body(w, essay, w.owner, "owner")
    assert_playback_allowed(w, film, w.owner)


@pytest.mark.parametrize(("role", "reason"), [
    (Role.PLATFORM_CREATOR, "purchase_required"),
    (Role.MEDIA_OWNER, "purchase_required"),
])
def test_other_roles(world: World, patronage: Patronage, role: Role, reason: str) -> None:
    w = world
    patronage.handle(CreateUser(actor=Principal.system(), email="other@example.com",
                                password=PASSWORD, full_name="Other", role=role))
    other = login(w.client, "other@example.com")
    film, draft = video(w), video(w, publish=False)
    assert access(w, film, other) == {"allowed": reason == "staff", "reason": reason}
    if reason == "staff":
        assert_playback_allowed(w, film, other)
        assert access(w, draft, other) == {"allowed": True, "reason": "staff"}
    else:
        # Publishing rights do not open someone else's items.
        assert_playback_refused(w, film, other, reason)
        assert_not_found(w, draft, other)


@pytest.mark.parametrize("who", ["a", "b", "anonymous"])
def test_drafts_are_not_found_for_non_owners(world: World, who: str) -> None:
    w = world
    draft_essay = create_item(w, publish=False)
    draft_film = video(w, publish=False, visibility="public")
    person = None if who == "anonymous" else getattr(w, who)
    if person is not None:
        grant(w, person, draft_essay, "purchased")
        grant(w, person, draft_film, "purchased")
    assert_not_found(w, draft_essay, person)
    assert_not_found(w, draft_film, person)
    # ...while their creator sees them.
    assert access(w, draft_essay, w.owner) == {"allowed": True, "reason": "owner"}
    assert_playback_allowed(w, draft_film, w.owner)


def assert_not_for_sale(w: World, item: dict[str, Any], person: Person) -> None:
    with w.engine.begin() as conn:  # a buyer who could pay: verified
        conn.execute(sa.text("UPDATE users SET email_verified_at = now() WHERE id = :id"),
                     {"id": person.user_id})
    bought = w.client.post("/api/v1/purchases", json={"content_id": item["id"]},
                           headers=person.auth)
    assert bought.status_code == 404, bought.text
    assert bought.json()["code"] == "content.not_found"


def assert_not_found(w: World, item: dict[str, Any], person: Person | None) -> None:
    headers = person.auth if person else {}
    for response in (
        w.client.get(f"/api/v1/content/{item['id']}/access", headers=headers),
        w.client.get(f"/api/v1/content/{item['slug']}", headers=headers),
        w.client.post(f"/api/v1/content/{item['id']}/playback", headers=headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "content.not_found"


def test_deleted_items_are_not_found_even_with_a_grant(world: World) -> None:
    w = world
    essay, film = create_item(w, visibility="public"), video(w)
    grant(w, w.a, essay, "purchased")
    grant(w, w.a, film, "purchased")
    assert_playback_allowed(w, film, w.a)
    for item in (essay, film):
        response = w.client.delete(f"/api/v1/studio/content/{item['id']}", headers=w.owner.auth)
        assert response.status_code == 204, response.text
    for person in (w.a, w.b, None):
        assert_not_found(w, essay, person)
        assert_not_found(w, film, person)


def test_archived_items_stay_with_their_buyers_and_are_gone_for_others(world: World) -> None:
    w = world
    film = video(w)
    grant(w, w.a, film, "purchased")
    response = w.client.post(f"/api/v1/studio/content/{film['id']}/archive",
                             headers=w.owner.auth)
    assert response.status_code == 200, response.text
    # The buyer keeps it: details, playback and the library.
    assert access(w, film, w.a) == {"allowed": True, "reason": "grant:purchased"}
    assert_playback_allowed(w, film, w.a)
    library = w.client.get("/api/v1/me/library", headers=w.a.auth).json()
    assert film["id"] in [entry["item"]["id"] for entry in library]
    # Everyone else: gone, not in the catalog, not for sale.
    for person in (w.b, None):
        assert_not_found(w, film, person)
    catalog = w.client.get("/api/v1/content").json()
    assert film["id"] not in [entry["id"] for entry in catalog["items"]]
    assert_not_for_sale(w, film, w.b)


@pytest.mark.parametrize("authorization", [
    "Bearer not-a-real-token",
    "Bearer " + "x" * 300,
    "Bearer ",
    "Basic YW5uOnB3",
])
def test_a_bad_token_is_401_never_anonymous(world: World, authorization: str) -> None:
    w = world
    # A public item: an anonymous reader could see it, a wrong token still may not.
    essay = create_item(w, visibility="public")
    film = video(w, visibility="public")
    headers = {"Authorization": authorization}
    for response in (
        w.client.get(f"/api/v1/content/{essay['id']}/access", headers=headers),
        w.client.get(f"/api/v1/content/{essay['slug']}", headers=headers),
        w.client.post(f"/api/v1/content/{film['id']}/playback", headers=headers),
        w.client.put(f"/api/v1/content/{film['id']}/progress", headers=headers,
                     json={"position_seconds": 1}),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["code"] in ("auth.invalid_session", "auth.missing_token")
        assert "url" not in response.json() and "body_html" not in response.json()


def test_a_logged_out_token_is_401(world: World) -> None:
    w = world
    film = video(w, visibility="public")
    assert w.client.post("/api/v1/auth/logout", headers=w.a.auth).status_code == 204
    response = playback(w, film, w.a)
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_session"


# -- memberships -------------------------------------------------------------------------


@attrs.frozen
class Membership:
    categories: list[str]
    full: bool = False
    status: str = "active"
    period_end: timedelta = timedelta(days=20)
    grace_left: timedelta = timedelta(days=6)


MEMBERSHIP_CASES = [
    pytest.param(Membership(["yoga"]), "yoga", "membership", id="tier-covers-category"),
    pytest.param(Membership(["yoga", "breath"]), "breath", "membership",
                 id="second-category"),
    pytest.param(Membership(["yoga"]), "pilates", "membership_required", id="other-category"),
    pytest.param(Membership([], full=True), "pilates", "membership", id="full-catalog"),
    pytest.param(Membership(["yoga"], status="trialing"), "yoga", "membership", id="trialing"),
    pytest.param(Membership(["yoga"], status="past_due"), "yoga", "membership",
                 id="past-due-keeps-access"),
    pytest.param(Membership(["yoga"], status="past_due", grace_left=-timedelta(minutes=1)),
                 "yoga", "membership_required", id="past-due-after-grace"),
    pytest.param(Membership(["yoga"], status="canceled"), "yoga", "membership_required",
                 id="canceled"),
    pytest.param(Membership(["yoga"], full=True, period_end=-timedelta(minutes=1)), "yoga",
                 "membership_required", id="period-ended"),
]


@pytest.mark.parametrize(("membership", "category", "reason"), MEMBERSHIP_CASES)
def test_members_only_items(world: World, membership: Membership, category: str,
                            reason: str) -> None:
    w = world
    essay = create_item(w, visibility="members_only", category=category, price=None)
    film = video(w, visibility="members_only", category=category, price=None)
    subscribe(w, w.a, categories=membership.categories, full=membership.full,
              status=membership.status, period_end=membership.period_end,
              grace_left=membership.grace_left)

    if reason == "membership":
        assert_reads_body(w, essay, w.a, "membership")
        assert access(w, film, w.a) == {"allowed": True, "reason": "membership"}
        assert_playback_allowed(w, film, w.a)
    else:
        assert_sees_preview_only(w, essay, w.a, reason)
        assert_playback_refused(w, film, w.a, reason)
    # The other reader has no subscription at all.
    assert_sees_preview_only(w, essay, w.b, "membership_required")
    assert_playback_refused(w, film, w.b, "membership_required")


def test_a_membership_opens_paid_items_only_of_what_its_tier_covers(world: World) -> None:
    w = world
    yoga, pilates = video(w, category="yoga"), video(w, category="pilates")
    subscribe(w, w.a, categories=["yoga"])
    assert access(w, yoga, w.a) == {"allowed": True, "reason": "membership"}
    assert_playback_allowed(w, yoga, w.a)
    assert access(w, pilates, w.a) == {"allowed": False, "reason": "purchase_required"}
    assert_playback_refused(w, pilates, w.a, "purchase_required")
    assert access(w, yoga, w.b) == {"allowed": False, "reason": "purchase_required"}


# -- series --------------------------------------------------------------------------------


def create_series(w: World) -> dict[str, Any]:
    response = w.client.post("/api/v1/studio/series",
                             json={"title": f"Course {secrets.token_hex(3)}", "price": "30.00"},
                             headers=w.owner.auth)
    assert response.status_code in (200, 201), response.text
    series: dict[str, Any] = response.json()
    return series


def add_to_series(w: World, series: dict[str, Any], item: dict[str, Any]) -> None:
    response = w.client.post(f"/api/v1/studio/series/{series['id']}/items",
                             json={"content_id": item["id"]}, headers=w.owner.auth)
    assert response.status_code == 200, response.text


def test_a_series_purchase_opens_its_items_including_later_ones(world: World) -> None:
    w = world
    series = create_series(w)
    first_essay, first_film = create_item(w), video(w)
    outside = create_item(w)
    private = create_item(w, visibility="private")
    for item in (first_essay, first_film, private):
        add_to_series(w, series, item)
    buy_series(w, w.a, series["id"])
    buy_series(w, w.b, series["id"], status="refunded")

    assert_reads_body(w, first_essay, w.a, "series_purchased")
    assert_playback_allowed(w, first_film, w.a)
    assert_not_found(w, private, w.a)
    assert_sees_preview_only(w, outside, w.a, "purchase_required")
    # A refunded purchase opens nothing.
    assert_sees_preview_only(w, first_essay, w.b, "purchase_required")
    assert_playback_refused(w, first_film, w.b, "purchase_required")

    # Added after the purchase: the bundle covers it too.
    later = video(w)
    assert access(w, later, w.a) == {"allowed": False, "reason": "purchase_required"}
    add_to_series(w, series, later)
    assert access(w, later, w.a) == {"allowed": True, "reason": "series_purchased"}
    assert_playback_allowed(w, later, w.a)
    assert_playback_refused(w, later, w.b, "purchase_required")


def test_a_pending_series_purchase_opens_nothing(world: World) -> None:
    w = world
    series = create_series(w)
    essay = create_item(w)
    add_to_series(w, series, essay)
    buy_series(w, w.a, series["id"], status="pending")
    assert_sees_preview_only(w, essay, w.a, "purchase_required")


# -- prerequisites ---------------------------------------------------------------------------


def test_prerequisites_must_be_completed_first(world: World) -> None:
    w = world
    basics = video(w, title="Basics")
    advanced_film = video(w, title="Advanced film")
    advanced_essay = create_item(w, title="Advanced essay")
    for item in (advanced_film, advanced_essay):
        response = w.client.put(f"/api/v1/studio/content/{item['id']}/prerequisites",
                                json={"prerequisite_ids": [basics["id"]]},
                                headers=w.owner.auth)
        assert response.status_code == 200, response.text
        assert response.json()["prerequisite_ids"] == [basics["id"]]
    for person in (w.a, w.b):
        for item in (basics, advanced_film, advanced_essay):
            grant(w, person, item)

    assert access(w, basics, w.a) == {"allowed": True, "reason": "grant:complimentary"}
    assert_sees_preview_only(w, advanced_essay, w.a, "prerequisites_incomplete")
    assert_playback_refused(w, advanced_film, w.a, "prerequisites_incomplete")

    # Not far enough yet.
    response = progress(w, basics, w.a, 94)
    assert response.status_code == 200, response.text
    assert response.json()["completed"] is False
    assert access(w, advanced_film, w.a)["reason"] == "prerequisites_incomplete"

    response = progress(w, basics, w.a, 95)
    assert response.status_code == 200, response.text
    assert response.json()["completed"] is True
    assert_reads_body(w, advanced_essay, w.a, "grant:complimentary")
    assert_playback_allowed(w, advanced_film, w.a)

    # Completion is per reader.
    assert access(w, advanced_film, w.b) == {"allowed": False,
                                             "reason": "prerequisites_incomplete"}
    assert_playback_refused(w, advanced_film, w.b, "prerequisites_incomplete")
    # The creator is never held back.
    assert access(w, advanced_film, w.owner) == {"allowed": True, "reason": "owner"}


# -- progress -------------------------------------------------------------------------------


def test_progress_positions_outside_the_media_are_refused(world: World) -> None:
    w = world
    film = video(w)
    grant(w, w.a, film)

    response = progress(w, film, w.a, DURATION + 1)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "progress.out_of_range"
    assert problem["errors"][0]["field"] == "position_seconds"

    # Negative positions never reach the use case: the request schema refuses them.
    response = progress(w, film, w.a, -1)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "request.invalid"
    assert progress_rows(w) == 0

    for position in (0, DURATION):
        response = progress(w, film, w.a, position)
        assert response.status_code == 200, response.text
        assert response.json()["position_seconds"] == position
        assert response.json()["duration_seconds"] == DURATION


def test_completion_at_95_percent_is_sticky(world: World) -> None:
    w = world
    film = video(w)
    grant(w, w.a, film)

    steps = [(10, False), (94, False), (95, True), (12, True), (0, True)]
    for position, completed in steps:
        response = progress(w, film, w.a, position)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["position_seconds"], body["completed"]) == (position, completed)
        assert body["updated_at"] is not None

    saved = read(w, film, w.a)["progress"]
    assert saved["position_seconds"] == 0
    assert saved["duration_seconds"] == DURATION
    assert saved["completed"] is True


def test_progress_is_for_media_items_only(world: World) -> None:
    w = world
    essay = create_item(w)
    grant(w, w.a, essay)
    response = progress(w, essay, w.a, 5)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "progress.not_media"
    assert progress_rows(w) == 0


def test_progress_needs_access_and_a_reader(world: World) -> None:
    w = world
    film = video(w)
    grant(w, w.a, film)

    response = progress(w, film, w.b, 5)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "access.purchase_required"

    response = w.client.put(f"/api/v1/content/{film['id']}/progress",
                            json={"position_seconds": 5})
    assert response.status_code == 401, response.text
    assert progress_rows(w) == 0

    draft = video(w, publish=False)
    response = progress(w, draft, w.a, 5)
    assert response.status_code == 404, response.text
    assert progress_rows(w) == 0


def test_readers_do_not_see_each_others_progress(world: World) -> None:
    w = world
    film = video(w)
    grant(w, w.a, film)
    grant(w, w.b, film)

    assert progress(w, film, w.a, 40).status_code == 200
    assert read(w, film, w.a)["progress"]["position_seconds"] == 40
    assert read(w, film, w.b)["progress"] is None
    assert read(w, film, None)["progress"] is None

    assert progress(w, film, w.b, 7).status_code == 200
    assert read(w, film, w.a)["progress"]["position_seconds"] == 40
    assert read(w, film, w.b)["progress"]["position_seconds"] == 7


def continue_watching(w: World, person: Person) -> list[str]:
    response = w.client.get("/api/v1/me/continue-watching", headers=person.auth)
    assert response.status_code == 200, response.text
    return [entry["slug"] for entry in response.json()]


def test_continue_watching_lists_own_unfinished_accessible_items(world: World) -> None:
    w = world
    first, second, finished = video(w), video(w), video(w)
    grants = {item["slug"]: grant(w, w.a, item) for item in (first, second, finished)}
    grant(w, w.b, second)

    assert progress(w, first, w.a, 30).status_code == 200
    assert progress(w, second, w.a, 20).status_code == 200
    assert progress(w, finished, w.a, 99).status_code == 200
    assert continue_watching(w, w.a) == [second["slug"], first["slug"]]
    assert continue_watching(w, w.b) == []

    assert progress(w, first, w.a, 31).status_code == 200
    assert continue_watching(w, w.a) == [first["slug"], second["slug"]]

    response = w.client.get("/api/v1/me/continue-watching", headers=w.a.auth)
    entry = response.json()[0]
    assert entry["content_id"] == first["id"]
    assert entry["progress"]["position_seconds"] == 31
    assert entry["progress"]["completed"] is False

    assert progress(w, second, w.b, 5).status_code == 200
    assert continue_watching(w, w.b) == [second["slug"]]

    # Losing access drops the item from the list (the saved position stays).
    revoke(w, grants[second["slug"]])
    assert continue_watching(w, w.a) == [first["slug"]]
    assert continue_watching(w, w.b) == [second["slug"]]
    assert progress_rows(w) == 4

    anonymous = w.client.get("/api/v1/me/continue-watching")
    assert anonymous.status_code == 401


# -- one read ------------------------------------------------------------------------------------


def test_an_access_check_is_one_statement(world: World) -> None:
    w = world
    film = video(w, category="yoga", visibility="members_only")
    grant(w, w.a, film, "preview", expires_at=datetime.now(UTC) - timedelta(days=1))
    subscribe(w, w.a, categories=["yoga"])
    # The first request also sets up the server thread's own connection (decision 9).
    assert access(w, film, w.b)["allowed"] is False
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(w.engine, "before_cursor_execute", record)
    try:
        assert access(w, film, w.a) == {"allowed": True, "reason": "membership"}
    finally:
        sa.event.remove(w.engine, "before_cursor_execute", record)
    assert len(statements) == 1, statements


def test_a_position_journals_the_first_play_and_the_finish_once(world: World) -> None:
    """Positions are saved every few seconds: only a save that starts the item or
    finishes it carries a journal entry; the others send none (their source keys would
    refuse them anyway)."""
    w = world
    film = video(w)
    grant(w, w.a, film)
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    def saved_with_journal(position: int) -> bool:
        sent.clear()
        sa.event.listen(w.engine, "before_cursor_execute", record)
        try:
            assert progress(w, film, w.a, position).status_code == 200
        finally:
            sa.event.remove(w.engine, "before_cursor_execute", record)
        return any("INSERT INTO events" in statement for statement in sent)

    assert saved_with_journal(10) is True  # the first play
    assert saved_with_journal(20) is False
    assert saved_with_journal(DURATION) is True  # finished
    assert saved_with_journal(30) is False  # rewound: still finished, nothing new
    assert saved_with_journal(DURATION) is False
    with w.engine.connect() as conn:
        kinds = conn.execute(sa.select(events.c.event_type)
                             .where(events.c.subject_id == uuid.UUID(film["id"]))
                             .order_by(events.c.event_type)).scalars().all()
    assert kinds == ["content.completed", "content.played"]


# -- the operator's view ------------------------------------------------------------------------


def test_access_explain_cli(world: World, settings: Settings, tmp_path: Path) -> None:
    from entrypoints.cli.main import app

    w = world
    film = video(w, title="Explained film")
    grant(w, w.a, film)
    runner = CliRunner()
    env = {"PATRONAGE_DATABASE_URL": str(settings.database_url),
           "PATRONAGE_DATA_DIR": str(tmp_path)}

    def explain(email: str, slug: str) -> Any:
        return runner.invoke(app, ["access", "explain", "--user", email, "--content", slug],
                             env=env)

    allowed = explain(A_EMAIL, film["slug"])
    assert allowed.exit_code == 0, allowed.output
    assert "ALLOWED (grant:complimentary)" in allowed.output
    assert "=> allow (grant:complimentary)" in allowed.output

    denied = explain(B_EMAIL, film["slug"])
    assert denied.exit_code == 0, denied.output
    assert "DENIED (purchase_required)" in denied.output
    assert "=> deny (purchase_required)" in denied.output

    assert explain("nobody@example.com", film["slug"]).exit_code == 4
    assert explain(A_EMAIL, "no-such-item").exit_code == 4



def test_a_deleted_prerequisite_no_longer_blocks(
    patronage: Patronage, client: Client, clean_db: sa.Engine
) -> None:
    """Nobody can complete an item that is gone, so it stops gating the next one."""
    from application.catalog.authoring import (
        CreateContent,
        DeleteContent,
        PublishContent,
        SetPrerequisites,
    )
    from application.identity.administration import ActAs
    from domain.catalog.rules import ContentType, Visibility

    patronage.handle(CreateUser(actor=Principal.system(), email="gate-owner@example.com",
                                password="a long passphrase", full_name="O",
                                role=Role.PLATFORM_OWNER))
    owner = patronage.handle(ActAs(actor=Principal.system(), email="gate-owner@example.com"))
    first = patronage.handle(CreateContent(actor=owner, title="Gate one",
                                           content_type=ContentType.WRITTEN,
                                           visibility=Visibility.PUBLIC, body_html="<p>1</p>"))
    second = patronage.handle(CreateContent(actor=owner, title="Gate two",
                                            content_type=ContentType.WRITTEN,
                                            visibility=Visibility.PUBLIC, body_html="<p>2</p>"))
    for item in (first, second):
        patronage.handle(PublishContent(actor=owner, content_id=item.id))
    patronage.handle(SetPrerequisites(actor=owner, content_id=second.id,
                                      prerequisite_ids=(first.id,)))
    patronage.handle(CreateUser(actor=Principal.system(), email="reader@example.com",
                                password="a long passphrase", full_name="R",
                                role=Role.CUSTOMER))
    token = client.post("/api/v1/auth/login", json={"email": "reader@example.com",
                                                    "password": "a long passphrase"}
                        ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    before = client.get(f"/api/v1/content/{second.id}/access", headers=headers).json()
    assert before == {"allowed": False, "reason": "prerequisites_incomplete"}
    anonymous = client.get(f"/api/v1/content/{second.id}/access").json()
    assert anonymous == {"allowed": False, "reason": "sign_in_required"}
    patronage.handle(DeleteContent(actor=owner, content_id=first.id))
    after = client.get(f"/api/v1/content/{second.id}/access", headers=headers).json()
    assert after == {"allowed": True, "reason": "public"}
