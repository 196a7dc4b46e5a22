from __future__ import annotations

from litestar.testing import TestClient


def test_health_reports_the_database(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "payments": "sandbox"}
