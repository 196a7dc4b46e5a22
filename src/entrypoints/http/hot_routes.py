"""The hot routes' successful answers, written without Litestar's request cycle (decision 9).

For the routes a storefront and a player call most (a catalog page, the access check, a
playback URL, a resume position), Litestar's own work (middleware, routing, the
handler's parameters, response objects) was about a third of a server's CPU per request
once the use case ran on the event loop's connection. This ASGI layer sits in front of
the app: it recognises the exact shape of such a request, runs the same use case the
same way (`Patronage.handle_on_loop`), and writes the 200 answer the route would: the
same encoder, the same request id, the same security headers (the app's own hook), the
same access-log line, and with Prometheus metrics on the same request series.

Everything else goes to Litestar unchanged, the body already read replayed to it: another
path or method, a query parameter the layer does not take as it is, an `Origin` header
(CORS is Litestar's), a body that is not exactly the route's JSON, and every error the
use case raises. An error is answered by running the request again in Litestar, so its
problem+json is Litestar's: these routes refuse before they write, and a resume position
saved twice is the same row. On SQLite (no loop connection) the layer is not put in
place.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

import attrs
import msgspec
from litestar.enums import ScopeType
from litestar.serialization import encode_json
from litestar.types import (
    ASGIApp,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from application.catalog.browsing import SORTS, BrowseCatalog, CheckAccess
from application.catalog.media import RequestPlayback
from application.catalog.progress import RecordProgress
from domain.catalog.rules import ContentType
from entrypoints.bootstrap import Patronage
from entrypoints.http.convert import access_out, page_out, playback_out, progress_out
from entrypoints.http.dependencies import bearer_of
from entrypoints.http.request_context import log_access, request_id_for
from entrypoints.http.schemas.catalog import (
    LONGEST_QUERY,
    MOST_A_PAGE,
    PRICES,
    ProgressBody,
)
from entrypoints.logs import request_state_var

if TYPE_CHECKING:
    from entrypoints.http.metrics import RequestMetrics

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_AN_ID = re.compile(_UUID)
_ROUTE = re.compile(f"/api/v1/content(?:/({_UUID})/(access|playback|progress))?")
_JSON = (b"content-type", b"application/json")
_PRIVATE = (b"cache-control", b"private, no-store")  # the playback route's own header
_BODY_LIMIT = 1024  # a resume position's body is about 30 bytes; more goes to Litestar


class _Declined(Exception):
    """This request is not one the layer answers: Litestar does."""


@attrs.frozen
class _Sent:
    """What the layer reads of a request."""
    item: UUID | None
    token: str | None
    query: bytes
    body: bytes


Answer = tuple[bytes, list[tuple[bytes, bytes]]]
Route = Callable[[_Sent], Awaitable[Answer]]


class HotRoutes:
    """ASGI app: the hot routes' 200 answers, and ``app`` for everything else."""

    def __init__(self, app: ASGIApp, patronage: Patronage, *,
                 before_send: Callable[[Message, Scope], Awaitable[None]],
                 access_log: bool, meter: RequestMetrics | None = None) -> None:
        self._app = app
        self._patronage = patronage
        self._before_send = before_send
        self._access_log = access_log
        self._meter = meter
        self._routes: dict[tuple[str, str], tuple[str, Route]] = {
            ("GET", ""): ("/api/v1/content", self._catalog_page),
            ("GET", "access"): ("/api/v1/content/{content_id}/access", self._access),
            ("POST", "playback"): ("/api/v1/content/{content_id}/playback", self._playback),
            ("PUT", "progress"): ("/api/v1/content/{content_id}/progress", self._progress),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        found = _ROUTE.fullmatch(scope["path"])
        route = self._routes.get((scope["method"], found[2] or "")) if found else None
        if found is None or route is None:
            await self._app(scope, receive, send)
            return
        body, received = await _read_body(receive)
        template, answer = route
        state = scope.setdefault("state", {})
        request_id = state["request_id"] = request_id_for(scope)
        context = request_state_var.set(state)
        started = time.perf_counter()
        running = self._meter.in_progress(scope["method"], template) if self._meter else None
        if running is not None:
            running.inc()
        seconds = 0.0  # until the body goes, as Litestar's count has it
        try:
            answered: Answer | None = None
            try:
                if body is not None:
                    answered = await answer(_Sent(
                        item=UUID(found[1]) if found[1] else None,
                        token=_token(scope["headers"]), query=scope["query_string"],
                        body=body))
            except Exception:
                answered = None
            finally:
                request_state_var.reset(context)
            if answered is None:
                # Nothing was sent yet: Litestar answers (and counts), problem+json included.
                if running is not None:
                    running.dec()
                    running = None
                await self._app(scope, _replay(received, receive), send)
                return
            content, headers = answered
            headers.append((b"content-length", str(len(content)).encode()))
            start: Message = {"type": "http.response.start", "status": 200, "headers": headers}
            await self._before_send(start, scope)
            headers.append((b"x-request-id", request_id.encode()))
            await send(start)
            seconds = time.perf_counter() - started
            await send({"type": "http.response.body", "body": content, "more_body": False})
        finally:
            if self._meter is not None and running is not None:
                running.dec()
                self._meter.finish(scope["method"], template, 200, seconds)
        if self._access_log:
            scope["path_template"] = template
            log_access(scope, state, 200, started)

    async def _catalog_page(self, sent: _Sent) -> Answer:
        if sent.body:
            raise _Declined
        page = await self._patronage.handle_on_loop(_browse(_query(sent.query)))
        return encode_json(page_out(page)), [_JSON]

    async def _access(self, sent: _Sent) -> Answer:
        if sent.query or sent.item is None:
            raise _Declined
        view = await self._patronage.handle_on_loop(CheckAccess(content_id=sent.item,
                                                                token=sent.token))
        return encode_json(access_out(view)), [_JSON]

    async def _playback(self, sent: _Sent) -> Answer:
        # The route reads no body; Litestar's input guard still checks one.
        if sent.query or sent.body or sent.item is None:
            raise _Declined
        result = await self._patronage.handle_on_loop(
            RequestPlayback(content_id=sent.item, token=sent.token))
        return encode_json(playback_out(result)), [_JSON, _PRIVATE]

    async def _progress(self, sent: _Sent) -> Answer:
        if sent.query or sent.token is None or sent.item is None:
            raise _Declined
        # Strictly decoded: what passes here, Litestar's laxer decoding reads the same way.
        body = msgspec.json.decode(sent.body, type=ProgressBody, strict=True)
        view = await self._patronage.handle_on_loop(RecordProgress(
            content_id=sent.item, position_seconds=body.position_seconds, token=sent.token))
        return encode_json(progress_out(view)), [_JSON]


# The catalog route's parameters as the layer takes them: plain characters only (nothing
# percent-encoded), each name once, each value within the route's own bounds; anything
# else is Litestar's to read, refuse or explain.
_PLAIN = re.compile(rb"[A-Za-z0-9_.~-]+")
_LONGEST = {**LONGEST_QUERY, "content_type": max(len(t.value) for t in ContentType),
            "series_id": 36, "price": max(map(len, PRICES)), "sort": max(map(len, SORTS)),
            "limit": len(str(MOST_A_PAGE))}


def _query(raw: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in raw.split(b"&") if raw else ():
        name, equals, value = pair.partition(b"=")
        if not (equals and _PLAIN.fullmatch(name) and _PLAIN.fullmatch(value)):
            raise _Declined
        key = name.decode()
        if key in found or len(value) > _LONGEST.get(key, 0):
            raise _Declined
        found[key] = value.decode()
    return found


def _browse(found: dict[str, str]) -> BrowseCatalog:
    limit = found.get("limit", "20")
    series = found.get("series_id")
    if (not limit.isdigit() or not 1 <= int(limit) <= MOST_A_PAGE
            or found.get("price", PRICES[0]) not in PRICES
            or found.get("sort", SORTS[0]) not in SORTS
            or (series is not None and not _AN_ID.fullmatch(series))):
        raise _Declined
    kind = found.get("content_type")
    return BrowseCatalog(
        category=found.get("category"), tag=found.get("tag"),
        content_type=ContentType(kind) if kind is not None else None,
        series_id=UUID(series) if series is not None else None,
        price=found.get("price"), search=found.get("q"), sort=found.get("sort"),
        cursor=found.get("cursor"), limit=int(limit))


def _token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The bearer token as `optional_token` reads it; an `Origin` (a CORS request), a
    second Authorization header or one that is not a bearer token goes to Litestar."""
    token: str | None = None
    for name, value in headers:
        if name == b"authorization":
            if token is not None:
                raise _Declined
            token = bearer_of(value.decode("latin-1"))
            if token is None:
                raise _Declined
        elif name == b"origin" or (name == b"content-type" and value != _JSON[1]):
            raise _Declined
    return token


async def _read_body(receive: Receive) -> tuple[bytes | None, list[ReceiveMessage]]:
    """The request body and the messages it came in, to replay; None for a body past
    the layer's small limit or a client that went away (Litestar deals with both)."""
    received: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return None, received
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > _BODY_LIMIT:
            return None, received
        if not message.get("more_body", False):
            return b"".join(chunks), received


def _replay(received: list[ReceiveMessage], receive: Receive) -> Receive:
    pending = list(received)

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def hot_routes(app: ASGIApp, patronage: Patronage, *,
               before_send: Callable[[Message, Scope], Awaitable[None]],
               access_log: bool, metrics: bool) -> ASGIApp:
    """``app`` behind the hot routes' layer, where it applies (see the module)."""
    if not patronage.serves_inline:
        return app
    meter = None
    if metrics:
        from entrypoints.http.metrics import RequestMetrics  # prometheus-client, when on

        meter = RequestMetrics(None)
    return HotRoutes(app, patronage, before_send=before_send, access_log=access_log,
                     meter=meter)
