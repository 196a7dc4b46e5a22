"""Resume positions saved together: the event loop's group commit (decision 9).

A player saves its position every few seconds, and most of what a save costs is its
round trip and its commit, not its row. On the event loop (the hot paths, PostgreSQL),
a save is not sent where the use case makes it: it joins the saves the loop's other
requests make before the loop turns, and they go as one statement
(`save_positions`), sent from a callback the first of them schedules. Each request
still answers only once its own row is stored: `Patronage.handle_on_loop` waits for it.
A lone save is sent as soon as its handler returns, so nothing waits for company.

A statement holds one save per viewer and item: the later position, finished if
either was. If it fails on a row (its item was deleted meanwhile), each save is sent
again alone, so that one fails and the others are stored; if the database is away,
they all fail with the same 503.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, constraint_name
from adapters.sqlalchemy.repositories.progress import PositionSave, save_positions
from domain.errors import Conflict, NotFound, Unauthenticated

Waiters = list[asyncio.Future[None]]


class _ThreadState(threading.local):
    deferring = False
    waiting: Waiters
    batch: list[tuple[PositionSave, asyncio.Future[None]]] | None = None


class CoalescedPositions:
    def __init__(self, connect: Callable[[], sa.Connection]) -> None:
        """``connect`` gives the calling thread's connection for resume positions."""
        self._connect = connect
        self._local = _ThreadState()

    @contextmanager
    def deferring(self) -> Iterator[Waiters]:
        """Saves made inside go with the running loop's next statement of saves; the
        list receives a future per save, done once it is stored (or failed)."""
        local = self._local
        waiting: Waiters = []
        local.deferring, local.waiting = True, waiting
        try:
            yield waiting
        finally:
            local.deferring = False

    def save(self, save: PositionSave) -> None:
        local = self._local
        if not local.deferring:
            save_positions(Executor(self._connect()), [save])
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if local.batch is None:
            local.batch = []
            loop.call_soon(self._send)
        local.batch.append((save, done))
        local.waiting.append(done)

    def _send(self) -> None:
        batch, self._local.batch = self._local.batch or [], None
        merged = _merged(batch)
        try:
            save_positions(Executor(self._connect()), [save for save, _ in merged])
        except sa_exc.IntegrityError:
            for save, waiters in merged:  # each alone: only the row at fault fails
                try:
                    save_positions(Executor(self._connect()), [save])
                except sa_exc.IntegrityError as error:
                    _settle(waiters, _meaning(error))
                except Exception as error:  # its request reports it
                    _settle(waiters, error)
                else:
                    _settle(waiters, None)
            return
        except Exception as error:  # each request of the batch reports it
            for _, waiters in merged:
                _settle(waiters, error)
            return
        for _, waiters in merged:
            _settle(waiters, None)


def _merged(batch: Sequence[tuple[PositionSave, asyncio.Future[None]]]
            ) -> list[tuple[PositionSave, Waiters]]:
    """One save per viewer and item (a statement cannot update a row twice): the later
    position, finished if either was, and the journal entries of both."""
    by_key: dict[tuple[UUID, UUID], tuple[PositionSave, Waiters]] = {}
    for save, done in batch:
        key = (save.user_id, save.content_id)
        found = by_key.get(key)
        if found is None:
            by_key[key] = (save, [done])
            continue
        first, waiters = found
        known = {entry.source_key for entry in first.journal}
        by_key[key] = (save._replace(
            id_if_new=first.id_if_new, completed=first.completed or save.completed,
            journal=first.journal + tuple(e for e in save.journal if e.source_key not in known),
        ), [*waiters, done])
    return list(by_key.values())


def _meaning(error: sa_exc.IntegrityError) -> Exception:
    """The item (or the viewer) was deleted between the access check and the save."""
    name = constraint_name(error)
    if "video_playback_content_id" in name:
        return NotFound("No such content item.", code="content.not_found")
    if "video_playback_user_id" in name:
        return Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    return Conflict("The change conflicts with existing data.", code="conflict.integrity")


def _settle(waiters: Waiters, error: Exception | None) -> None:
    for done in waiters:
        if done.done():  # its request was cancelled (the client went away)
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
