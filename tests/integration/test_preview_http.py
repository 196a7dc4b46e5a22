"""Previews over HTTP on both databases: bounded, escaped, and the creator's excerpt."""

from __future__ import annotations

from typing import Any

from domain.identity.roles import Role
from tests.integration.accounts import account


def publish(client: Any, creator: dict[str, str], **fields: Any) -> dict[str, Any]:
    made = client.post("/api/v1/studio/content", headers=creator,
                       json={"content_type": "written", "price": "4.00", **fields})
    assert made.status_code == 201, made.text
    published = client.post(f"/api/v1/studio/content/{made.json()['id']}/publish",
                            headers=creator)
    assert published.status_code == 200, published.text
    return dict(published.json())


def test_previews(any_db: Any) -> None:
    patronage, client = any_db
    creator = account(patronage, client, "writer@example.com", Role.PLATFORM_CREATOR)
    reader = account(patronage, client, "reader@example.com", Role.CUSTOMER)

    short = publish(client, creator, title="Short", body_html="<p>A short paid poem.</p>")
    shown = client.get(f"/api/v1/content/{short['slug']}", headers=reader).json()
    assert shown["body_html"] is None and shown["preview"] is None

    hostile = "&lt;img src=x onerror=alert(1)&gt; "
    long = publish(client, creator, title="Long",
                   body_html="<p>" + hostile * 60 + "</p>")
    shown = client.get(f"/api/v1/content/{long['slug']}", headers=reader).json()
    assert shown["body_html"] is None
    assert "<" not in shown["preview"] and "&lt;img" in shown["preview"]
    assert len(shown["preview"]) < len(hostile * 60)

    teased = publish(client, creator, title="Teased", excerpt="Nobody expected the end.",
                     body_html="<p>" + "secret " * 300 + "</p>")
    assert teased["excerpt"] == "Nobody expected the end."
    shown = client.get(f"/api/v1/content/{teased['slug']}", headers=reader).json()
    assert shown["preview"] == "Nobody expected the end."
    cleared = client.patch(f"/api/v1/studio/content/{teased['id']}", headers=creator,
                           json={"excerpt": None})
    assert cleared.status_code == 200 and cleared.json()["excerpt"] is None
    shown = client.get(f"/api/v1/content/{teased['slug']}", headers=reader).json()
    assert shown["preview"].startswith("secret secret")
