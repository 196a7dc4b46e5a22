from __future__ import annotations

from litestar import get

from application.system.health import CheckHealth
from entrypoints.http.dependencies import App
from entrypoints.http.openapi import problems
from entrypoints.http.schemas.system import HealthOut


@get("/health", sync_to_thread=True, tags=["system"], responses=problems(503))
def health(patronage: App) -> HealthOut:
    """Liveness and readiness: 200 when the database answers, 503 problem otherwise.

    Also says which payment mode is active, so a sandbox left on is seen at once."""
    result = patronage.handle(CheckHealth())
    return HealthOut(status=result["status"], database=result["database"],
                     payments=result["payments"])
