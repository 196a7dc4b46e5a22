from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient


def test_health_reports_the_database(client: TestClient[Litestar]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "payments": "sandbox"}
