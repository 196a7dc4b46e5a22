"""White-label settings over HTTP: custom CSS kept only as sanitised, a custom domain,
and the platform's branding hidden, on both databases."""

from __future__ import annotations

from typing import Any

from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from tests.integration.accounts import PASSWORD

CSS = ("@import url(https://evil.example/x.css);\n"
       "h1 { color: #123456; background: url(https://evil.example/pixel.png) }\n"
       ".hero { background: url(/media/hero.png) }\n"
       "p::after { content: '</style><script>alert(1)</script>' }")


def test_white_label_settings_are_kept_as_checked(any_db: tuple[Any, Any]) -> None:
    patronage, client = any_db
    patronage.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                                password=PASSWORD, full_name="Owner",
                                role=Role.PLATFORM_OWNER))
    token = client.post("/api/v1/auth/login", json={"email": "owner@example.com",
                                                     "password": PASSWORD}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    changed = client.patch("/api/v1/settings", headers=auth, json={
        "custom_css": CSS, "custom_domain": "Studio.Example.com",
        "hide_platform_branding": True})
    assert changed.status_code == 200, changed.text
    shown = client.get("/api/v1/settings").json()
    assert shown["custom_domain"] == "studio.example.com"
    assert shown["hide_platform_branding"] is True
    css = shown["custom_css"]
    assert "h1 { color: #123456 }" in css and "url(/media/hero.png)" in css
    assert "evil.example" not in css and "@import" not in css and "<" not in css

    refused = client.patch("/api/v1/settings", headers=auth,
                           json={"custom_domain": "https://studio.example.com/"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "settings.custom_domain"
    assert client.get("/api/v1/settings").json()["custom_domain"] == "studio.example.com"

    # A sender's name is one line: every email carries it in its From header.
    for field in ("email_from_name", "platform_name"):
        two_lines = client.patch("/api/v1/settings", headers=auth,
                                 json={field: "Studio\r\nBcc: eve@example.com"})
        assert two_lines.status_code == 422, two_lines.text
        assert two_lines.json()["code"] == "validation.one_line"
        assert [e["field"] for e in two_lines.json()["errors"]] == [field]
    assert "Bcc" not in str(client.get("/api/v1/settings").json())

    cleared = client.patch("/api/v1/settings", headers=auth,
                           json={"custom_css": None, "custom_domain": None})
    assert cleared.status_code == 200
    assert (cleared.json()["custom_css"], cleared.json()["custom_domain"]) == (None, None)


def test_browsers_on_the_public_url_and_the_custom_domain_may_call_the_api(
        any_db: tuple[Any, Any]) -> None:
    patronage, client = any_db
    patronage.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                                password=PASSWORD, full_name="Owner",
                                role=Role.PLATFORM_OWNER))
    token = client.post("/api/v1/auth/login", json={"email": "owner@example.com",
                                                     "password": PASSWORD}).json()["token"]
    set_domain = client.patch("/api/v1/settings", json={"custom_domain": "shop.example.org"},
                              headers={"Authorization": f"Bearer {token}"})
    assert set_domain.status_code == 200, set_domain.text

    def preflight(origin: str) -> Any:
        return client.options("/api/v1/purchases", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})

    for origin in ("https://shop.example.org", "https://studio.example.com"):
        allowed = preflight(origin)
        assert allowed.status_code in (200, 204), allowed.text
        assert allowed.headers["access-control-allow-origin"] == origin
        assert "idempotency-key" in allowed.headers["access-control-allow-headers"].lower()
        simple = client.get("/api/v1/settings", headers={"Origin": origin})
        assert simple.headers["access-control-allow-origin"] == origin
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    for stranger in ("https://evil.example", "http://shop.example.org",
                     "https://shop.example.org.evil.example"):
        assert "access-control-allow-origin" not in preflight(stranger).headers
        assert "access-control-allow-origin" not in client.get(
            "/api/v1/settings", headers={"Origin": stranger}).headers
