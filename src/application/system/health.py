from __future__ import annotations

import attrs

from application.messagebus import Query
from application.services import Services
from application.unit_of_work import UnitOfWork


@attrs.frozen
class CheckHealth(Query):
    pass


def check_health(cmd: CheckHealth, uow: UnitOfWork, services: Services) -> dict[str, str]:
    """Reading the settings row proves the database answers and is migrated."""
    uow.settings.get()
    return {"status": "ok", "database": "ok", "payments": services.payments.name}
