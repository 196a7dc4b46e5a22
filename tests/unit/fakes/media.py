"""The in-memory media storage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from application.ports.media import StoredObject, UploadTarget


class FakeStorage:
    name = "fake"

    def __init__(self) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.signed: list[str] = []

    def create_upload(self, key: str, *, content_type: str, size: int, expires_in: timedelta,
                      now: datetime) -> UploadTarget:
        return UploadTarget(url=f"fake://upload/{key}", method="PUT",
                            headers={"Content-Type": content_type}, expires_at=now + expires_in)

    def stat(self, key: str) -> StoredObject | None:
        return self.objects.get(key)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def playback_url(self, key: str, *, expires_in: timedelta, now: datetime,
                     filename: str | None = None, content_type: str | None = None) -> str:
        url = f"fake://get/{key}?expires={int((now + expires_in).timestamp())}"
        self.signed.append(url)
        return url

    def upload_file(self, key: str, path: Path, *, content_type: str,
                    progress: Callable[[int], None] | None = None) -> None:
        self.objects[key] = StoredObject(size=path.stat().st_size, content_type=content_type)
