"""The media storage port: private objects, short-lived signed URLs, verified uploads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import attrs


@attrs.frozen(repr=False)
class UploadTarget:
    """Where and how a client uploads one object: a single signed PUT."""

    url: str
    method: str
    headers: Mapping[str, str]
    expires_at: datetime

    def __repr__(self) -> str:
        # The URL is a credential until it expires.
        return f"UploadTarget(method={self.method!r}, expires_at={self.expires_at!r})"


@attrs.frozen
class StoredObject:
    size: int
    content_type: str | None


class MediaStorageError(Exception):
    """The storage service failed or refused; retryable from the caller's point of view."""


class MediaStorage(Protocol):
    """Objects are private. URLs handed out are signed, scoped and expire."""

    name: str

    def create_upload(
        self, key: str, *, content_type: str, size: int, expires_in: timedelta, now: datetime
    ) -> UploadTarget:
        """A URL that accepts exactly one PUT of ``size`` bytes of ``content_type`` at ``key``."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size and type of the stored object, or None if nothing is there."""
        ...

    def delete(self, key: str) -> None: ...

    def playback_url(
        self,
        key: str,
        *,
        expires_in: timedelta,
        now: datetime,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A signed GET URL (Range supported) valid for ``expires_in``; never a permanent URL."""
        ...

    def upload_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Server-side upload of a local file (operator imports); ``progress`` gets byte counts."""
        ...
