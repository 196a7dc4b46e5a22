"""Bad input at the HTTP edge: a clear problem+json, the right status, nothing written."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.sqlalchemy.tables import content, outbox_messages, platform_settings, users
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage

Client = TestClient[Litestar]
PASSWORD = "a long and unusual passphrase"
REGISTER = "/api/v1/auth/register"


def rows(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "request.invalid", None),
        (b"[]", 400, "request.invalid", None),
        (b'{"email": "a@example.com", "password": "long enough"}', 400, "request.invalid",
         "full_name"),
        (b'{"email": 5, "password": "long enough", "full_name": "A"}', 400, "request.invalid",
         "email"),
        (b'{"email": "a@example.com", "password": "long enough", "full_name": "A", "x": 1}',
         400, "request.invalid", None),
        (b'{"email": "a@example.com", "password": "long enough", "full_name": "'
         + b"n" * 256 + b'"}', 400, "request.invalid", "full_name"),
        (b'{"email": "a@example.com", "password": "' + b"p" * 1025
         + b'", "full_name": "A"}', 400, "request.invalid", "password"),
        (b'{"email": "not-an-email", "password": "long enough", "full_name": "A"}', 422,
         "validation.email", "email"),
        (b'{"email": "a@exa mple.com", "password": "long enough", "full_name": "A"}', 422,
         "validation.email", "email"),
        (b'{"email": "a@example.com", "password": "long enough", "full_name": "   "}', 422,
         "validation.full_name", "full_name"),
    ],
)
def test_bad_registration_bodies(
    client: Client, clean_db: sa.Engine, body: bytes, status: int, code: str, field: str | None
) -> None:
    response = client.post(REGISTER, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code and problem["status"] == status
    assert problem["type"].endswith(code) and problem["instance"] == REGISTER
    if field:
        assert field in {e.get("field") for e in problem.get("errors", [])} or field in str(
            problem)
    assert rows(clean_db, users) == 0
    assert rows(clean_db, outbox_messages) == 0


def test_oversized_bodies_are_refused(client: Client, clean_db: sa.Engine) -> None:
    response = client.post(REGISTER, content=b'{"email": "' + b"a" * 2_000_000 + b'"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"
    assert rows(clean_db, users) == 0


def test_unknown_routes_and_methods_are_problems(client: Client) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "http.not_found"
    wrong_method = client.delete("/api/v1/settings")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "http.method_not_allowed"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "Bearer nope",
                                    "Bearer " + "x" * 5000])
def test_bad_credentials_are_401(client: Client, header: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["code"] in {"auth.missing_token", "auth.invalid_session"}


def test_invalid_query_parameters_are_400(patronage: Patronage, client: Client) -> None:
    patronage.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                                password=PASSWORD, full_name="O", role=Role.PLATFORM_OWNER))
    token = client.post("/api/v1/auth/login", json={"email": "owner@example.com",
                                                    "password": PASSWORD}).json()["token"]
    for params in ({"limit": "0"}, {"limit": "abc"}, {"role": "emperor"}, {"offset": "-1"}):
        response = client.get("/api/v1/admin/users", params=params,
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 400, params


# -- settings ------------------------------------------------------------------------


@pytest.fixture
def owner_token(patronage: Patronage, client: Client) -> str:
    patronage.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                                password=PASSWORD, full_name="O", role=Role.PLATFORM_OWNER))
    response = client.post("/api/v1/auth/login",
                           json={"email": "owner@example.com", "password": PASSWORD})
    return str(response.json()["token"])


def patch_settings(client: Client, token: str, body: dict[str, Any]) -> Any:
    return client.patch("/api/v1/settings", json=body,
                        headers={"Authorization": f"Bearer {token}"})


def test_owner_updates_settings_and_everyone_reads_them(
    client: Client, owner_token: str
) -> None:
    response = patch_settings(client, owner_token, {
        "platform_name": "Studio Nine", "primary_color": "#AABBCC",
        "contact_email": "Hello@Studio.example", "timezone": "Europe/Paris",
        "social_links": {"instagram": "https://instagram.com/studio"},
        "hero_cta_link": "https://studio.example.com/join", "about_content": "<p>Hi</p>",
    })
    assert response.status_code == 200, response.text
    public = client.get("/api/v1/settings").json()
    assert public["platform_name"] == "Studio Nine"
    assert public["primary_color"] == "#aabbcc"
    assert public["contact_email"] == "hello@studio.example"
    assert public["timezone"] == "Europe/Paris"
    assert public["social_links"] == {"instagram": "https://instagram.com/studio"}
    cleared = patch_settings(client, owner_token, {"hero_cta_link": None})
    assert cleared.json()["hero_cta_link"] is None
    assert cleared.json()["platform_name"] == "Studio Nine"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"primary_color": "blue"}, 422, "validation.colour"),
        ({"primary_color": "#12345"}, 422, "validation.colour"),
        ({"logo_url": "ftp://example.com/logo.png"}, 422, "validation.url"),
        ({"logo_url": "javascript:alert(1)"}, 422, "validation.url"),
        ({"timezone": "Mars/Olympus_Mons"}, 422, "validation.timezone"),
        ({"contact_email": "nope"}, 422, "validation.email"),
        ({"platform_name": None}, 400, "request.invalid"),
        ({"social_links": {"x": "not a url"}}, 422, "validation.url"),
        ({"featured_content_ids": ["not-a-uuid"]}, 400, "request.invalid"),
        ({"stripe_account_id": "acct_123"}, 400, "request.invalid"),
        ({"platform_name": "n" * 256}, 400, "request.invalid"),
    ],
)
def test_invalid_settings_change_nothing(
    client: Client, owner_token: str, clean_db: sa.Engine, body: dict[str, Any], status: int,
    code: str,
) -> None:
    before = client.get("/api/v1/settings").json()
    response = patch_settings(client, owner_token, {"hero_title": "Should not stick", **body})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert client.get("/api/v1/settings").json() == before
    assert rows(clean_db, platform_settings) == 1


def test_featured_items_must_be_published_content(
    patronage: Patronage, client: Client, owner_token: str, clean_db: sa.Engine
) -> None:
    now = patronage.services.clock.now()
    owner_id = client.get("/api/v1/me", headers={"Authorization": f"Bearer {owner_token}"}
                          ).json()["id"]
    published, draft = patronage.services.ids.new_id(), patronage.services.ids.new_id()
    with clean_db.begin() as conn:
        for item_id, status in ((published, "published"), (draft, "draft")):
            conn.execute(sa.insert(content).values(
                id=item_id, creator_id=owner_id, title=status, slug=f"item-{status}",
                content_type="written", status=status, created_at=now, updated_at=now))
    refused = patch_settings(client, owner_token,
                             {"featured_content_ids": [str(published), str(draft)]})
    assert refused.status_code == 422
    assert refused.json()["code"] == "settings.featured_not_published"
    assert refused.json()["ids"] == [str(draft)]
    accepted = patch_settings(client, owner_token, {"featured_content_ids": [str(published)]})
    assert accepted.status_code == 200
    assert client.get("/api/v1/settings").json()["featured_content_ids"] == [str(published)]


def test_openapi_describes_the_api(client: Client) -> None:
    spec = client.get("/schema/openapi.json").json()
    paths = spec["paths"]
    for path in ("/health", "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/me",
                 "/api/v1/settings", "/api/v1/admin/users", "/api/v1/content",
                 "/api/v1/content/{slug}", "/api/v1/content/{content_id}/playback",
                 "/api/v1/content/{content_id}/progress", "/api/v1/studio/content",
                 "/api/v1/studio/series", "/api/v1/purchases", "/api/v1/me/library",
                 "/api/v1/webhooks/stripe", "/api/v1/admin/access-grants"):
        assert path in paths, path
    assert spec["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert paths["/api/v1/me"]["get"]["security"] == [{"BearerToken": []}]
    assert paths["/api/v1/auth/register"]["post"]["description"]
    # Every operation documents its problem responses as problem+json.
    purchase = paths["/api/v1/purchases"]["post"]["responses"]
    assert "application/problem+json" in purchase["402"]["content"]
    assert client.get("/schema/docs").status_code == 200
