"""The hot routes' layer (`entrypoints/http/hot_routes.py`) answers as Litestar does.

Every request here goes once to the app behind the layer and once to the app alone, on
one PostgreSQL database: status, body and headers must match (the request id's value and
the date aside). A counter in front of Litestar shows which of the two answered behind
the layer: the layer for a plain success, Litestar for everything else.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app, edge_headers
from entrypoints.http.hot_routes import HotRoutes, hot_routes
from tests.integration.conftest import FAST_ARGON2
from tests.integration.test_catalog_http import (
    Client,
    account,
    attach_media,
    create,
    publish,
    written,
)
from tests.integration.test_metrics import scrape, value

CONTENT = "/api/v1/content"
VARYING = {"x-request-id", "date"}


class Counted:
    """Litestar's app, counting the requests that reach it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def behind(patronage: Patronage) -> Iterator[tuple[TestClient[Any], Counted]]:
    counted = Counted(create_app(patronage))
    layer = hot_routes(counted, patronage, before_send=edge_headers(patronage.settings),
                       access_log=True, metrics=False)
    assert isinstance(layer, HotRoutes)
    with TestClient(app=layer) as test_client:
        yield test_client, counted


@pytest.fixture
def video(patronage: Patronage, client: Client) -> tuple[dict[str, str], str]:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    item = create(client, owner, "A video", "video", visibility="purchased_only",
                  price="9.00", currency="EUR")
    attach_media(client, owner, item["id"], duration=300)
    publish(client, owner, item["id"])
    return owner, item["id"]


def headers_of(response: Any) -> dict[str, str]:
    found = {k.lower(): v for k, v in response.headers.items() if k.lower() not in VARYING}
    if "allow" in found:  # two Litestar apps list a 405's methods in either order
        found["allow"] = ", ".join(sorted(found["allow"].split(", ")))
    return found


def body_of(response: Any) -> Any:
    if not response.content:
        return None
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)  # a problem names its request
        body.pop("updated_at", None)  # a resume position's time of saving
    return body


def same_answer(fast: Any, slow: Any) -> None:
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert body_of(fast) == body_of(slow)
    fast_headers, slow_headers = headers_of(fast), headers_of(slow)
    if fast_headers.get("content-length") != slow_headers.get("content-length"):
        # Same fields, another saving time or signature expiry: lengths may differ.
        assert int(fast_headers.pop("content-length")) == len(fast.content)
        slow_headers.pop("content-length")
    assert fast_headers == slow_headers
    # Litestar's router answers an unknown path before any request id is made.
    assert ("x-request-id" in fast.headers) == ("x-request-id" in slow.headers)


def both(behind: tuple[Client, Counted], client: Client, method: str, path: str,
         answered_by_layer: bool, **kwargs: Any) -> Any:
    fast_client, counted = behind
    before = len(counted.paths)
    fast = fast_client.request(method, path, **kwargs)
    assert (len(counted.paths) == before) is answered_by_layer, (method, path, fast.text)
    if answered_by_layer:
        assert fast.headers["x-request-id"]
    slow = client.request(method, path, **kwargs)
    same_answer(fast, slow)
    return fast


def test_an_access_check_is_answered_by_the_layer_as_litestar_answers_it(
        patronage: Patronage, client: Client, behind: tuple[Client, Counted],
        video: tuple[dict[str, str], str]) -> None:
    owner, item = video
    reader = account(patronage, client, "reader@example.com", Role.CUSTOMER)
    path = f"{CONTENT}/{item}/access"

    answer = both(behind, client, "GET", path, True, headers=owner)
    assert answer.json() == {"allowed": True, "reason": "owner"}
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["strict-transport-security"]
    assert both(behind, client, "GET", path, True, headers=reader).json()["allowed"] is False
    anonymous = both(behind, client, "GET", path, True)
    assert "cache-control" not in anonymous.headers
    # The same item named in capitals is the same route in Litestar.
    both(behind, client, "GET", f"{CONTENT}/{item.upper()}/access", True, headers=owner)
    sent_id = both(behind, client, "GET", path, True,
                   headers={**owner, "X-Request-ID": "edge-42"})
    assert sent_id.headers["x-request-id"] == "edge-42"


def test_what_the_layer_does_not_answer_gets_litestars_answer(
        patronage: Patronage, client: Client, behind: tuple[Client, Counted],
        video: tuple[dict[str, str], str]) -> None:
    owner, item = video
    path = f"{CONTENT}/{item}/access"
    missing = both(behind, client, "GET", f"{CONTENT}/{uuid.uuid4()}/access", False,
                   headers=owner)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert both(behind, client, "GET", path, False,
                headers={"Authorization": "Bearer not-a-session"}).status_code == 401
    assert both(behind, client, "GET", path, False,
                headers={"Authorization": "Basic b3duZXI="}).status_code == 401
    assert both(behind, client, "GET", path, False,
                headers={"Authorization": "Bearer "}).status_code == 401
    # A query string, a CORS request, a trailing slash and HEAD are Litestar's.
    both(behind, client, "GET", f"{path}?x=1", False, headers=owner)
    cors = both(behind, client, "GET", path, False,
                headers={**owner, "Origin": "https://studio.example.com"})
    assert cors.headers["access-control-allow-origin"] == "https://studio.example.com"
    both(behind, client, "GET", f"{path}/", False, headers=owner)
    both(behind, client, "GET", f"{CONTENT}/not-a-uuid/access", False, headers=owner)
    both(behind, client, "DELETE", path, False, headers=owner)


def test_a_playback_url_is_answered_by_the_layer_as_litestar_answers_it(
        patronage: Patronage, client: Client, behind: tuple[Client, Counted],
        video: tuple[dict[str, str], str]) -> None:
    owner, item = video
    reader = account(patronage, client, "reader@example.com", Role.CUSTOMER)
    path = f"{CONTENT}/{item}/playback"
    fast_client, counted = behind

    fast = fast_client.post(path, headers=owner)
    slow = client.post(path, headers=owner)
    assert fast.status_code == slow.status_code == 200
    assert len(counted.paths) == 0
    # A signed URL carries its expiry: the same fields, the same media path.
    assert fast.json().keys() == slow.json().keys() == {"url", "expires_at"}
    assert fast.json()["url"].split("?")[0] == slow.json()["url"].split("?")[0]
    fast_headers, slow_headers = headers_of(fast), headers_of(slow)
    assert int(fast_headers.pop("content-length")) == len(fast.content)
    slow_headers.pop("content-length")
    assert fast_headers == slow_headers
    assert fast.headers["cache-control"] == "private, no-store"

    refused = both(behind, client, "POST", path, False, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["code"] == "access.purchase_required"
    assert both(behind, client, "POST", path, False).status_code == 401
    # A body the route does not read still passes Litestar's input guard.
    assert both(behind, client, "POST", path, False,
                headers={**owner, "Content-Type": "application/json"},
                content=b'{"a": "\\u0000"}').status_code == 400


def test_a_resume_position_is_answered_by_the_layer_as_litestar_answers_it(
        patronage: Patronage, client: Client, behind: tuple[Client, Counted],
        video: tuple[dict[str, str], str]) -> None:
    owner, item = video
    path = f"{CONTENT}/{item}/progress"

    saved = both(behind, client, "PUT", path, True, headers=owner, json={"position_seconds": 42})
    assert saved.json()["position_seconds"] == 42
    assert saved.json()["updated_at"]
    finished = both(behind, client, "PUT", path, True, headers=owner,
                    json={"position_seconds": 299})
    assert finished.json()["completed"] is True
    # Refused or unusual bodies are Litestar's, with its problem+json.
    for body in (b'{"position_seconds": -1}', b'{"position_seconds": 10, "user_id": 1}',
                 b'{"position_seconds": "12"}', b"[]", b"{", b"",
                 b'{"position_seconds": 1' + b" " * 2000 + b"}"):
        both(behind, client, "PUT", path, False, headers=owner, content=body)
    assert both(behind, client, "PUT", path, False, headers=owner,
                content=b'{"position_seconds": -1}').status_code == 400
    both(behind, client, "PUT", path, False, json={"position_seconds": 5})
    both(behind, client, "PUT", path, False,
         headers={**owner, "Content-Type": "text/plain"}, content=b'{"position_seconds": 5}')
    missing = both(behind, client, "PUT", f"{CONTENT}/{uuid.uuid4()}/progress", False,
                   headers=owner, json={"position_seconds": 5})
    assert missing.status_code == 404


def test_a_catalog_page_is_answered_by_the_layer_as_litestar_answers_it(
        patronage: Patronage, client: Client, behind: tuple[Client, Counted],
        video: tuple[dict[str, str], str]) -> None:
    owner, _ = video
    for n in range(3):
        written(client, owner, f"Essay {n}", category="essays", tags=["craft"],
                price="2.00", currency="EUR")
    page = both(behind, client, "GET", CONTENT, True)
    assert len(page.json()["items"]) == 4
    assert "cache-control" not in page.headers
    first = both(behind, client, "GET", f"{CONTENT}?limit=2&category=essays", True)
    assert [i["title"] for i in first.json()["items"]] == ["Essay 2", "Essay 1"]
    later = both(behind, client, "GET",
                 f"{CONTENT}?limit=2&category=essays&cursor={first.json()['next_cursor']}",
                 True)
    assert [i["title"] for i in later.json()["items"]] == ["Essay 0"]
    for query in ("content_type=video", "q=essay", "q=essay&sort=newest", "tag=craft",
                  "price=paid&sort=popular", f"series_id={uuid.uuid4()}", "limit=50"):
        both(behind, client, "GET", f"{CONTENT}?{query}", True, headers=owner)
    # What the layer does not take as it is goes to Litestar, refusals included.
    for query in ("limit=0", "limit=51", "limit=ten", "sort=oldest", "q=two%20words",
                  "q=two+words", "category=", "category=a&category=b", "page=2",
                  "content_type=film", "series_id=42", "sort=relevance", "price=cheap",
                  "category=" + "c" * 101, "limit", "&"):
        both(behind, client, "GET", f"{CONTENT}?{query}", False)
    assert both(behind, client, "GET", f"{CONTENT}?limit=51", False).status_code == 400
    both(behind, client, "GET", f"{CONTENT}/", False)
    both(behind, client, "GET", CONTENT, False, headers={"Origin": "https://studio.example.com"})
    both(behind, client, "GET", CONTENT, False, headers={"Content-Type": "text/plain"},
         content=b"hello")


def test_the_layer_writes_the_access_log_line_litestar_writes(
        settings: Settings, clean_db: sa.Engine, patronage: Patronage, client: Client,
        video: tuple[dict[str, str], str], caplog: pytest.LogCaptureFixture) -> None:
    owner, item = video
    logged = bootstrap(attrs.evolve(settings, access_log=True), engine=clean_db,
                       hasher=Argon2PasswordHasher(**FAST_ARGON2))
    litestar = create_app(logged)
    layer = hot_routes(litestar, logged, before_send=edge_headers(logged.settings),
                       access_log=True, metrics=False)
    caplog.set_level(logging.INFO, logger="patronage.access")
    try:
        with TestClient(app=layer) as fast, TestClient(app=litestar) as slow:
            for answering in (fast, slow):
                assert answering.get(f"{CONTENT}/{item}/access", headers=owner
                                     ).status_code == 200
            for answering in (fast, slow):
                assert answering.get(f"{CONTENT}?limit=3").status_code == 200
    finally:
        logged.dispatcher.close()
    lines = [(r.getMessage(), r.__dict__.get("route"), r.__dict__.get("status"),
              r.__dict__.get("method"), r.__dict__.get("user_id"))
             for r in caplog.records if r.name == "patronage.access"]
    assert len(lines) == 4
    assert lines[0] == lines[1]
    assert lines[0][0] == "GET /api/v1/content/{content_id}/access 200"
    assert lines[2] == lines[3]
    assert lines[2][0] == "GET /api/v1/content 200"


def test_with_metrics_on_the_layer_counts_what_it_answers_in_litestars_series(
        settings: Settings, clean_db: sa.Engine, client: Client,
        video: tuple[dict[str, str], str]) -> None:
    owner, item = video
    metered = bootstrap(attrs.evolve(settings, metrics=True), engine=clean_db,
                        hasher=Argon2PasswordHasher(**FAST_ARGON2))
    counted = Counted(create_app(metered))
    layer = hot_routes(counted, metered, before_send=edge_headers(metered.settings),
                       access_log=False, metrics=True)
    template = "/api/v1/content/{content_id}/access"
    labels = {"method": "GET", "path": template, "status_code": "200"}
    try:
        with TestClient(app=layer) as fast, TestClient(app=counted) as slow:
            before = scrape(slow.get("/metrics").text)
            assert fast.get(f"{CONTENT}/{item}/access", headers=owner).status_code == 200
            assert all(path == "/metrics" for path in counted.paths)
            assert slow.get(f"{CONTENT}/{item}/access", headers=owner).status_code == 200
            after = scrape(slow.get("/metrics").text)
    finally:
        metered.dispatcher.close()
    assert value(after, "patronage_requests_total", **labels) - value(
        before, "patronage_requests_total", **labels) == 2
    assert value(after, "patronage_request_duration_seconds_count", **labels) - value(
        before, "patronage_request_duration_seconds_count", **labels) == 2
    assert value(after, "patronage_requests_in_progress", method="GET", path=template) == 0


def test_the_layer_stands_aside_on_sqlite(sqlite_patronage: Patronage) -> None:
    app = create_app(sqlite_patronage)
    assert hot_routes(app, sqlite_patronage, before_send=edge_headers(sqlite_patronage.settings),
                      access_log=False, metrics=False) is app
