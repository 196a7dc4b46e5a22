"""Input meant to break the server (outside review, fuzzing): every case is a clean 4xx.

NUL characters in any text, JSON nested thousands deep and integers past 64 bits once
reached the database or the decoder and came back as 500s. Each case runs on both
databases and is checked for its status, its problem code, the field it names, and for
leaving nothing written behind.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from entrypoints.logs import configure_handlers
from tests.integration.accounts import PASSWORD, account

NUL = "\x00"
BIG = "9223372036854775808"  # 2**63: one past the largest BIGINT


@pytest.fixture
def app(any_db: tuple[Patronage, TestClient[Litestar]]
        ) -> tuple[Patronage, TestClient[Litestar], dict[str, str]]:
    patronage, client = any_db
    return patronage, client, account(patronage, client, "owner@example.com",
                                      Role.PLATFORM_OWNER)


def count(patronage: Patronage, table: str) -> int:
    with patronage.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert field in [e.get("field") for e in body.get("errors") or []], body


QUERIES = [
    ("/api/v1/content?q=a%00b", "q"),
    ("/api/v1/content?tag=%00", "tag"),
    ("/api/v1/content?category=x%00", "category"),
    ("/api/v1/content?cursor=%00", "cursor"),
    ("/api/v1/content?limit=5&x%00y=1", "x\\0y"),
    ("/api/v1/me/purchases?limit=5&offset=%00", "offset"),
    ("/api/v1/admin/access-grants?email=a%00@example.com&content_id=" + str(uuid4()), "email"),
]


@pytest.mark.parametrize(("url", "field"), QUERIES)
def test_nul_in_a_query_parameter_names_it(app: Any, url: str, field: str) -> None:
    _, client, owner = app
    method = client.delete if "access-grants" in url else client.get
    assert_problem(method(url, headers=owner), 400, "request.invalid", field)


@pytest.mark.parametrize("url", ["/api/v1/content/a%00b", "/api/v1/series/a%00b",
                                 "/media/a%00b"])
def test_nul_in_a_path_is_not_found(app: Any, url: str) -> None:
    _, client, owner = app
    assert_problem(client.get(url, headers=owner), 404, "http.not_found")


BODIES = [
    ("POST", "/api/v1/auth/register",
     {"email": "new@example.com", "password": PASSWORD, "full_name": f"A{NUL}"}, "full_name"),
    ("POST", "/api/v1/auth/register",
     {"email": f"new{NUL}@example.com", "password": PASSWORD, "full_name": "A"}, "email"),
    ("POST", "/api/v1/auth/login", {"email": f"owner@example.com{NUL}", "password": PASSWORD},
     "email"),
    ("POST", "/api/v1/auth/login", {"email": "owner@example.com", "password": f"x{NUL}"},
     "password"),
    ("POST", "/api/v1/auth/password-reset/request", {"email": f"a{NUL}@example.com"}, "email"),
    ("PATCH", "/api/v1/me", {"full_name": f"Ann{NUL}"}, "full_name"),
    ("PATCH", "/api/v1/me", {"bio": f"bio{NUL}"}, "bio"),
    ("PATCH", "/api/v1/settings", {"platform_name": f"P{NUL}"}, "platform_name"),
    ("PATCH", "/api/v1/settings", {"hero_title": f"H{NUL}"}, "hero_title"),
    ("PATCH", "/api/v1/settings", {"social_links": {f"x{NUL}": "https://a.example"}},
     "social_links.x\\0"),
    ("POST", "/api/v1/studio/content", {"title": f"T{NUL}", "content_type": "written"},
     "title"),
    ("POST", "/api/v1/studio/content",
     {"title": "T", "content_type": "written", "tags": ["ok", f"b{NUL}"]}, "tags[1]"),
    ("POST", "/api/v1/studio/series", {"title": f"S{NUL}"}, "title"),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), BODIES)
def test_nul_in_a_body_field_names_it_and_writes_nothing(
        app: Any, method: str, url: str, body: dict[str, Any], field: str) -> None:
    patronage, client, owner = app
    before = {t: count(patronage, t) for t in ("users", "content", "content_series",
                                               "outbox_messages")}
    settings_before = client.get("/api/v1/settings").json()
    response = client.request(method, url, json=body, headers=owner)
    assert_problem(response, 400, "request.invalid", field)
    assert {t: count(patronage, t) for t in before} == before
    assert client.get("/api/v1/settings").json() == settings_before


@pytest.mark.parametrize("opening", [b'{"a":', b"["])
def test_deeply_nested_json_is_a_bad_request(app: Any, opening: bytes) -> None:
    patronage, client, _ = app
    closing = b"}" if opening.startswith(b"{") else b"]"
    body = opening * 5000 + b"1" + closing * 5000
    response = client.post("/api/v1/auth/register", content=body,
                           headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "request.invalid")
    assert count(patronage, "users") == 1
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("url", [
    f"/api/v1/me/purchases?offset={BIG}",
    f"/api/v1/admin/users?offset={BIG}",
    f"/api/v1/studio/content?offset={BIG}",
    "/api/v1/studio/content?offset=1000001",
    f"/api/v1/content?limit={BIG}",
])
def test_integers_past_their_range_are_refused(app: Any, url: str) -> None:
    _, client, owner = app
    field = url.split("?")[1].split("=")[0]
    assert_problem(client.get(url, headers=owner), 400, "request.invalid", field)


def test_series_position_past_its_range_is_refused(app: Any) -> None:
    _, client, owner = app
    series = client.post("/api/v1/studio/series", json={"title": "S"}, headers=owner).json()
    item = client.post("/api/v1/studio/content", json={"title": "T", "content_type": "written"},
                       headers=owner).json()
    response = client.post(f"/api/v1/studio/series/{series['id']}/items",
                           content=f'{{"content_id": "{item["id"]}", "position": {BIG}}}',
                           headers={**owner, "Content-Type": "application/json"})
    assert_problem(response, 400, "request.invalid", "position")


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything logged, through the same redaction the server installs on its handlers."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    configure_handlers()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_failing_statement_logs_no_hash_or_password(
        patronage: Patronage, client: TestClient[Litestar], log_text: io.StringIO) -> None:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    # A failure that quotes the row being inserted (its argon2 hash included), as
    # constraint errors do; SQLAlchemy would add the bound values on top.
    with patronage.engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE FUNCTION users_test_trap() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'users_test_trap %', NEW; END $$"))
        conn.execute(sa.text("CREATE TRIGGER users_test_trap BEFORE INSERT ON users "
                             "FOR EACH ROW EXECUTE FUNCTION users_test_trap()"))
    try:
        response = client.post("/api/v1/admin/users", headers=owner, json={
            "email": "trap@example.com", "password": PASSWORD, "full_name": "Trap",
            "role": "customer"})
        assert response.status_code == 500
        assert response.json()["code"] == "internal"
        assert "argon2" not in response.text
    finally:
        with patronage.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER users_test_trap ON users"))
            conn.execute(sa.text("DROP FUNCTION users_test_trap()"))
    text = log_text.getvalue()
    assert "users_test_trap" in text  # the failure itself was logged...
    assert "$argon2" not in text  # ...without the hash,
    assert PASSWORD not in text  # the password,
    assert "[parameters:" not in text  # or the bound values
