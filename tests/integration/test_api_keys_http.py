"""API keys over HTTP on PostgreSQL: shown once and stored hashed, every scope opening
its routes and no others, revoked and expired keys refused, a rate limit per key, and
never more than the key's owner may do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import attrs
import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import api_keys
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.api_keys import Scope
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers
from tests.integration.conftest import FAST_ARGON2
from tests.unit.fakes.system import FrozenClock

Client = TestClient[Litestar]
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OFFERING = {"title": "Keyed class", "offering_type": "one_time_event",
            "capacity_type": "unlimited", "delivery_method": "online", "price": "5.00",
            "schedule": {"date": "2030-01-01", "start_time": "10:00", "duration_minutes": 60}}


class Site:
    def __init__(self, patronage: Patronage, client: Client, clock: FrozenClock) -> None:
        self.patronage, self.client, self.clock = patronage, client, clock
        self._sessions: dict[str, Headers] = {}
        for who, role in (("owner", Role.PLATFORM_OWNER), ("maya", Role.MEDIA_OWNER),
                          ("host", Role.PLATFORM_CREATOR), ("ann", Role.CUSTOMER)):
            patronage.handle(CreateUser(actor=Principal.system(), email=f"{who}@example.com",
                                        password=PASSWORD, full_name=who.title(), role=role,
                                        verified=True))

    def session(self, who: str) -> Headers:
        if who not in self._sessions:
            response = self.client.post("/api/v1/auth/login", json={
                "email": f"{who}@example.com", "password": PASSWORD})
            assert response.status_code == 200, response.text
            self._sessions[who] = {"Authorization": f"Bearer {response.json()['token']}"}
        return dict(self._sessions[who])

    def make_key(self, who: str, *scopes: str, expires_at: datetime | None = None
                 ) -> httpx.Response:
        body: dict[str, Any] = {"name": f"{who}'s robot", "scopes": list(scopes)}
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        return self.client.post("/api/v1/me/api-keys", json=body, headers=self.session(who))

    def key(self, who: str, *scopes: str, expires_at: datetime | None = None) -> Headers:
        response = self.make_key(who, *scopes, expires_at=expires_at)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['key']}"}

    def rows(self) -> list[dict[str, Any]]:
        with self.patronage.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(api_keys)).mappings()]


def make_site(settings: Settings, engine: sa.Engine) -> Iterator[Site]:
    clock = FrozenClock(T0)
    app = bootstrap(settings, engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=clock)
    with TestClient(app=create_app(app)) as client:
        yield Site(app, client, clock)
    app.dispatcher.close()


@pytest.fixture
def site(settings: Settings, clean_db: sa.Engine) -> Iterator[Site]:
    yield from make_site(settings, clean_db)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# -- made, shown once, stored hashed --------------------------------------------------------


def test_a_key_is_shown_once_and_only_its_hash_is_kept(site: Site) -> None:
    made = site.make_key("maya", "catalog:read", "content:write")
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "private, no-store"
    secret = made.json()["key"]
    shown = made.json()["api_key"]
    assert secret.startswith("pat_") and len(secret) > 40
    assert shown["prefix"] == secret[:12] and shown["status"] == "active"
    assert shown["scopes"] == ["catalog:read", "content:write"]
    (row,) = site.rows()
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(row)
    listed = site.client.get("/api/v1/me/api-keys", headers=site.session("maya"))
    assert listed.status_code == 200
    assert secret not in listed.text
    (only,) = listed.json()
    assert (only["id"], only["last_used_at"]) == (shown["id"], None)

    used = site.client.get("/api/v1/studio/content/",
                           headers={"Authorization": f"Bearer {secret}"})
    assert used.status_code == 200, used.text
    (seen,) = site.client.get("/api/v1/me/api-keys", headers=site.session("maya")).json()
    assert seen["last_used_at"] == T0.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(("who", "scope", "code"), [
    ("maya", "members:read", "api_key.scope_not_yours"),
    ("host", "settings:write", "api_key.scope_not_yours"),
    ("ann", "catalog:read", "api_key.scope_not_yours")])
def test_a_key_never_holds_more_than_its_owner(site: Site, who: str, scope: str,
                                               code: str) -> None:
    problem(site.make_key(who, scope), 403, code)
    assert site.rows() == []


@pytest.mark.parametrize(("scopes", "code"), [
    ([], "request.invalid"), (["catalog:write"], "api_key.scope_unknown"),
    (["*"], "api_key.scope_unknown")])
def test_bad_scopes_are_refused(site: Site, scopes: list[str], code: str) -> None:
    response = site.client.post("/api/v1/me/api-keys", json={"name": "x", "scopes": scopes},
                                headers=site.session("owner"))
    assert response.status_code in (400, 422), response.text
    if code != "request.invalid":
        assert response.json()["code"] == code
    assert site.rows() == []


# -- every scope, and only its routes --------------------------------------------------------


def _route(site: Site, scope: Scope, auth: Headers) -> httpx.Response:
    c = site.client
    calls = {
        Scope.CATALOG_READ: lambda: c.get("/api/v1/studio/content/", headers=auth),
        Scope.CONTENT_WRITE: lambda: c.post("/api/v1/studio/content/", headers=auth, json={
            "title": f"Keyed {uuid4().hex[:6]}", "content_type": "written"}),
        Scope.OFFERINGS_WRITE: lambda: c.post("/api/v1/studio/offerings/", headers=auth,
                                              json=OFFERING),
        Scope.ANALYTICS_READ: lambda: c.get("/api/v1/studio/earnings", headers=auth),
        Scope.MEMBERS_READ: lambda: c.get("/api/v1/admin/users/", headers=auth),
        Scope.USERS_WRITE: lambda: c.post("/api/v1/admin/users/", headers=auth, json={
            "email": f"made-{uuid4().hex[:6]}@example.com", "password": PASSWORD,
            "full_name": "Made", "role": "customer"}),
        Scope.SETTINGS_WRITE: lambda: c.patch("/api/v1/settings", headers=auth,
                                              json={"platform_name": "Keyed"}),
        # Past the checks, it finds no such purchase.
        Scope.REFUNDS_WRITE: lambda: c.post(f"/api/v1/admin/purchases/{uuid4()}/refund",
                                            headers=auth, json={"reason": "keyed"}),
    }
    return calls[scope]()


@pytest.mark.parametrize("scope", list(Scope))
def test_each_scope_opens_its_routes_and_no_others(site: Site, scope: Scope) -> None:
    auth = site.key("owner", scope.value)
    for route in Scope:
        response = _route(site, route, auth)
        if route is scope:
            assert response.status_code < 400 or response.json()["code"] == \
                "purchase.not_found", (scope, response.text)
        else:
            body = problem(response, 403, "api_key.scope_missing")
            assert body["scope"] == route.value


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/me", None),
    ("POST", "/api/v1/me/api-keys", {"name": "child", "scopes": ["catalog:read"]}),
    ("GET", "/api/v1/me/api-keys", None),
    ("GET", "/api/v1/admin/api-keys", None),
    ("POST", "/api/v1/purchases", {"content_id": str(uuid4())}),
    ("POST", "/api/v1/me/password", {"current_password": PASSWORD,
                                     "new_password": "another long passphrase"}),
    ("POST", "/api/v1/admin/tiers", {"name": "Keyed", "price_monthly": "5.00"}),
    ("POST", "/api/v1/admin/media-owners/invite", {"email": "x@example.com"}),
    ("POST", "/api/v1/studio/payouts/onboarding", None),
])
def test_routes_without_a_scope_take_no_key_even_one_with_every_scope(
        site: Site, method: str, path: str, body: Any) -> None:
    auth = site.key("owner", *(s.value for s in Scope))
    response = site.client.request(method, path, json=body, headers=auth)
    problem(response, 403, "api_key.not_accepted")
    assert len(site.rows()) == 1  # no key made another


# -- revoked, expired, limited ----------------------------------------------------------------


def test_a_revoked_key_stops_at_once(site: Site) -> None:
    made = site.make_key("maya", "catalog:read").json()
    auth = {"Authorization": f"Bearer {made['key']}"}
    assert site.client.get("/api/v1/studio/content/", headers=auth).status_code == 200
    revoked = site.client.delete(f"/api/v1/me/api-keys/{made['api_key']['id']}",
                                 headers=site.session("maya"))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    problem(site.client.get("/api/v1/studio/content/", headers=auth), 401,
            "auth.invalid_api_key")
    again = site.client.delete(f"/api/v1/me/api-keys/{made['api_key']['id']}",
                               headers=site.session("maya"))
    assert again.status_code == 200 and again.json()["status"] == "revoked"


def test_an_expired_key_is_refused(site: Site) -> None:
    auth = site.key("maya", "catalog:read", expires_at=T0 + timedelta(hours=1))
    assert site.client.get("/api/v1/studio/content/", headers=auth).status_code == 200
    site.clock.advance(hours=1)
    problem(site.client.get("/api/v1/studio/content/", headers=auth), 401,
            "auth.invalid_api_key")
    (listed,) = site.client.get("/api/v1/me/api-keys", headers=site.session("maya")).json()
    assert listed["status"] == "expired"
    problem(site.make_key("maya", "catalog:read", expires_at=T0), 422, "api_key.expiry")


def test_a_made_up_key_is_refused(site: Site) -> None:
    problem(site.client.get("/api/v1/studio/content/",
                            headers={"Authorization": "Bearer pat_00000000_madeup"}),
            401, "auth.invalid_api_key")


def test_a_disabled_owner_disables_their_keys(site: Site) -> None:
    auth = site.key("maya", "catalog:read")
    disabled = site.client.post("/api/v1/admin/users/disable", headers=site.session("owner"),
                                json={"email": "maya@example.com"})
    assert disabled.status_code == 200, disabled.text
    problem(site.client.get("/api/v1/studio/content/", headers=auth), 401,
            "auth.invalid_api_key")


def test_each_key_has_its_own_rate_limit(settings: Settings, clean_db: sa.Engine) -> None:
    limited = attrs.evolve(settings, api_key_requests_per_minute=3)
    for site in make_site(limited, clean_db):
        first, second = site.key("maya", "catalog:read"), site.key("maya", "catalog:read")
        answers = [site.client.get("/api/v1/studio/content/", headers=first).status_code
                   for _ in range(3)]
        assert answers == [200, 200, 200]
        refused = site.client.get("/api/v1/studio/content/", headers=first)
        problem(refused, 429, "api_key.rate_limited")
        # The window is a minute; the wait is rounded up to whole seconds.
        assert 1 <= int(refused.headers["retry-after"]) <= 61
        # Another key, and the owner's own session, are not slowed down.
        assert site.client.get("/api/v1/studio/content/", headers=second).status_code == 200
        assert site.client.get("/api/v1/studio/content/",
                               headers=site.session("maya")).status_code == 200
        site.clock.advance(seconds=61)
        assert site.client.get("/api/v1/studio/content/", headers=first).status_code == 200


# -- whose keys ---------------------------------------------------------------------------------


def test_a_key_acts_as_its_owner_and_sees_only_their_things(site: Site) -> None:
    hosts = site.client.post("/api/v1/studio/content/", headers=site.session("host"), json={
        "title": "Host's draft", "content_type": "written"}).json()
    auth = site.key("maya", "catalog:read", "content:write")
    problem(site.client.get(f"/api/v1/studio/content/{hosts['id']}", headers=auth), 404,
            "content.not_found")
    problem(site.client.patch(f"/api/v1/studio/content/{hosts['id']}", headers=auth,
                              json={"title": "Mine"}), 404, "content.not_found")
    mine = site.client.post("/api/v1/studio/content/", headers=auth,
                            json={"title": "Made by a robot", "content_type": "written"})
    assert mine.status_code == 201, mine.text
    listed = site.client.get("/api/v1/studio/content/", headers=auth).json()
    assert [entry["title"] for entry in listed] == ["Made by a robot"]


def test_people_revoke_their_own_keys_and_owners_anyones(site: Site) -> None:
    mayas = site.make_key("maya", "catalog:read").json()["api_key"]["id"]
    hosts = site.make_key("host", "catalog:read").json()["api_key"]["id"]
    problem(site.client.delete(f"/api/v1/me/api-keys/{hosts}", headers=site.session("maya")),
            404, "api_key.not_found")
    problem(site.client.get("/api/v1/admin/api-keys", headers=site.session("maya")), 403,
            "auth.owner_only")
    everyone = site.client.get("/api/v1/admin/api-keys", headers=site.session("owner")).json()
    assert {k["id"] for k in everyone} == {mayas, hosts}
    revoked = site.client.delete(f"/api/v1/admin/api-keys/{hosts}",
                                 headers=site.session("owner"))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    mine = site.client.get("/api/v1/me/api-keys", headers=site.session("maya")).json()
    assert [k["id"] for k in mine] == [mayas]


def test_a_users_write_key_never_reaches_an_owners_account(site: Site) -> None:
    """Managing accounts by key stops short of owners: otherwise one leaked key could
    make an owner it knows the password of, and sign in as everything."""
    auth = site.key("owner", "users:write")
    made_owner = site.client.post("/api/v1/admin/users/", headers=auth, json={
        "email": "mallory@example.com", "password": PASSWORD, "full_name": "Mallory",
        "role": "platform_owner"})
    problem(made_owner, 403, "api_key.session_only")
    promoted = site.client.post("/api/v1/admin/users/role", headers=auth,
                                json={"email": "ann@example.com", "role": "platform_owner"})
    problem(promoted, 403, "api_key.session_only")
    second = site.client.post("/api/v1/admin/users/", headers=site.session("owner"), json={
        "email": "other-owner@example.com", "password": PASSWORD, "full_name": "Other",
        "role": "platform_owner"})
    assert second.status_code in (200, 201), second.text
    for action, body in (("disable", {"email": "other-owner@example.com"}),
                         ("role", {"email": "other-owner@example.com", "role": "customer"})):
        problem(site.client.post(f"/api/v1/admin/users/{action}", headers=auth, json=body),
                403, "api_key.session_only")
    # Everyone else's account is within the scope.
    customer = site.client.post("/api/v1/admin/users/", headers=auth, json={
        "email": "new-customer@example.com", "password": PASSWORD, "full_name": "New",
        "role": "customer"})
    assert customer.status_code in (200, 201), customer.text


def test_an_account_holds_at_most_twenty_active_keys(site: Site) -> None:
    keys = [site.make_key("maya", "catalog:read").json()["api_key"]["id"] for _ in range(20)]
    problem(site.make_key("maya", "catalog:read"), 409, "api_key.too_many")
    site.client.delete(f"/api/v1/me/api-keys/{keys[0]}", headers=site.session("maya"))
    assert site.make_key("maya", "catalog:read").status_code == 201


@pytest.mark.parametrize("expires", ["9999-12-31T23:00:00-05:00", "2100-01-01T00:00:00Z"])
def test_an_expiry_past_ten_years_or_the_calendar_is_refused(site: Site, expires: str) -> None:
    response = site.client.post("/api/v1/me/api-keys", headers=site.session("maya"), json={
        "name": "far", "scopes": ["catalog:read"], "expires_at": expires})
    problem(response, 422, "api_key.expiry")


def test_an_invitation_is_accepted_by_a_person_not_a_key(site: Site) -> None:
    auth = site.key("maya", "catalog:read")
    response = site.client.post("/api/v1/media-owners/accept", headers=auth,
                                json={"token": "whatever"})
    problem(response, 403, "api_key.session_only")
