"""The R2 media storage adapter against a real S3 server (moto_server over HTTP)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import botocore.config
import httpx
import pytest
from moto.server import ThreadedMotoServer

from adapters.r2.storage import R2MediaStorage
from application.ports.media import MediaStorageError
from tests.integration.conftest import free_port

ACCESS_KEY = "test"
# Distinctive so that "the secret never appears" is a meaningful check (moto accepts any secret).
SECRET = "r2-s3cr3t-DO-NOT-LEAK-7f3a9c"
BUCKET = "patronage-media"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # Moto refuses CreateBucket from region "auto", so the bucket is made as an admin would.
    admin = boto3.session.Session().client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET, region_name="us-east-1",
    )
    admin.create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture
def storage(endpoint: str) -> R2MediaStorage:
    return R2MediaStorage(
        endpoint_url=endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET, bucket=BUCKET
    )


def new_key(suffix: str = "bin") -> str:
    return f"media/{uuid.uuid4().hex}.{suffix}"


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def assert_secret_absent(text: str) -> None:
    assert SECRET not in text
    assert quote(SECRET, safe="") not in text


def put_via_presigned(storage: R2MediaStorage, key: str, data: bytes, content_type: str) -> None:
    target = storage.create_upload(
        key, content_type=content_type, size=len(data), expires_in=timedelta(minutes=10), now=NOW
    )
    response = httpx.put(target.url, content=data, headers=dict(target.headers))
    assert response.status_code == 200, response.text


# --- presigned upload ---------------------------------------------------------------------


def test_presigned_put_uploads_and_stat_reports_size_and_type(storage: R2MediaStorage) -> None:
    key = new_key("mp4")
    data = os.urandom(4096)

    target = storage.create_upload(
        key, content_type="video/mp4", size=len(data), expires_in=timedelta(minutes=10), now=NOW
    )
    assert target.method == "PUT"
    assert target.headers == {"Content-Type": "video/mp4", "Content-Length": str(len(data))}
    assert target.expires_at == NOW + timedelta(minutes=10)

    response = httpx.put(target.url, content=data, headers=dict(target.headers))
    assert response.status_code == 200, response.text

    stored = storage.stat(key)
    assert stored is not None
    assert stored.size == len(data)
    assert stored.content_type == "video/mp4"


def test_stat_of_a_key_never_uploaded_is_none(storage: R2MediaStorage) -> None:
    assert storage.stat(new_key()) is None


def test_presigned_put_url_is_scoped_to_bucket_key_type_length_and_time(
    storage: R2MediaStorage, endpoint: str
) -> None:
    key = new_key("mp4")
    target = storage.create_upload(
        key, content_type="video/mp4", size=1234, expires_in=timedelta(seconds=900), now=NOW
    )
    parts = urlsplit(target.url)
    params = query(target.url)

    assert f"{parts.scheme}://{parts.netloc}" == endpoint
    assert parts.path == f"/{BUCKET}/{key}"  # path-style addressing
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-Expires"] == "900"
    assert params["X-Amz-Credential"].startswith(f"{ACCESS_KEY}/")
    assert "X-Amz-Signature" in params
    # Botocore signs both headers when ContentLength is a parameter: R2 refuses any other size.
    assert params["X-Amz-SignedHeaders"].split(";") == ["content-length", "content-type", "host"]
    assert_secret_absent(target.url)
    assert_secret_absent(repr(target))
    assert target.url not in repr(target)


def test_an_upload_of_another_size_never_passes_as_the_requested_one(
    storage: R2MediaStorage,
) -> None:
    key = new_key()
    target = storage.create_upload(
        key, content_type="video/mp4", size=100, expires_in=timedelta(minutes=10), now=NOW
    )
    response = httpx.put(target.url, content=b"x" * 50, headers={"Content-Type": "video/mp4"})
    # R2 rejects this by signature; moto does not verify signatures and stores it. Either way,
    # what stat reports (and the confirm step checks) is the real size, never the signed one.
    stored = storage.stat(key)
    if response.status_code == 200:
        assert stored is not None
        assert stored.size == 50
    else:
        assert stored is None


def test_expiry_outside_what_sigv4_allows_is_refused(storage: R2MediaStorage) -> None:
    with pytest.raises(ValueError):
        storage.create_upload(
            new_key(), content_type="video/mp4", size=1, expires_in=timedelta(days=8), now=NOW
        )
    with pytest.raises(ValueError):
        storage.playback_url(new_key(), expires_in=timedelta(0), now=NOW)


# --- playback -----------------------------------------------------------------------------


def test_playback_url_serves_the_bytes_and_ranges(storage: R2MediaStorage) -> None:
    key = new_key("mp4")
    data = os.urandom(64)
    put_via_presigned(storage, key, data, "video/mp4")

    url = storage.playback_url(key, expires_in=timedelta(minutes=5), now=NOW)

    full = httpx.get(url)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["cache-control"] == "private, no-store"

    ranged = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == data[10:20]
    assert ranged.headers["content-range"] == f"bytes 10-19/{len(data)}"


def test_playback_url_is_signed_expiring_and_never_the_permanent_url(
    storage: R2MediaStorage, endpoint: str
) -> None:
    key = new_key("mp4")
    put_via_presigned(storage, key, b"0123456789" * 3, "video/mp4")
    permanent = f"{endpoint}/{BUCKET}/{key}"

    url = storage.playback_url(
        key, expires_in=timedelta(seconds=300), now=NOW,
        filename="Episode 1.mp4", content_type="video/mp4",
    )
    params = query(url)

    # Moto verifies neither signatures nor expiry, so the scoping is asserted on the URL itself.
    assert params["X-Amz-Expires"] == "300"
    assert "X-Amz-Signature" in params
    assert params["response-content-disposition"] == 'inline; filename="Episode 1.mp4"'
    assert params["response-content-type"] == "video/mp4"
    assert params["response-cache-control"] == "private, no-store"
    assert url != permanent
    assert url.split("?", 1)[0] == permanent
    assert_secret_absent(url)

    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'inline; filename="Episode 1.mp4"'
    assert response.headers["content-type"] == "video/mp4"


def test_playback_url_without_filename_carries_no_disposition(storage: R2MediaStorage) -> None:
    url = storage.playback_url(new_key(), expires_in=timedelta(seconds=60), now=NOW)
    params = query(url)
    assert "response-content-disposition" not in params
    assert "response-content-type" not in params
    assert params["X-Amz-Expires"] == "60"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ('My "best"\nclip \u2014 caf\u00e9 \u00fcn\u00efc\u00f6d\u00e9 \u65e5\u672c.mp4',
         "My best clip cafe unicode .mp4"),
        ('evil.mp4"; filename*=UTF-8\'\'x.exe\r\nX-Injected: 1',
         "evil.mp4 filenameUTF-8''x.exe X-Injected 1"),
        ("\u65e5\u672c\u8a9e", "media"),
        ('""\n\t', "media"),
        ("../../etc/passwd", "etcpasswd"),
    ],
)
def test_filename_becomes_a_safe_ascii_disposition(
    storage: R2MediaStorage, filename: str, expected: str
) -> None:
    key = new_key("mp4")
    put_via_presigned(storage, key, b"abc", "video/mp4")

    url = storage.playback_url(key, expires_in=timedelta(minutes=1), now=NOW, filename=filename)
    disposition = query(url)["response-content-disposition"]

    assert disposition == f'inline; filename="{expected}"'
    assert disposition.isascii()
    assert disposition.count('"') == 2
    assert not any(ch in disposition for ch in "\r\n\t\\")
    # And the server sends it back as one well-formed header.
    assert httpx.get(url).headers["content-disposition"] == disposition


# --- server-side upload, delete -----------------------------------------------------------


def test_upload_file_stores_the_file_and_reports_progress(
    storage: R2MediaStorage, tmp_path: Path
) -> None:
    size = 300 * 1024
    path = tmp_path / "import.mp4"
    path.write_bytes(os.urandom(size))
    increments: list[int] = []
    lock = threading.Lock()

    def progress(amount: int) -> None:
        with lock:  # s3transfer may call back from worker threads
            increments.append(amount)

    key = new_key("mp4")
    storage.upload_file(key, path, content_type="video/mp4", progress=progress)

    stored = storage.stat(key)
    assert stored is not None
    assert stored.size == size
    assert stored.content_type == "video/mp4"
    assert increments
    assert sum(increments) == size
    assert httpx.get(storage.playback_url(key, expires_in=timedelta(minutes=1), now=NOW)).content \
        == path.read_bytes()


def test_delete_removes_the_object_and_is_idempotent(storage: R2MediaStorage) -> None:
    key = new_key()
    put_via_presigned(storage, key, b"to be deleted", "application/octet-stream")
    assert storage.stat(key) is not None

    storage.delete(key)
    assert storage.stat(key) is None
    storage.delete(key)  # deleting what is gone is not an error


# --- errors -------------------------------------------------------------------------------


def test_a_missing_bucket_is_a_storage_error_not_a_missing_object(
    endpoint: str, tmp_path: Path
) -> None:
    storage = R2MediaStorage(
        endpoint_url=endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET,
        bucket="no-such-bucket",
    )
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 10)

    # A HEAD on a missing bucket is a bare 404, like a missing key; the adapter tells them apart.
    with pytest.raises(MediaStorageError, match="does not exist") as stat_error:
        storage.stat(new_key())
    with pytest.raises(MediaStorageError, match="NoSuchBucket") as delete_error:
        storage.delete(new_key())
    with pytest.raises(MediaStorageError) as upload_error:
        storage.upload_file(new_key(), path, content_type="application/octet-stream")

    for error in (stat_error, delete_error, upload_error):
        assert type(error.value) is MediaStorageError
        assert_secret_absent(str(error.value))


def test_an_unreachable_endpoint_fails_fast_with_a_storage_error(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    client = boto3.session.Session().client(
        "s3", endpoint_url=dead, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET,
        region_name="auto",
        config=botocore.config.Config(
            signature_version="s3v4", s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=2,
        ),
    )
    storage = R2MediaStorage(
        endpoint_url=dead, access_key_id=ACCESS_KEY, secret_access_key=SECRET,
        bucket=BUCKET, client=client,
    )
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")

    started = time.monotonic()
    with pytest.raises(MediaStorageError) as stat_error:
        storage.stat(new_key())
    with pytest.raises(MediaStorageError) as delete_error:
        storage.delete(new_key())
    with pytest.raises(MediaStorageError) as upload_error:
        storage.upload_file(new_key(), path, content_type="application/octet-stream")
    assert time.monotonic() - started < 10

    for error in (stat_error, delete_error, upload_error):
        assert type(error.value) is MediaStorageError
        assert_secret_absent(str(error.value))


def test_repr_shows_endpoint_and_bucket_but_never_the_secret(
    storage: R2MediaStorage, endpoint: str
) -> None:
    text = repr(storage)
    assert endpoint in text
    assert BUCKET in text
    assert_secret_absent(text)
    assert_secret_absent(str(vars(storage)))
