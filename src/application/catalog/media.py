"""Media files: signed uploads confirmed against storage, signed playback URLs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from application.catalog.authoring import owned_item
from application.catalog.entitlements import record_use, resolve
from application.messagebus import SingleStatementWrites
from application.ports.media import UploadTarget
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.catalog.rules import ContentType
from domain.errors import Forbidden, NotFound, Unauthenticated, ValidationError

# What a browser may upload for each kind of item.
ALLOWED_TYPES: dict[ContentType, tuple[str, ...]] = {
    ContentType.VIDEO: ("video/mp4", "video/webm", "video/quicktime", "application/x-mpegurl"),
    ContentType.AUDIO: ("audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/wav",
                        "audio/webm", "audio/flac"),
}
_EXTENSIONS = {
    "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov",
    "application/x-mpegurl": "m3u8", "audio/mpeg": "mp3", "audio/mp4": "m4a",
    "audio/aac": "aac", "audio/ogg": "ogg", "audio/wav": "wav", "audio/webm": "weba",
    "audio/flac": "flac",
}
_KEY = re.compile(r"^content/[0-9a-f-]{36}/[0-9a-f-]{36}\.[a-z0-9]{2,5}$")


@attrs.frozen
class UploadTicket:
    key: str
    target: UploadTarget


@attrs.frozen
class StartMediaUpload:
    actor: Principal
    content_id: UUID
    content_type: str
    size: int


def start_media_upload(cmd: StartMediaUpload, uow: UnitOfWork, services: Services
                       ) -> UploadTicket:
    item = owned_item(uow, cmd.actor, cmd.content_id)
    mime = cmd.content_type.lower().strip()
    if mime not in ALLOWED_TYPES.get(item.content_type, ()):
        raise ValidationError(
            f"A {item.content_type.value} item takes "
            f"{', '.join(ALLOWED_TYPES.get(item.content_type, ())) or 'no media file'}.",
            code="media.type_not_allowed", field="content_type")
    limit = services.config.max_upload_bytes
    if not 0 < cmd.size <= limit:
        raise ValidationError(f"Files must be between 1 byte and {limit} bytes.",
                              code="media.too_large", field="size")
    key = f"content/{item.id}/{services.ids.new_id()}.{_EXTENSIONS[mime]}"
    now = services.clock.now()
    target = services.media.create_upload(key, content_type=mime, size=cmd.size,
                                          expires_in=services.config.upload_ttl, now=now)
    return UploadTicket(key=key, target=target)


@attrs.frozen
class ConfirmMediaUpload:
    actor: Principal
    content_id: UUID
    key: str
    duration_seconds: int


def confirm_media_upload(cmd: ConfirmMediaUpload, uow: UnitOfWork, services: Services) -> None:
    """Attach an uploaded file after checking the object really is in storage."""
    item = owned_item(uow, cmd.actor, cmd.content_id)
    if not _KEY.match(cmd.key) or not cmd.key.startswith(f"content/{item.id}/"):
        raise ValidationError("That upload does not belong to this item.",
                              code="media.foreign_key", field="key")
    stored = services.media.stat(cmd.key)
    if stored is None:
        raise ValidationError("Nothing was uploaded under that key.",
                              code="media.upload_missing", field="key")
    allowed = ALLOWED_TYPES.get(item.content_type, ())
    if stored.size > services.config.max_upload_bytes or (
        (stored.content_type or "").split(";")[0].strip().lower() not in allowed
    ):
        services.media.delete(cmd.key)
        raise ValidationError("The uploaded file is not an accepted media file.",
                              code="media.upload_rejected", field="key")
    previous = item.media_key
    item.attach_media(cmd.key, cmd.duration_seconds, services.clock.now())
    uow.commit()
    if previous and previous != cmd.key:
        services.media.delete(previous)


@attrs.frozen
class PlaybackUrl:
    url: str
    expires_at: datetime


@attrs.frozen(repr=False)
class RequestPlayback(SingleStatementWrites):
    content_id: UUID
    token: str | None = None

    def __repr__(self) -> str:
        return f"RequestPlayback(content_id={self.content_id})"


def request_playback(cmd: RequestPlayback, uow: UnitOfWork, services: Services) -> PlaybackUrl:
    """A short-lived signed URL, issued only after the entitlement check allows it."""
    found = resolve(uow, services, token=cmd.token, content_ids=[cmd.content_id]).one()
    if found is None or found[1].hides_existence:
        raise NotFound("No such content item.", code="content.not_found")
    row, decision = found
    if not decision.allowed:
        if decision.reason.value == "sign_in_required":
            raise Unauthenticated("Sign in to watch this.", code="access.sign_in_required")
        raise Forbidden("You do not have access to this item.",
                        code=f"access.{decision.reason.value}",
                        details={"reason": decision.reason.value})
    if not row.media_key:
        raise NotFound("This item has no media file.", code="content.no_media")
    now = services.clock.now()
    ttl: timedelta = services.config.playback_ttl
    url = services.media.playback_url(row.media_key, expires_in=ttl, now=now,
                                      filename=row.slug)
    if record_use(uow, services, decision):
        uow.commit()
    return PlaybackUrl(url=url, expires_at=now + ttl)
