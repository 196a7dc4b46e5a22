"""Catalog search (`GET /api/v1/content?q=`) on each database's full-text index.

The same answers on PostgreSQL (tsvector + GIN, in the platform's search language)
and on SQLite (FTS5): every word must match a word or a word's start in the title, the
tags or the description; title matches rank first; edits reach the index at once;
relevance pages through every hit exactly once; no input is syntax. On PostgreSQL, a
query that matches nothing is answered from the index, never by reading the table.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.accounts import Headers, account

Client = TestClient[Litestar]
STUDIO = "/api/v1/studio/content"
CATALOG = "/api/v1/content"


def publish(client: Client, owner: Headers, title: str, **fields: Any) -> dict[str, Any]:
    made = client.post(STUDIO, headers=owner, json={
        "title": title, "content_type": "written", "body_html": f"<p>{title}</p>",
        "visibility": "public", **fields})
    assert made.status_code == 201, made.text
    published = client.post(f"{STUDIO}/{made.json()['id']}/publish", headers=owner)
    assert published.status_code == 200, published.text
    return dict(published.json())


def search(client: Client, q: str, **params: Any) -> list[str]:
    response = client.get(CATALOG, params={"q": q, "limit": 50, **params})
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def shelf(any_db: tuple[Patronage, Client]) -> tuple[Patronage, Client, Headers]:
    patronage, client = any_db
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    publish(client, owner, "Evening yoga flow", tags=["relax", "stretching"],
            description="Slow movement to end the day.")
    publish(client, owner, "Morning run", description="A gentle jog, then yoga stretches.")
    publish(client, owner, "Bread baking basics", tags=["yoga-adjacent"],
            description="Flour, water, salt.")
    publish(client, owner, "Knife skills", category="cooking")
    draft = client.post(STUDIO, headers=owner, json={
        "title": "Unpublished yoga secrets", "content_type": "written",
        "body_html": "<p>x</p>"})
    assert draft.status_code == 201
    private = publish(client, owner, "Private yoga notes")
    client.patch(f"{STUDIO}/{private['id']}", headers=owner, json={"visibility": "private"})
    return patronage, client, owner


def test_every_word_must_match_a_word_or_its_start(
        shelf: tuple[Patronage, Client, Headers]) -> None:
    _, client, _ = shelf
    assert set(search(client, "yoga")) == {"Evening yoga flow", "Morning run",
                                           "Bread baking basics"}
    assert search(client, "yog flow") == ["Evening yoga flow"]
    assert set(search(client, "yog fl")) == {"Evening yoga flow", "Bread baking basics"}
    assert search(client, "  EVENING   Flow ") == ["Evening yoga flow"]
    assert search(client, "evening run") == []
    assert search(client, "relax") == ["Evening yoga flow"]  # a tag
    assert search(client, "flour") == ["Bread baking basics"]  # the description
    assert search(client, "knife", category="cooking") == ["Knife skills"]
    assert search(client, "knife", category="music") == []
    assert search(client, "nothing matches this") == []


def test_title_matches_rank_before_tags_and_descriptions(
        shelf: tuple[Patronage, Client, Headers]) -> None:
    _, client, _ = shelf
    ranked = search(client, "yoga")
    assert ranked[0] == "Evening yoga flow"
    assert set(ranked[1:]) == {"Morning run", "Bread baking basics"}
    # Another order can be asked for; the filter stays the same.
    newest = search(client, "yoga", sort="newest")
    assert newest == ["Bread baking basics", "Morning run", "Evening yoga flow"]


def test_drafts_and_private_items_are_never_found(
        shelf: tuple[Patronage, Client, Headers]) -> None:
    _, client, _ = shelf
    assert search(client, "secrets") == []
    assert search(client, "notes") == []


def test_edits_reach_the_index_at_once(shelf: tuple[Patronage, Client, Headers]) -> None:
    _, client, owner = shelf
    item = publish(client, owner, "Pasta from scratch", tags=["italian"])
    assert search(client, "pasta") == ["Pasta from scratch"]
    changed = client.patch(f"{STUDIO}/{item['id']}", headers=owner, json={
        "title": "Fresh noodles", "tags": ["ramen"], "description": "Hand-pulled."})
    assert changed.status_code == 200, changed.text
    assert search(client, "pasta") == [] and search(client, "italian") == []
    assert search(client, "noodles") == search(client, "ramen") == ["Fresh noodles"]
    assert search(client, "pulled") == ["Fresh noodles"]
    gone = client.delete(f"{STUDIO}/{item['id']}", headers=owner)
    assert gone.status_code in (200, 204), gone.text
    assert search(client, "noodles") == []


@pytest.mark.parametrize("q", [
    "%", "_", "'", '"', "*", "yoga' OR 1=1 --", 'yoga" OR "', "NEAR(yoga flow)",
    "title:yoga", "yoga AND NOT run", "-yoga", "(yoga", "yoga:*", "!!!", "\\", "^yoga",
])
def test_no_input_is_syntax(shelf: tuple[Patronage, Client, Headers], q: str) -> None:
    _, client, _ = shelf
    response = client.get(CATALOG, params={"q": q})
    assert response.status_code == 200, response.text
    words = [w for w in q.replace("_", " ").split() if any(c.isalnum() for c in w)]
    if not words:
        assert response.json()["items"] == []


def test_relevance_pages_through_every_hit_once(any_db: tuple[Patronage, Client]) -> None:
    patronage, client = any_db
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    titles = set()
    for n in range(23):
        # Three kinds of hit, so ranks tie within each kind and differ across them.
        field = ("title", "tags", "description")[n % 3]
        extra: dict[str, Any] = ({"tags": ["pilates"]} if field == "tags" else
                                 {"description": "Some pilates."} if field == "description"
                                 else {})
        title = f"Pilates class {n}" if field == "title" else f"Class {n}"
        publish(client, owner, title, **extra)
        titles.add(title)
    publish(client, owner, "Unrelated")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "pilates", "limit": 5}
        if cursor:
            params["cursor"] = cursor
        body = client.get(CATALOG, params=params).json()
        seen += [item["title"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == titles
    # Title hits first.
    assert all(title.startswith("Pilates") for title in seen[:8])


def test_relevance_needs_a_search(any_db: tuple[Patronage, Client]) -> None:
    _, client = any_db
    response = client.get(CATALOG, params={"sort": "relevance"})
    assert response.status_code == 422
    assert response.json()["code"] == "catalog.bad_sort"
    cursor = base64.urlsafe_b64encode(json.dumps(
        {"s": "relevance", "k": "x", "i": str(uuid.uuid4())}).encode()).decode()
    forged = client.get(CATALOG, params={"q": "yoga", "cursor": cursor})
    assert forged.status_code == 422 and forged.json()["code"] == "catalog.bad_cursor"


# -- PostgreSQL only -------------------------------------------------------------------------


def test_the_search_language_stems_words_and_changing_it_reindexes(
        patronage: Patronage, client: Client) -> None:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    publish(client, owner, "Running drills", description="The stretches runners need")
    assert search(client, "run") == ["Running drills"]  # a prefix, in any language
    assert search(client, "runs") == ["Running drills"]  # English stems runs → run
    assert search(client, "the") == []  # a stop word alone matches nothing

    def language(value: str) -> httpx.Response:
        return client.patch("/api/v1/settings", headers=owner,
                            json={"search_language": value})

    assert language("simple").status_code == 200
    assert search(client, "runs") == []  # words as written now
    assert search(client, "running") == ["Running drills"]
    refused = language("klingon")
    assert refused.status_code == 422
    assert refused.json()["code"] == "settings.search_language"
    assert client.get("/api/v1/settings").json()["search_language"] == "simple"
    assert language("english").status_code == 200
    assert search(client, "runs") == ["Running drills"]


def test_the_listed_languages_are_postgresql_configurations(patronage: Patronage) -> None:
    from domain.platform.settings import SEARCH_LANGUAGES

    with patronage.engine.connect() as conn:
        known = set(conn.execute(sa.text("SELECT cfgname FROM pg_ts_config")).scalars())
    assert set(SEARCH_LANGUAGES) <= known


def test_a_search_that_finds_nothing_reads_the_index_not_the_table(
        patronage: Patronage, client: Client) -> None:
    with patronage.engine.begin() as conn:
        owner_id = conn.execute(sa.text(
            "INSERT INTO users (id, email, password_hash, full_name, role) VALUES "
            "(gen_random_uuid(), 'bulk@example.com', 'x', 'Bulk', 'platform_creator') "
            "RETURNING id")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO content (id, creator_id, title, slug, content_type, status, "
            "visibility, published_at, description) "
            "SELECT gen_random_uuid(), :owner, 'Lesson ' || i, 'lesson-' || i, 'written', "
            "'published', 'public', now() - i * interval '1 minute', "
            "CASE WHEN i % 1000 = 0 THEN 'A rare zephyr' ELSE 'Practice number ' || i END "
            "FROM generate_series(1, 20000) AS i"),
            {"owner": owner_id})
        conn.execute(sa.text("ANALYZE content"))
    assert search(client, "zyzzyva") == []
    assert search(client, "zyzzyva", sort="newest") == []
    assert search(client, "zephyr", sort="newest", limit=3) == [
        "Lesson 1000", "Lesson 2000", "Lesson 3000"]
    # "lesson" is in every item: a common word, read newest first, a page at a time.
    assert search(client, "lesson", sort="newest", limit=3) == [
        "Lesson 1", "Lesson 2", "Lesson 3"]
    first = client.get(CATALOG, params={"q": "lesson", "limit": 4}).json()
    more = client.get(CATALOG, params={"q": "lesson", "limit": 4,
                                       "cursor": first["next_cursor"]}).json()
    pages = [i["title"] for i in first["items"] + more["items"]]
    assert len(pages) == len(set(pages)) == 8
    # The statements the catalog sends for a word found nowhere, as the database plans
    # them: through the index, never a scan of the table, whatever the order.
    from adapters.sqlalchemy.repositories.catalog import SqlCatalogQueries

    class Dialect:
        dialect = "postgresql"

    queries = SqlCatalogQueries.__new__(SqlCatalogQueries)
    queries._execute = Dialect()  # type: ignore[assignment]
    for sort in ("newest", "popular", "relevance"):
        statement = queries._build_browse(sort, {"search", "limit"}, None, False)
        compiled = statement.compile(dialect=patronage.engine.dialect)
        with patronage.engine.connect() as conn:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(
                f"EXPLAIN {compiled}",
                {**compiled.params, "search": "'zyzzyva':*", "limit": 21}))
        assert "idx_content_search" in plan, plan
        assert "Seq Scan on content" not in plan, plan


@pytest.mark.parametrize("sort", ["newest", "popular", "relevance"])
def test_on_the_embedded_default_matches_are_found_through_the_index_first(
        sqlite_patronage: Patronage, sort: str) -> None:
    from adapters.sqlalchemy.repositories.catalog import SqlCatalogQueries

    class Dialect:
        dialect = "sqlite"

    queries = SqlCatalogQueries.__new__(SqlCatalogQueries)
    queries._execute = Dialect()  # type: ignore[assignment]

    def plan(present: set[str]) -> list[str]:
        statement = queries._build_browse(sort, present, None, False)
        compiled = statement.compile(dialect=sqlite_patronage.engine.dialect)
        values = {**compiled.params, "search": '"zyzzyva"*', "limit": 21, "category": "x"}
        with sqlite_patronage.engine.connect() as conn:
            return [row[3] for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}",
                tuple(values[name] for name in compiled.positiontup or ()))]

    alone = plan({"search", "limit"})
    assert alone[0].startswith("SCAN content_search VIRTUAL TABLE"), alone
    # With another filter SQLite may start from that filter's index instead; it never
    # reads the whole catalog.
    for steps in (alone, plan({"search", "limit", "category"})):
        assert not any(step.startswith("SCAN content ") or step == "SCAN content"
                       for step in steps), steps
        assert "SCAN content_search_docs" not in steps, steps


def test_a_ranked_search_is_one_statement_and_an_ordered_one_two(
        patronage: Patronage, client: Client) -> None:
    from tests.integration.wire import statements

    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    publish(client, owner, "Evening yoga flow")
    search(client, "yoga")  # the first request of a shape also prepares it
    for params, expected in (({"q": "yoga"}, 1), ({"q": "yoga", "sort": "newest"}, 2),
                             ({"q": "%"}, 0), ({}, 1)):
        with statements(patronage.engine) as seen:
            response = client.get(CATALOG, params=params)
        assert response.status_code == 200
        assert len(seen) == expected, (params, seen)
