"""The plans PostgreSQL makes for a filtered catalog page (decision 9): a category's
newest items are read from the category's own index, on the first page and on every
later one, not by walking every published item newest first."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg.sql
import pytest
import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.catalog import SqlCatalogQueries
from adapters.sqlalchemy.tables import content, users
from application.ports.catalog import CatalogFilter

START = datetime(2026, 1, 1, tzinfo=UTC)
ITEMS, CATEGORIES = 20_000, 20


@pytest.fixture
def catalog(clean_db: sa.Engine) -> sa.Engine:
    """Items published one after the other, as a catalog grows: the dates follow the
    table's order, the categories do not."""
    creator = uuid.uuid4()
    with clean_db.begin() as conn:
        conn.execute(sa.insert(users).values(
            id=creator, email="owner@example.com", password_hash="x", full_name="Owner",
            role="platform_owner", created_at=START, updated_at=START))
        conn.execute(sa.insert(content), [{
            "id": uuid.uuid4(), "creator_id": creator, "title": f"Item {n}",
            "slug": f"item-{n}", "content_type": ("video", "audio", "written")[n % 3],
            "status": "published", "visibility": "public",
            "category": f"category-{n % CATEGORIES}",
            "published_at": START + timedelta(minutes=n), "created_at": START,
            "updated_at": START} for n in range(ITEMS)])
        conn.exec_driver_sql("ANALYZE content")
    return clean_db


def plan_of(engine: sa.Engine, sql: str, params: Sequence[object]) -> str:
    """The plan PostgreSQL keeps for the statement once it is prepared and run a few
    times, as on the servers' connections (custom plans first, then maybe generic)."""
    types = ", ".join(_TYPES[type(value)] for value in params)
    run = psycopg.sql.SQL("EXECUTE page({})").format(
        psycopg.sql.SQL(", ").join(psycopg.sql.Literal(value) for value in params))
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            cursor.execute(f"PREPARE page({types}) AS {sql}")
            for _ in range(6):
                cursor.execute(run)
            cursor.execute(psycopg.sql.SQL("EXPLAIN {}").format(run))
            return "\n".join(row[0] for row in cursor.fetchall())


_TYPES = {str: "text", int: "bigint", datetime: "timestamptz", uuid.UUID: "uuid"}


@contextmanager
def sent_with_values(engine: sa.Engine) -> Iterator[list[tuple[str, Sequence[object]]]]:
    seen: list[tuple[str, Sequence[object]]] = []

    def record(_conn: Any, _cursor: Any, statement: str, values: Any, *_rest: Any) -> None:
        seen.append((statement, values))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_a_category_page_reads_the_category_index(catalog: sa.Engine) -> None:
    with catalog.connect() as conn, sent_with_values(catalog) as sent:
        queries = SqlCatalogQueries(Executor(conn))
        first = queries.browse(CatalogFilter(category="category-7"), sort="newest",
                               after=None, limit=21)
        last = first[-1]
        second = queries.browse(CatalogFilter(category="category-7"), sort="newest",
                                after=(last.published_at, last.id), limit=21)
    assert [e.category for e in [*first, *second]] == ["category-7"] * 42
    dates = [e.published_at for e in [*first, *second] if e.published_at is not None]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == 42
    newest_of_category = max(n for n in range(ITEMS) if n % CATEGORIES == 7)
    assert dates[0] == START + timedelta(minutes=newest_of_category)
    assert len(sent) == 2
    for sql, values in sent:
        plan = plan_of(catalog, sql, values)
        assert "idx_content_catalog_category" in plan, plan
        assert "idx_content_published_at" not in plan and "Sort" not in plan, plan
