"""Resume positions saved on the event loop go together (decision 9), on a real
PostgreSQL: the saves the loop's requests make before it turns are one statement, each
request answers once its own row is stored, two saves of one item keep the later
position and the finish, and a save that cannot be stored fails alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.sqlalchemy.tables import content, events, video_playback
from application.catalog.progress import RecordProgress
from application.catalog.views import ProgressView
from domain.errors import NotFound, Unavailable
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.test_catalog_http import (
    Client,
    account,
    attach_media,
    create,
    publish,
)
from tests.integration.wire import statements


def videos(client: Client, headers: dict[str, str], count: int) -> list[uuid.UUID]:
    made = []
    for n in range(count):
        item = create(client, headers, f"Video {n}", "video")
        attach_media(client, headers, item["id"], duration=200)
        publish(client, headers, item["id"])
        made.append(uuid.UUID(item["id"]))
    return made


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def save(patronage: Patronage, token: str, item: uuid.UUID, at: int
         ) -> Coroutine[Any, Any, Any]:
    return patronage.handle_on_loop(RecordProgress(content_id=item, position_seconds=at,
                                                   token=token))


def stored(engine: sa.Engine) -> dict[uuid.UUID, tuple[int, bool]]:
    with engine.connect() as conn:
        return {r.content_id: (r.position_seconds, r.completed) for r in conn.execute(
            sa.select(video_playback.c.content_id, video_playback.c.position_seconds,
                      video_playback.c.completed))}


def journal(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(events.c.source_key)
                                   .where(events.c.source_key.is_not(None))).scalars())


def saves_sent(sql: list[str]) -> list[str]:
    return [s for s in sql if "INSERT INTO video_playback" in s]


def test_saves_made_before_the_loop_turns_go_in_one_statement(
        patronage: Patronage, client: Client, clean_db: sa.Engine) -> None:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    items = videos(client, owner, 5)
    token = token_of(owner)

    async def five_viewers_at_once() -> list[Any]:
        return list(await asyncio.gather(
            *(save(patronage, token, item, 30 + n) for n, item in enumerate(items))))

    with statements(clean_db) as sent:
        views = asyncio.run(five_viewers_at_once())
    assert [v.position_seconds for v in views] == [30, 31, 32, 33, 34]
    assert all(isinstance(v, ProgressView) and not v.completed for v in views)
    # Five access reads, then the five saves and their first plays in one statement
    # (besides the settings this thread's new connections take once).
    work = [s for s in sent if not s.startswith("SET ")]
    assert len(saves_sent(work)) == 1 and len(work) == 6, work
    assert stored(clean_db) == {item: (30 + n, False) for n, item in enumerate(items)}
    assert len(journal(clean_db)) == 5

    # A lone save goes alone, at once: nothing waits for company.
    with statements(clean_db) as sent:
        view = asyncio.run(save(patronage, token, items[0], 90))
    assert view.position_seconds == 90 and len(saves_sent(sent)) == 1
    assert stored(clean_db)[items[0]] == (90, False)


def test_two_saves_of_one_item_in_one_statement_keep_the_later_and_the_finish(
        patronage: Patronage, client: Client, clean_db: sa.Engine) -> None:
    """Two devices of one viewer: PostgreSQL cannot update a row twice in one statement,
    so the batch keeps one save per item; finishing on one device is not undone by the
    other's earlier position, and each is journaled once."""
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    [item] = videos(client, owner, 1)
    token = token_of(owner)

    async def two_devices() -> list[Any]:
        return list(await asyncio.gather(save(patronage, token, item, 195),
                                         save(patronage, token, item, 40)))

    with statements(clean_db) as sent:
        finished, later = asyncio.run(two_devices())
    assert len(saves_sent(sent)) == 1, sent
    assert (finished.position_seconds, finished.completed) == (195, True)
    assert later.position_seconds == 40
    assert stored(clean_db) == {item: (40, True)}
    owner_id = next(iter(_viewers(clean_db)))
    assert journal(clean_db) == [f"content.completed:{owner_id}:{item}",
                                 f"content.played:{owner_id}:{item}"]

    # Stored as finished, it stays so: the next save's answer says it too.
    again = asyncio.run(save(patronage, token, item, 10))
    assert (again.position_seconds, again.completed) == (10, True)
    assert stored(clean_db) == {item: (10, True)}


def _viewers(engine: sa.Engine) -> set[uuid.UUID]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(video_playback.c.user_id)).scalars())


def test_a_save_whose_item_went_meanwhile_fails_alone(
        patronage: Patronage, client: Client, clean_db: sa.Engine) -> None:
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    gone, kept = videos(client, owner, 2)
    token = token_of(owner)

    async def purge_between_the_checks_and_the_statement() -> None:
        with clean_db.begin() as conn:
            conn.execute(sa.delete(content).where(content.c.id == gone))

    async def together() -> list[Any]:
        return list(await asyncio.gather(
            save(patronage, token, gone, 20), save(patronage, token, kept, 30),
            purge_between_the_checks_and_the_statement(), return_exceptions=True))

    with statements(clean_db) as sent:
        lost, saved, _ = asyncio.run(together())
    assert isinstance(lost, NotFound) and lost.code == "content.not_found"
    assert saved.position_seconds == 30
    # The statement of both, refused for the purged item; then each alone.
    assert len(saves_sent(sent)) == 3, sent
    assert stored(clean_db) == {kept: (30, False)}
    owner_id = next(iter(_viewers(clean_db)))
    assert journal(clean_db) == [f"content.played:{owner_id}:{kept}"]


def test_a_connection_lost_before_the_statement_fails_its_saves_with_503(
        patronage: Patronage, client: Client, clean_db: sa.Engine) -> None:
    """Each request of the batch answers 503 (retry), and the next save takes a new
    connection."""
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    first, second = videos(client, owner, 2)
    token = token_of(owner)
    assert patronage.pinned is not None
    pinned = patronage.pinned

    async def lose_the_connection() -> None:
        backend = pinned.get(durable=False).exec_driver_sql(
            "SELECT pg_backend_pid()").scalar_one()
        with clean_db.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({backend})")

    async def together() -> list[Any]:
        return list(await asyncio.gather(
            save(patronage, token, first, 20), save(patronage, token, second, 30),
            lose_the_connection(), return_exceptions=True))

    one, other, _ = asyncio.run(together())
    for failed in (one, other):
        assert isinstance(failed, Unavailable), failed
        assert failed.code == "service.database_unavailable"
    assert stored(clean_db) == {}
    view = asyncio.run(save(patronage, token, first, 25))
    assert view.position_seconds == 25
    assert stored(clean_db) == {first: (25, False)}


@pytest.mark.parametrize("count", [9, 12])
def test_more_journal_entries_than_one_statement_carries_are_split(
        patronage: Patronage, client: Client, clean_db: sa.Engine, count: int) -> None:
    """Every first save journals a play; a statement carries eight entries at most."""
    owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
    items = videos(client, owner, count)
    token = token_of(owner)

    async def all_at_once() -> list[Any]:
        return list(await asyncio.gather(*(save(patronage, token, item, 5) for item in items)))

    with statements(clean_db) as sent:
        asyncio.run(all_at_once())
    assert len(saves_sent(sent)) == 2, sent
    assert stored(clean_db) == dict.fromkeys(items, (5, False))
    assert len(journal(clean_db)) == count
