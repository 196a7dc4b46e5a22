"""Local media storage: the embedded default's stand-in for R2.

Objects live under one folder. Clients never see a path: uploads and downloads go
through the app with an HMAC-signed token that names the key, the purpose, the
expiry and (for uploads) the exact type and size. A token that was tampered with
or has expired is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import attrs

from application.ports.media import MediaStorageError, StoredObject, UploadTarget

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,400}$")
CHUNK = 256 * 1024


class InvalidMediaToken(Exception):
    """The token is malformed, forged, for another purpose, or expired."""


@attrs.frozen
class MediaGrant:
    key: str
    purpose: str
    expires: int
    content_type: str | None = None
    size: int | None = None
    filename: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalMediaStorage:
    name = "local"

    def __init__(self, root: Path, base_url: str, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the media signing secret must be at least 32 bytes")
        self._root = root
        self._base_url = base_url.rstrip("/")
        self._secret = secret

    def __repr__(self) -> str:
        return f"LocalMediaStorage(root={str(self._root)!r})"

    # -- tokens -----------------------------------------------------------------

    def _sign(self, grant: MediaGrant) -> str:
        payload = _b64(json.dumps(attrs.asdict(grant), separators=(",", ":")).encode())
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return f"{payload}.{_b64(mac)}"

    def verify(self, token: str, purpose: str, now: datetime) -> MediaGrant:
        payload, _, signature = token.partition(".")
        try:
            expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise InvalidMediaToken("bad signature")
            grant = MediaGrant(**json.loads(_unb64(payload)))
        except (ValueError, TypeError) as exc:
            raise InvalidMediaToken("malformed token") from exc
        if grant.purpose != purpose:
            raise InvalidMediaToken("token for another purpose")
        if now.timestamp() >= grant.expires:
            raise InvalidMediaToken("expired")
        self._path(grant.key)
        return grant

    # -- paths ------------------------------------------------------------------

    @staticmethod
    def _check_key(key: str) -> None:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise InvalidMediaToken("bad key")

    def _path(self, key: str) -> Path:
        self._check_key(key)
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root.resolve()):
            raise InvalidMediaToken("bad key")
        return path

    def _meta(self, key: str) -> Path:
        return self._path(key).with_name(self._path(key).name + ".meta.json")

    # -- the port -----------------------------------------------------------------

    def create_upload(self, key: str, *, content_type: str, size: int,
                      expires_in: timedelta, now: datetime) -> UploadTarget:
        self._path(key)
        expires = now + expires_in
        token = self._sign(MediaGrant(key=key, purpose="put", expires=int(expires.timestamp()),
                                      content_type=content_type, size=size))
        return UploadTarget(url=f"{self._base_url}/media/upload/{token}", method="PUT",
                            headers={"Content-Type": content_type}, expires_at=expires)

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        content_type = None
        meta = self._meta(key)
        if meta.is_file():
            content_type = json.loads(meta.read_text()).get("content_type")
        return StoredObject(size=path.stat().st_size, content_type=content_type)

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._meta(key)):
            path.unlink(missing_ok=True)

    def playback_url(self, key: str, *, expires_in: timedelta, now: datetime,
                     filename: str | None = None, content_type: str | None = None) -> str:
        # Only the key's form here: this runs on every playback, and the file system
        # is asked (symlinks resolved, the root enforced) when the URL is used.
        self._check_key(key)
        grant = MediaGrant(key=key, purpose="get",
                           expires=int((now + expires_in).timestamp()),
                           content_type=content_type, filename=filename)
        return f"{self._base_url}/media/{self._sign(grant)}"

    def upload_file(self, key: str, path: Path, *, content_type: str,
                    progress: Callable[[int], None] | None = None) -> None:
        def chunks() -> Iterator[bytes]:
            with path.open("rb") as source:
                while block := source.read(CHUNK):
                    if progress is not None:
                        progress(len(block))
                    yield block

        self.write(key, chunks(), content_type=content_type, size=path.stat().st_size)

    # -- used by the app's media routes ---------------------------------------------

    def sink(self, key: str, *, content_type: str, size: int | None,
             exclusive: bool = False) -> UploadSink:
        """Where an upload's bytes go as they arrive (see `UploadSink`)."""
        return UploadSink(self._path(key), self._meta(key), content_type=content_type,
                          size=size, exclusive=exclusive)

    def write(self, key: str, chunks: Iterator[bytes], *, content_type: str,
              size: int | None) -> int:
        """Write atomically; refuse (and leave nothing) if more than ``size`` bytes come."""
        sink = self.sink(key, content_type=content_type, size=size)
        try:
            for block in chunks:
                sink.write(block)
            return sink.finish()
        except BaseException:
            sink.abort()
            raise

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` inclusive, in chunks."""
        path = self._path(key)
        with path.open("rb") as source:
            source.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                block = source.read(min(CHUNK, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block


class AlreadyUploaded(MediaStorageError):
    """The object exists: an upload URL is good for one upload."""


class UploadSink:
    """An upload written to disk chunk by chunk: memory stays at one chunk whatever the
    size. Nothing is visible until `finish`, which either publishes the whole file or
    (with ``exclusive``) refuses when the object already exists: one upload per URL,
    even with two servers sharing the media folder.
    """

    def __init__(self, target: Path, meta: Path, *, content_type: str, size: int | None,
                 exclusive: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self._target, self._meta = target, meta
        self._content_type, self._size, self._exclusive = content_type, size, exclusive
        self._tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        self._out = self._tmp.open("wb")
        self.written = 0

    def write(self, block: bytes) -> None:
        self.written += len(block)
        if self._size is not None and self.written > self._size:
            raise MediaStorageError("more bytes than the upload allows")
        self._out.write(block)

    def finish(self) -> int:
        self._out.close()
        if self._size is not None and self.written != self._size:
            self.abort()
            raise MediaStorageError("fewer bytes than the upload declared")
        # The type is in place before the object appears, so no reader sees one without
        # it. Racing uploads through one URL were signed for the same type: rewriting it
        # is harmless.
        meta_tmp = self._tmp.with_suffix(".meta")
        meta_tmp.write_text(json.dumps({"content_type": self._content_type}))
        meta_tmp.replace(self._meta)
        try:
            if self._exclusive:
                # link() fails if the name exists: of two racing uploads, one wins.
                os.link(self._tmp, self._target)
            else:
                self._tmp.replace(self._target)
        except FileExistsError:
            self.abort()
            raise AlreadyUploaded("already uploaded") from None
        self._tmp.unlink(missing_ok=True)
        return self.written

    def abort(self) -> None:
        self._out.close()
        self._tmp.unlink(missing_ok=True)
