"""What a customer bought, and everything they can open."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from application.catalog.entitlements import resolve
from application.catalog.views import AccessView
from application.messagebus import Query
from application.ports.catalog import CatalogEntry
from application.ports.commerce import PurchaseLine
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork


@attrs.frozen
class MyPurchases(Query):
    actor: Principal
    limit: int = 50
    offset: int = 0


def my_purchases(cmd: MyPurchases, uow: UnitOfWork, services: Services
                 ) -> Sequence[PurchaseLine]:
    purchases = uow.purchases.for_customer(cmd.actor.require_user(),
                                           max(1, min(cmd.limit, 200)), max(0, cmd.offset))
    return uow.ledger.describe(purchases)


@attrs.frozen
class LibraryItem:
    entry: CatalogEntry
    access: AccessView


@attrs.frozen
class MyLibrary(Query):
    actor: Principal


def my_library(cmd: MyLibrary, uow: UnitOfWork, services: Services) -> Sequence[LibraryItem]:
    """Items the user holds through grants or bought bundles, each with its reason.

    Free and public items are open to everyone and are not listed here.
    """
    user_id = cmd.actor.require_user()
    candidates = uow.ledger.library_candidates(user_id)
    if not candidates:
        return []
    resolved = resolve(uow, services, user_id=user_id, content_ids=list(candidates))
    return [LibraryItem(entry=row.entry, access=AccessView.of(decision))
            for row, decision in resolved.rows if decision.allowed]
