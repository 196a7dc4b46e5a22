from __future__ import annotations

from litestar import get

from application.system.health import CheckHealth
from entrypoints.http.dependencies import App
from entrypoints.http.openapi import problems
from entrypoints.http.schemas.system import HealthOut, ReadyOut


@get("/health", sync_to_thread=True, tags=["system"], responses=problems(503))
def health(patronage: App) -> HealthOut:
    """Liveness, kept cheap: 200 when the database answers, 503 problem otherwise.

    Also says which payment mode is active, so a sandbox left on is seen at once."""
    result = patronage.handle(CheckHealth())
    return HealthOut(status=result["status"], database=result["database"],
                     payments=result["payments"])


@get("/ready", sync_to_thread=True, tags=["system"], responses=problems(503))
def ready(patronage: App) -> ReadyOut:
    """Readiness for a load balancer: 200 when the database answers and is at the latest
    migration, 503 problem otherwise (`service.database_unavailable`,
    `service.not_migrated`). Names the active payments, storage and mailer."""
    return ReadyOut(**patronage.readiness())
