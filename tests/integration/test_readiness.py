"""`/ready` for load balancers: ready only when the database answers and is migrated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.conftest import FAST_ARGON2, Databases, free_port


def client_on(url: str, tmp_path: Path) -> Any:
    engine = create_engine(url)
    app = bootstrap(Settings(data_dir=tmp_path / "var", database_url=url), engine=engine,
                    hasher=Argon2PasswordHasher(**FAST_ARGON2))
    return TestClient(app=create_app(app))


def test_ready_says_what_is_active(client: TestClient[Litestar]) -> None:
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "database": "ok",
                            "migrations": migrate.head(), "payments": "sandbox",
                            "storage": "local", "mailer": "file"}


def test_a_database_behind_the_code_is_not_ready(databases: Databases,
                                                  tmp_path: Path) -> None:
    url = databases.create()
    migrate.upgrade(url, "0006_commerce")
    with client_on(url, tmp_path) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["code"] == "service.not_migrated"
        assert ready.json()["head"] == migrate.head()
        assert client.get("/health").status_code == 200  # alive, just not ready
        migrate.upgrade(url)
        assert client.get("/ready").status_code == 200


def test_an_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with client_on(url, tmp_path) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["code"] == "service.database_unavailable"
        assert client.get("/health").status_code == 503
        assert "retry-after" in ready.headers
