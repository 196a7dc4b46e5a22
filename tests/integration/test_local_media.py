"""The local media storage adapter and its /media routes (the embedded default's R2)."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from adapters.local_storage.storage import InvalidMediaToken, LocalMediaStorage, MediaGrant
from application.ports.media import MediaStorageError, StoredObject
from entrypoints.bootstrap import Patronage
from entrypoints.config import Settings

Client = TestClient[Litestar]
PUBLIC_URL = "https://studio.example.com"
DATA = bytes(range(256)) * 3 + b"tail!"  # 773 bytes, every position distinguishable
TOTAL = len(DATA)
MINUTES = timedelta(minutes=5)


@pytest.fixture
def storage(patronage: Patronage) -> LocalMediaStorage:
    media = patronage.services.media
    assert isinstance(media, LocalMediaStorage)
    return media


def new_key(ext: str = "mp4") -> str:
    return f"content/{uuid.uuid4()}/{uuid.uuid4()}.{ext}"


@pytest.fixture
def stored_key(storage: LocalMediaStorage) -> str:
    key = new_key()
    written = storage.write(key, iter([DATA[:100], DATA[100:]]), content_type="video/mp4",
                            size=TOTAL)
    assert written == TOTAL
    return key


def path_of(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/media/")
    return url.removeprefix(PUBLIC_URL)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def now() -> datetime:
    return datetime.now(UTC)


def get_url(storage: LocalMediaStorage, key: str, **kwargs: Any) -> str:
    return path_of(storage.playback_url(key, expires_in=MINUTES, now=now(), **kwargs))


def upload_url(storage: LocalMediaStorage, key: str, size: int,
               content_type: str = "video/mp4") -> str:
    target = storage.create_upload(key, content_type=content_type, size=size,
                                   expires_in=MINUTES, now=now())
    assert target.method == "PUT"
    assert target.headers == {"Content-Type": content_type}
    return path_of(target.url)


def assert_invalid_link(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "media.invalid_link"


def flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1:]


# -- downloads ----------------------------------------------------------------------------


def test_a_signed_url_serves_the_bytes(client: Client, storage: LocalMediaStorage,
                                       stored_key: str) -> None:
    response = client.get(get_url(storage, stored_key, filename="my-film"))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"].startswith("video/mp4")
    assert response.headers["content-length"] == str(TOTAL)
    assert response.headers["accept-ranges"] == "bytes"
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["content-disposition"] == 'inline; filename="my-film"'
    assert "content-range" not in response.headers


def test_a_range_request_gets_exactly_those_bytes(client: Client, storage: LocalMediaStorage,
                                                  stored_key: str) -> None:
    response = client.get(get_url(storage, stored_key), headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 10-19/{TOTAL}"
    assert response.headers["content-length"] == "10"
    assert response.content == DATA[10:20]


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=-5", TOTAL - 5, TOTAL - 1),
    ("bytes=0-0", 0, 0),
    ("bytes=700-", 700, TOTAL - 1),
    ("bytes=760-5000", 760, TOTAL - 1),  # the end is clipped to the file
    (f"bytes=-{TOTAL + 50}", 0, TOTAL - 1),  # a suffix longer than the file is all of it
    (f"bytes={TOTAL - 1}-{TOTAL - 1}", TOTAL - 1, TOTAL - 1),
])
def test_range_forms(client: Client, storage: LocalMediaStorage, stored_key: str,
                     header: str, start: int, end: int) -> None:
    response = client.get(get_url(storage, stored_key), headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{TOTAL}"
    assert response.content == DATA[start:end + 1]
    assert response.headers["content-length"] == str(end - start + 1)


def test_a_suffix_range_gives_the_last_bytes(client: Client, storage: LocalMediaStorage,
                                             stored_key: str) -> None:
    response = client.get(get_url(storage, stored_key), headers={"Range": "bytes=-5"})
    assert response.status_code == 206
    assert response.content == b"tail!"


@pytest.mark.parametrize("header", [
    f"bytes={TOTAL}-",
    f"bytes={TOTAL + 10}-{TOTAL + 20}",
    "bytes=20-10",
    "bytes=-",
    "bytes=-0",
    "bytes=abc",
    "items=0-5",
])
def test_an_unsatisfiable_range_is_416(client: Client, storage: LocalMediaStorage,
                                       stored_key: str, header: str) -> None:
    response = client.get(get_url(storage, stored_key), headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{TOTAL}"
    assert response.content == b""


def test_a_url_for_a_missing_object_is_refused(client: Client,
                                               storage: LocalMediaStorage) -> None:
    assert_invalid_link(client.get(get_url(storage, new_key())))


# -- tokens -----------------------------------------------------------------------------------


def test_an_expired_url_is_refused(client: Client, storage: LocalMediaStorage,
                                   stored_key: str) -> None:
    url = storage.playback_url(stored_key, expires_in=timedelta(seconds=1),
                               now=now() - timedelta(seconds=2))
    assert_invalid_link(client.get(path_of(url)))
    with pytest.raises(InvalidMediaToken):
        storage.verify(token_of(url), "get", now())


def test_an_expired_url_from_a_storage_with_the_same_secret_is_refused(
    client: Client, settings: Settings, stored_key: str
) -> None:
    twin = LocalMediaStorage(settings.media_dir, settings.public_url, settings.signing_secret())
    fresh = twin.playback_url(stored_key, expires_in=MINUTES, now=now())
    assert client.get(path_of(fresh)).status_code == 200  # same secret: valid
    stale = twin.playback_url(stored_key, expires_in=MINUTES, now=now() - timedelta(hours=1))
    assert_invalid_link(client.get(path_of(stale)))


def test_a_url_signed_with_another_secret_is_refused(client: Client, settings: Settings,
                                                     stored_key: str) -> None:
    forger = LocalMediaStorage(settings.media_dir, settings.public_url,
                               secrets.token_bytes(32))
    assert_invalid_link(client.get(path_of(
        forger.playback_url(stored_key, expires_in=MINUTES, now=now()))))


def test_tampered_tokens_are_refused(client: Client, storage: LocalMediaStorage,
                                     stored_key: str) -> None:
    token = token_of(get_url(storage, stored_key))
    payload, signature = token.split(".")
    assert client.get(f"/media/{token}").status_code == 200

    tampered = [
        f"{flip(payload, len(payload) // 2)}.{signature}",
        f"{flip(payload, 0)}.{signature}",
        f"{payload}.{flip(signature, len(signature) // 2)}",
        f"{payload}.{flip(signature, 0)}",
        f"{payload}.",
        payload,
        f".{signature}",
        "not-a-token",
    ]
    # A well-formed payload that names more time, with the old signature.
    grant = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    grant["expires"] += 3600
    longer = base64.urlsafe_b64encode(json.dumps(grant, separators=(",", ":")).encode())
    tampered.append(f"{longer.decode().rstrip('=')}.{signature}")
    for bad in tampered:
        assert_invalid_link(client.get(f"/media/{bad}"))
        with pytest.raises(InvalidMediaToken):
            storage.verify(bad, "get", now())


def test_a_token_for_another_object_cannot_be_rewritten(client: Client,
                                                        storage: LocalMediaStorage,
                                                        stored_key: str) -> None:
    other = new_key()
    storage.write(other, iter([b"secret"]), content_type="video/mp4", size=6)
    payload, signature = token_of(get_url(storage, stored_key)).split(".")
    grant = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    grant["key"] = other
    swapped = base64.urlsafe_b64encode(json.dumps(grant, separators=(",", ":")).encode())
    assert_invalid_link(client.get(f"/media/{swapped.decode().rstrip('=')}.{signature}"))


def test_tokens_work_only_for_their_purpose(client: Client, storage: LocalMediaStorage,
                                            stored_key: str) -> None:
    get_token = token_of(get_url(storage, stored_key))
    response = client.put(f"/media/upload/{get_token}", content=b"x" * TOTAL,
                          headers={"Content-Type": "video/mp4"})
    assert_invalid_link(response)
    assert storage.stat(stored_key) == StoredObject(size=TOTAL, content_type="video/mp4")

    key = new_key()
    put_token = token_of(upload_url(storage, key, 4))
    assert_invalid_link(client.get(f"/media/{put_token}"))
    with pytest.raises(InvalidMediaToken):
        storage.verify(put_token, "get", now())


# -- uploads -------------------------------------------------------------------------------------


def test_an_exact_upload_is_stored(client: Client, storage: LocalMediaStorage) -> None:
    key = new_key()
    data = secrets.token_bytes(1000)
    response = client.put(upload_url(storage, key, len(data)), content=data,
                          headers={"Content-Type": "video/mp4"})
    assert response.status_code == 200, response.text
    assert response.json() == {"key": key, "size": len(data)}
    assert storage.stat(key) == StoredObject(size=len(data), content_type="video/mp4")

    served = client.get(get_url(storage, key))
    assert served.status_code == 200
    assert served.content == data


def test_an_upload_url_is_good_for_one_upload(client: Client,
                                              storage: LocalMediaStorage) -> None:
    key = new_key()
    data = secrets.token_bytes(1000)
    url = upload_url(storage, key, len(data))
    assert client.put(url, content=data, headers={"Content-Type": "video/mp4"}
                      ).status_code == 200
    again = client.put(url, content=secrets.token_bytes(1000),
                       headers={"Content-Type": "video/mp4"})
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "media.already_uploaded"
    assert client.get(get_url(storage, key)).content == data  # the first upload stands


def test_parallel_uploads_with_one_url_store_exactly_one(client: Client,
                                                         storage: LocalMediaStorage) -> None:
    key = new_key()
    bodies = [secrets.token_bytes(200_000) for _ in range(6)]
    url = upload_url(storage, key, 200_000)
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda body: client.put(
            url, content=body, headers={"Content-Type": "video/mp4"}).status_code, bodies))
    assert sorted(statuses).count(200) == 1 and statuses.count(409) == 5, statuses
    assert client.get(get_url(storage, key)).content in bodies
    leftovers = [p for p in storage._path(key).parent.iterdir() if p.name.endswith(".part")]
    assert leftovers == []


def test_an_upload_with_parameters_on_its_type_is_accepted(client: Client,
                                                           storage: LocalMediaStorage) -> None:
    key = new_key("mp3")
    response = client.put(upload_url(storage, key, 3, "audio/mpeg"), content=b"ID3",
                          headers={"Content-Type": "Audio/MPEG; charset=binary"})
    assert response.status_code == 200, response.text
    assert storage.stat(key) == StoredObject(size=3, content_type="audio/mpeg")


@pytest.mark.parametrize("sent_type", ["audio/mpeg", "application/octet-stream", None])
def test_an_upload_of_another_type_is_refused(client: Client, storage: LocalMediaStorage,
                                              sent_type: str | None) -> None:
    key = new_key()
    headers = {"Content-Type": sent_type} if sent_type else {}
    response = client.put(upload_url(storage, key, 4), content=b"abcd", headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "media.type_mismatch"
    assert storage.stat(key) is None


def test_an_upload_longer_than_signed_is_refused_and_leaves_nothing(
    client: Client, storage: LocalMediaStorage
) -> None:
    key = new_key()
    response = client.put(upload_url(storage, key, 10), content=b"x" * 11,
                          headers={"Content-Type": "video/mp4"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "media.size_mismatch"
    assert storage.stat(key) is None


def chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts


def test_a_streamed_upload_longer_than_signed_is_refused_and_leaves_nothing(
    client: Client, storage: LocalMediaStorage
) -> None:
    # No Content-Length (chunked): the route has to count the bytes itself.
    key = new_key()
    response = client.put(upload_url(storage, key, 10),
                          content=chunks(b"x" * 6, b"y" * 6),
                          headers={"Content-Type": "video/mp4"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "media.size_mismatch"
    assert storage.stat(key) is None
    assert not any(p.is_file() for p in storage_files(storage))


def test_a_short_upload_is_refused_and_leaves_nothing(client: Client,
                                                      storage: LocalMediaStorage) -> None:
    key = new_key()
    url = upload_url(storage, key, 10)
    response = client.put(url, content=b"x" * 9, headers={"Content-Type": "video/mp4"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "media.size_mismatch"
    response = client.put(url, content=chunks(b"x" * 4, b"y" * 5),
                          headers={"Content-Type": "video/mp4"})
    assert response.status_code == 422, response.text
    assert storage.stat(key) is None
    assert not any(p.is_file() for p in storage_files(storage))


def test_an_expired_upload_url_is_refused(client: Client, storage: LocalMediaStorage) -> None:
    key = new_key()
    target = storage.create_upload(key, content_type="video/mp4", size=4,
                                   expires_in=timedelta(seconds=1),
                                   now=now() - timedelta(seconds=2))
    response = client.put(path_of(target.url), content=b"abcd",
                          headers={"Content-Type": "video/mp4"})
    assert_invalid_link(response)
    assert storage.stat(key) is None


def storage_files(storage: LocalMediaStorage) -> list[Any]:
    root = storage._root  # the adapter's folder; tests may look inside
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- the adapter directly --------------------------------------------------------------------------


@pytest.mark.parametrize("key", [
    "content/../secret-key",
    "content/a/../../secret-key",
    "../secret-key",
    "..",
    "content/..",
    "/etc/passwd",
    "content//x.mp4/../../..",
    "",
])
def test_keys_that_climb_out_are_refused(storage: LocalMediaStorage, key: str) -> None:
    with pytest.raises(InvalidMediaToken):
        storage.playback_url(key, expires_in=MINUTES, now=now())
    with pytest.raises(InvalidMediaToken):
        storage.create_upload(key, content_type="video/mp4", size=1, expires_in=MINUTES,
                              now=now())
    with pytest.raises(InvalidMediaToken):
        storage.stat(key)
    with pytest.raises(InvalidMediaToken):
        storage.delete(key)
    with pytest.raises(InvalidMediaToken):
        storage.write(key, iter([b"x"]), content_type="video/mp4", size=1)


def test_a_correctly_signed_token_naming_a_climbing_key_is_refused(
    client: Client, storage: LocalMediaStorage
) -> None:
    grant = MediaGrant(key="content/../secret-key", purpose="get",
                       expires=int((now() + MINUTES).timestamp()))
    token = storage._sign(grant)  # only the adapter can sign; as if its key checks were gone
    with pytest.raises(InvalidMediaToken):
        storage.verify(token, "get", now())
    assert_invalid_link(client.get(f"/media/{token}"))


def test_write_refuses_more_bytes_than_declared(storage: LocalMediaStorage) -> None:
    key = new_key()
    with pytest.raises(MediaStorageError):
        storage.write(key, iter([b"abc", b"def"]), content_type="video/mp4", size=5)
    assert storage.stat(key) is None
    assert storage_files(storage) == []


def test_delete_removes_the_object_and_its_type(client: Client, storage: LocalMediaStorage,
                                                stored_key: str) -> None:
    url = get_url(storage, stored_key)
    storage.delete(stored_key)
    assert storage.stat(stored_key) is None
    assert storage_files(storage) == []
    assert_invalid_link(client.get(url))
    storage.delete(stored_key)  # deleting twice is fine


def test_the_signing_secret_must_be_long(settings: Settings) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        LocalMediaStorage(settings.media_dir, PUBLIC_URL, b"short")
