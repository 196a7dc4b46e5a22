"""What every response carries, and the docs UI served from the app itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from domain.errors import ValidationError
from domain.identity.roles import Role
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import account
from tests.integration.conftest import FAST_ARGON2


def client_for(settings: Settings, engine: sa.Engine) -> TestClient[Litestar]:
    app = bootstrap(settings, engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    return TestClient(app=create_app(app))


@pytest.fixture
def plain_http(pg_url: str, tmp_path: Path, clean_db: sa.Engine) -> Iterator[Any]:
    settings = Settings(data_dir=tmp_path / "var", database_url=pg_url,
                        public_url="http://127.0.0.1:8000")
    with client_for(settings, clean_db) as client:
        yield client


def test_every_response_is_hardened(client: TestClient[Litestar]) -> None:
    for response in (client.get("/api/v1/settings"), client.get("/health"),
                     client.get("/api/v1/nothing-here"), client.get("/schema/openapi.json")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        # The public URL of the `client` fixture is https: browsers are told to stay there.
        assert response.headers["strict-transport-security"].startswith("max-age=")
    api = client.get("/api/v1/settings").headers["content-security-policy"]
    assert api.startswith("default-src 'none'")


def test_no_hsts_when_the_public_url_is_plain_http(plain_http: Any) -> None:
    assert "strict-transport-security" not in plain_http.get("/health").headers


def test_authenticated_and_auth_responses_are_not_stored(
        patronage: Any, client: TestClient[Litestar]) -> None:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    assert client.get("/api/v1/me", headers=owner).headers["cache-control"] == "no-store"
    assert client.get("/api/v1/settings", headers=owner).headers["cache-control"] == "no-store"
    failed = client.post("/api/v1/auth/login", json={"email": "x@example.com",
                                                     "password": "wrong password here"})
    assert failed.headers["cache-control"] == "no-store"
    # An anonymous public read may be cached by whoever wants to.
    assert "cache-control" not in client.get("/api/v1/settings").headers


def test_the_docs_ui_needs_nothing_from_another_origin(
        client: TestClient[Litestar]) -> None:
    for path in ("/schema/docs", "/schema/swagger"):
        page = client.get(path)
        assert page.status_code == 200, page.text
        assert "text/html" in page.headers["content-type"]
        sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert sources, page.text
        assert all(s.startswith("/schema/assets/") for s in sources), sources
        for source in sources:
            asset = client.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 100
    bundle = client.get("/schema/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert "SwaggerUIBundle" in bundle.text


def test_the_docs_ui_can_be_turned_off(pg_url: str, tmp_path: Path,
                                       clean_db: sa.Engine) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=pg_url, docs_ui="off")
    with client_for(settings, clean_db) as client:
        assert client.get("/schema/docs").status_code == 404
        assert client.get("/schema/swagger").status_code == 404
        assert client.get("/schema/assets/swagger-ui-bundle.js").status_code == 404
        assert client.get("/schema/openapi.json").status_code == 200


def test_production_refuses_the_sandbox() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"PATRONAGE_ENVIRONMENT": "production"})
    assert refused.value.field == "payments"
    settings = Settings.from_env({
        "PATRONAGE_ENVIRONMENT": "production", "PATRONAGE_PAYMENTS": "stripe",
        "PATRONAGE_STRIPE_SECRET_KEY": "sk_live_x", "PATRONAGE_STRIPE_WEBHOOK_SECRET": "whsec_x"})
    assert settings.payments == "stripe"
    with pytest.raises(ValidationError):
        Settings.from_env({"PATRONAGE_DOCS_UI": "everywhere"})


def test_every_status_a_body_route_can_answer_is_documented(
        patronage: Any, client: TestClient[Litestar]) -> None:
    spec = client.get("/schema/openapi.json").json()
    with_bodies = [(path, method, op) for path, item in spec["paths"].items()
                   for method, op in item.items() if "requestBody" in op]
    assert len(with_bodies) > 20
    for path, method, op in with_bodies:
        assert "413" in op["responses"], (method, path)
        body = op["requestBody"]["content"].get("application/json", {}).get("schema", {})
        ref = body.get("$ref", "").rsplit("/", 1)[-1]
        if ref:
            assert spec["components"]["schemas"][ref].get("additionalProperties") is False, ref
    assert "401" in spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"409", "429"} <= set(
        spec["paths"]["/api/v1/auth/verify-email/resend"]["post"]["responses"])
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    too_big = client.patch("/api/v1/me", headers={**owner, "Content-Type": "application/json"},
                           content=b'{"bio": "' + b"x" * 2_000_000 + b'"}')
    assert too_big.status_code == 413 and too_big.json()["code"] == "request.too_large"
