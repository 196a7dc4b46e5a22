"""/media: upload and download routes of the local storage adapter (embedded default).

Only mounted when media lives on the local disk. Every request carries an HMAC
token made by the storage adapter; expired or tampered tokens get 403.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from litestar import Request, Response, get, put
from litestar.params import FromPath
from litestar.response import Stream

from adapters.local_storage.storage import (
    AlreadyUploaded,
    InvalidMediaToken,
    LocalMediaStorage,
)
from application.ports.media import MediaStorageError
from domain.errors import Conflict, Forbidden, ValidationError
from entrypoints.http.dependencies import App
from entrypoints.http.guard import RAW_BODY

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_UPLOAD_CAP = 50 * 1024**3
_FLUSH_BYTES = 1024 * 1024


def _storage(patronage: App) -> LocalMediaStorage:
    storage = patronage.services.media
    if not isinstance(storage, LocalMediaStorage):  # pragma: no cover - not mounted then
        raise Forbidden("Media is not served by this app.", code="media.not_local")
    return storage


def _grant(storage: LocalMediaStorage, token: str, purpose: str, patronage: App) -> Any:
    try:
        return storage.verify(token, purpose, patronage.services.clock.now())
    except InvalidMediaToken as exc:
        raise Forbidden(
            "This media link is invalid or has expired.", code="media.invalid_link"
        ) from exc


@put(
    "/media/upload/{token:str}",
    status_code=200,
    request_max_body_size=_UPLOAD_CAP,
    include_in_schema=False,
    opt={RAW_BODY: True},
)
async def upload(
    token: FromPath[str], request: Request[Any, Any, Any], patronage: App
) -> dict[str, Any]:
    storage = _storage(patronage)
    grant = _grant(storage, token, "put", patronage)
    sent_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if sent_type != grant.content_type:
        raise ValidationError(
            "Content-Type differs from the one the upload was signed for.",
            code="media.type_mismatch",
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != grant.size:
        raise ValidationError(
            "Content-Length differs from the size the upload was signed for.",
            code="media.size_mismatch",
        )
    if storage.stat(grant.key) is not None:
        raise Conflict("This upload link was used already; ask for a new one.",
                       code="media.already_uploaded")
    # Straight to disk as the bytes arrive, a bounded buffer at a time, off the event loop.
    sink = await anyio.to_thread.run_sync(
        lambda: storage.sink(grant.key, content_type=sent_type, size=grant.size,
                             exclusive=True))
    try:
        buffered: list[bytes] = []
        pending = 0
        async for chunk in request.stream():
            buffered.append(chunk)
            pending += len(chunk)
            if pending >= _FLUSH_BYTES:
                data = b"".join(buffered)
                buffered, pending = [], 0
                await anyio.to_thread.run_sync(sink.write, data)
        if buffered:
            await anyio.to_thread.run_sync(sink.write, b"".join(buffered))
        written = await anyio.to_thread.run_sync(sink.finish)
    except AlreadyUploaded as exc:
        raise Conflict("This upload link was used already; ask for a new one.",
                       code="media.already_uploaded") from exc
    except MediaStorageError as exc:
        await anyio.to_thread.run_sync(sink.abort)
        raise ValidationError(str(exc), code="media.size_mismatch") from exc
    except BaseException:
        await anyio.to_thread.run_sync(sink.abort)
        raise
    return {"key": grant.key, "size": written}


@get("/media/{token:str}", include_in_schema=False)
async def download(
    token: FromPath[str], request: Request[Any, Any, Any], patronage: App
) -> Response[Any]:
    storage = _storage(patronage)
    grant = _grant(storage, token, "get", patronage)
    stored = storage.stat(grant.key)
    if stored is None:
        raise Forbidden("This media link is invalid or has expired.", code="media.invalid_link")
    total = stored.size
    start, end, status = 0, total - 1, 200
    range_header = request.headers.get("range")
    if range_header:
        match = _RANGE.match(range_header.strip())
        if match is None or match.group(1) == match.group(2) == "":
            return Response(b"", status_code=416, headers={"Content-Range": f"bytes */{total}"})
        first, last = match.groups()
        if first == "":
            start, end = max(0, total - int(last)), total - 1
        else:
            start = int(first)
            end = min(int(last), total - 1) if last else total - 1
        if start >= total or start > end:
            return Response(b"", status_code=416, headers={"Content-Range": f"bytes */{total}"})
        status = 206
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(end - start + 1),
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{grant.filename or "media"}"',
    }
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"

    async def body() -> AsyncIterator[bytes]:
        iterator: Iterator[bytes] = storage.open_range(grant.key, start, end)
        while True:
            block = await anyio.to_thread.run_sync(next, iterator, None)
            if block is None:
                return
            yield block

    return Stream(
        body(),
        status_code=status,
        headers=headers,
        media_type=stored.content_type or "application/octet-stream",
    )
