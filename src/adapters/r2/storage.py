"""Private media objects on Cloudflare R2 through its S3 API: signed, scoped, expiring URLs."""

from __future__ import annotations

import unicodedata
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import boto3
import boto3.exceptions
import botocore.config
import botocore.exceptions

from application.ports.media import MediaStorageError, StoredObject, UploadTarget

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_s3 import S3Client

# SigV4 presigned URLs cannot outlive seven days; R2 enforces the same bound.
_MAX_EXPIRY_SECONDS = 7 * 24 * 3600
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "Not Found"})
_NO_BUCKET = frozenset({"NoSuchBucket"})
_SDK_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
               boto3.exceptions.Boto3Error)
# Kept in a download filename; everything else is dropped (quotes, backslashes, ';', '%', ...).
_FILENAME_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ._-()[]+,&!~'@#"
)
_FILENAME_MAX = 150


def _default_client(
    endpoint_url: str, access_key_id: str, secret_access_key: str, region: str
) -> S3Client:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
        config=botocore.config.Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: botocore.exceptions.ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _fail(operation: str, exc: Exception) -> NoReturn:
    # Botocore messages name the operation, endpoint and error code, never the credentials.
    if isinstance(exc, botocore.exceptions.ClientError):
        detail = f"{_error_code(exc) or 'error'} (HTTP {_http_status(exc)})"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    raise MediaStorageError(f"R2 {operation} failed: {detail}") from exc


def _expiry_seconds(expires_in: timedelta) -> int:
    seconds = int(expires_in.total_seconds())
    if not 1 <= seconds <= _MAX_EXPIRY_SECONDS:
        raise ValueError(f"expires_in must be between 1 second and 7 days, got {expires_in}")
    return seconds


def safe_filename(name: str) -> str:
    """An ASCII filename safe inside ``filename="..."``; accents are folded, the rest dropped."""
    decomposed = unicodedata.normalize("NFKD", name)
    chars = []
    for ch in decomposed:
        if ch in _FILENAME_CHARS:
            chars.append(ch)
        elif ch.isspace() or unicodedata.category(ch).startswith("C"):
            chars.append(" ")
    cleaned = " ".join("".join(chars).split()).strip(" .")
    if len(cleaned) > _FILENAME_MAX:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and stem and len(ext) <= 10:
            cleaned = stem[: _FILENAME_MAX - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            cleaned = cleaned[:_FILENAME_MAX].rstrip(" .")
    return cleaned or "media"


def _check_header_value(name: str, value: str) -> str:
    if any(unicodedata.category(ch).startswith("C") for ch in value) or not value.isascii():
        raise ValueError(f"{name} must be printable ASCII")
    return value


class R2MediaStorage:
    """Objects stay private; clients only ever get presigned URLs that expire."""

    name = "r2"

    def __init__(
        self,
        *,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        bucket: str,
        region: str = "auto",
        client: S3Client | None = None,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._bucket = bucket
        # The secret lives only inside the client's credential provider, never on this object.
        self._client = client if client is not None else _default_client(
            endpoint_url, access_key_id, secret_access_key, region
        )

    def __repr__(self) -> str:
        return f"R2MediaStorage(endpoint_url={self._endpoint_url!r}, bucket={self._bucket!r})"

    def create_upload(
        self, key: str, *, content_type: str, size: int, expires_in: timedelta, now: datetime
    ) -> UploadTarget:
        if size < 0:
            raise ValueError("size must not be negative")
        _check_header_value("content_type", content_type)
        # Why a signed PUT and not a POST policy: R2 does not support presigned POST, so there is
        # no content-length-range condition. Signing Content-Length makes the URL valid for
        # exactly ``size`` bytes, and the confirm step stats the object and checks it again.
        try:
            url = self._client.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ContentType": content_type,
                    "ContentLength": size,
                },
                ExpiresIn=_expiry_seconds(expires_in),
                HttpMethod="PUT",
            )
        except _SDK_ERRORS as exc:
            _fail("presign upload", exc)
        return UploadTarget(
            url=url,
            method="PUT",
            headers={"Content-Type": content_type, "Content-Length": str(size)},
            expires_at=now + expires_in,
        )

    def stat(self, key: str) -> StoredObject | None:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            code = _error_code(exc)
            if code in _NO_BUCKET:
                _fail("stat", exc)
            if code in _NOT_FOUND or _http_status(exc) == 404:
                # A HEAD response has no body, so a missing bucket also looks like a bare 404.
                # Only on this (rare) path, ask about the bucket: a missing one is misconfiguration.
                self._require_bucket()
                return None
            _fail("stat", exc)
        except _SDK_ERRORS as exc:
            _fail("stat", exc)
        return StoredObject(
            size=int(head["ContentLength"]), content_type=head.get("ContentType") or None
        )

    def _require_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except botocore.exceptions.ClientError as exc:
            code = _error_code(exc)
            if code in _NO_BUCKET or code in _NOT_FOUND or _http_status(exc) == 404:
                raise MediaStorageError(
                    f"R2 bucket {self._bucket!r} does not exist at {self._endpoint_url}"
                ) from exc
            # Anything else (e.g. a token scoped to objects may not HeadBucket): the key lookup
            # already answered, so the object is simply absent.
        except _SDK_ERRORS as exc:
            _fail("stat", exc)

    def anonymous_read_status(self) -> int:
        """Operators' check that the bucket is private: writes a probe object, asks for it
        without credentials, deletes it, and returns the HTTP status of that anonymous
        read (403 for a private bucket; 200 means anyone can read the media)."""
        key = f"_doctor/{uuid.uuid4().hex}.txt"
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=b"patronage doctor",
                                    ContentType="text/plain")
        except _SDK_ERRORS as exc:
            _fail("probe upload", exc)
        url = f"{self._endpoint_url.rstrip('/')}/{quote(self._bucket)}/{quote(key)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our endpoint
                return int(response.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)
        except OSError as exc:
            _fail("anonymous read", exc)
        finally:
            self.delete(key)

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except _SDK_ERRORS as exc:
            _fail("delete", exc)

    def playback_url(
        self,
        key: str,
        *,
        expires_in: timedelta,
        now: datetime,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        params: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "ResponseCacheControl": "private, no-store",
        }
        if filename is not None:
            params["ResponseContentDisposition"] = f'inline; filename="{safe_filename(filename)}"'
        if content_type is not None:
            params["ResponseContentType"] = _check_header_value("content_type", content_type)
        try:
            return str(
                self._client.generate_presigned_url(
                    "get_object", Params=params, ExpiresIn=_expiry_seconds(expires_in),
                    HttpMethod="GET",
                )
            )
        except _SDK_ERRORS as exc:
            _fail("presign playback", exc)

    def upload_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        _check_header_value("content_type", content_type)
        try:
            self._client.upload_file(
                str(path), self._bucket, key,
                ExtraArgs={"ContentType": content_type}, Callback=progress,
            )
        except _SDK_ERRORS as exc:
            _fail("upload", exc)
