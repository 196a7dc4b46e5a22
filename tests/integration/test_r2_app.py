"""The whole media flow with R2 selected by settings, against a real S3 server (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from moto.server import ThreadedMotoServer

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.r2.storage import R2MediaStorage
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.conftest import FAST_ARGON2, free_port

BUCKET = "studio-media"
PASSWORD = "a long passphrase"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.session.Session().client(
        "s3", endpoint_url=url, aws_access_key_id="key", aws_secret_access_key="app-secret",
        region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def test_settings_select_r2_and_media_flows_through_signed_urls(
    s3_endpoint: str, pg_url: str, clean_db: sa.Engine, tmp_path: Path
) -> None:
    settings = Settings.from_env({
        "PATRONAGE_DATABASE_URL": pg_url, "PATRONAGE_DATA_DIR": str(tmp_path),
        "PATRONAGE_MEDIA_STORAGE": "r2", "PATRONAGE_R2_ENDPOINT": s3_endpoint,
        "PATRONAGE_R2_ACCESS_KEY_ID": "key", "PATRONAGE_R2_SECRET_ACCESS_KEY": "app-secret",
        "PATRONAGE_R2_BUCKET": BUCKET, "PATRONAGE_PLAYBACK_URL_MINUTES": "3",
    })
    patronage = bootstrap(settings, engine=clean_db,
                          hasher=Argon2PasswordHasher(**FAST_ARGON2))
    assert isinstance(patronage.services.media, R2MediaStorage)
    patronage.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                                password=PASSWORD, full_name="O", role=Role.PLATFORM_OWNER))
    with TestClient(app=create_app(patronage)) as client:
        # The local /media routes are not mounted when media lives in R2.
        assert client.get("/media/anything").status_code == 404
        token = client.post("/api/v1/auth/login", json={"email": "owner@example.com",
                                                        "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        item = client.post("/api/v1/studio/content", headers=auth, json={
            "title": "Cloud video", "content_type": "video", "price": "3.00"}).json()
        data = bytes(range(256)) * 40
        ticket = client.post(f"/api/v1/studio/content/{item['id']}/media/uploads",
                             headers=auth,
                             json={"content_type": "video/mp4", "size": len(data)}).json()
        assert ticket["url"].startswith(f"{s3_endpoint}/{BUCKET}/content/{item['id']}/")
        put = httpx.put(ticket["url"], content=data, headers=ticket["headers"])
        assert put.status_code == 200
        confirmed = client.post(f"/api/v1/studio/content/{item['id']}/media/confirm",
                                headers=auth,
                                json={"key": ticket["key"], "duration_seconds": 60})
        assert confirmed.status_code == 200 and confirmed.json()["has_media"] is True
        assert client.post(f"/api/v1/studio/content/{item['id']}/publish",
                           headers=auth).status_code == 200

        playback = client.post(f"/api/v1/content/{item['id']}/playback", headers=auth)
        assert playback.status_code == 200
        assert playback.headers["cache-control"] == "private, no-store"
        url = playback.json()["url"]
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Expires"] == ["180"]
        assert "app-secret" not in url
        ranged = httpx.get(url, headers={"Range": "bytes=100-199"})
        assert ranged.status_code == 206 and ranged.content == data[100:200]

        # Anonymous callers get no URL at all.
        assert client.post(f"/api/v1/content/{item['id']}/playback").status_code == 401
    with clean_db.connect() as conn:
        stored = conn.execute(sa.text("SELECT media_url FROM content")).scalar_one()
    assert stored == ticket["key"]  # the key, never a URL
    patronage.close()
