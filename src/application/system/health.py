from __future__ import annotations

import attrs

from application.messagebus import Query
from application.services import Services
from application.unit_of_work import UnitOfWork


@attrs.frozen
class CheckHealth(Query):
    pass


def check_health(cmd: CheckHealth, uow: UnitOfWork, services: Services) -> dict[str, str]:
    """Liveness: the database answers (whether it is migrated is /ready's question)."""
    uow.settings.answers()
    return {"status": "ok", "database": "ok", "payments": services.payments.name}
