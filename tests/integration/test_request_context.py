"""Request ids and structured logs: every response and problem names its request, and
log lines written while it runs carry its id and user."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from domain.identity.roles import Role
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from entrypoints.logs import configure_handlers
from tests.integration.accounts import account
from tests.integration.conftest import FAST_ARGON2


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    configure_handlers(json_lines=True)
    previous = logging.getLogger("patronage").level
    logging.getLogger("patronage").setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        logging.getLogger("patronage").setLevel(previous)
        configure_handlers()


def test_the_request_id_is_echoed_or_made(client: TestClient[Litestar]) -> None:
    given = client.get("/health", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["x-request-id"] == "lb-1234.abc"
    made = client.get("/health").headers["x-request-id"]
    assert len(made) == 32 and made != "lb-1234.abc"
    # Anything that could forge a log line or a header is replaced, not echoed.
    hostile = client.get("/health", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert hostile.headers["x-request-id"] != "a b\tc" + "x" * 200
    problem = client.get("/api/v1/me", headers={"X-Request-ID": "trace-42"})
    assert problem.status_code == 401
    assert problem.json()["request_id"] == "trace-42"
    assert problem.headers["x-request-id"] == "trace-42"
    unknown = client.get(f"/api/v1/content/{'0' * 8}-0000-7000-8000-{'0' * 12}/access")
    assert unknown.status_code == 404
    assert unknown.headers["x-request-id"] == unknown.json()["request_id"]


def test_a_routing_error_has_a_request_id_too(client: TestClient[Litestar]) -> None:
    # Litestar answers these before any middleware runs.
    nowhere = client.get("/api/v1/nowhere", headers={"X-Request-ID": "lb-404"})
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "http.not_found"
    assert nowhere.headers["x-request-id"] == "lb-404" == nowhere.json()["request_id"]
    made = client.get("/api/v1/nowhere")
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] == made.json()["request_id"]
    refused = client.delete("/health", headers={"X-Request-ID": "a b"})
    assert refused.status_code == 405
    assert refused.headers["x-request-id"] == refused.json()["request_id"] != "a b"
    assert refused.headers.get_list("x-request-id") == [refused.headers["x-request-id"]]


def test_access_lines_in_json_name_request_route_status_and_user(
        pg_url: str, tmp_path: Path, clean_db: sa.Engine, json_log: io.StringIO) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=pg_url, access_log=True,
                        log_format="json")
    app = bootstrap(settings, engine=clean_db, hasher=Argon2PasswordHasher(**FAST_ARGON2))
    with TestClient(app=create_app(app)) as client:
        owner = account(app, client, "owner@example.com", Role.PLATFORM_OWNER)
        me = client.get("/api/v1/me", headers={**owner, "X-Request-ID": "req-me"}).json()
        client.get(f"/api/v1/content/{'0' * 8}-0000-7000-8000-{'0' * 12}/access",
                   headers={"X-Request-ID": "req-missing"})
    lines: list[dict[str, Any]] = [json.loads(line) for line in
                                   json_log.getvalue().splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "patronage.access"}
    assert access["req-me"]["route"] == "/api/v1/me"
    assert access["req-me"]["status"] == 200 and access["req-me"]["user_id"] == me["id"]
    assert access["req-me"]["duration_ms"] >= 0
    # The route template, never the raw path with its ids.
    assert access["req-missing"]["route"] == "/api/v1/content/{content_id}/access"
    assert access["req-missing"]["status"] == 404
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
