from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import credit_packs
from domain.credits.packs import CreditPack
from domain.values import Money


def to_row(p: CreditPack) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.name, "description": p.description, "price": p.price.amount,
        "currency": p.price.currency, "credits": p.credits, "valid_days": p.valid_days,
        "active": p.active, "created_at": p.created_at, "updated_at": p.updated_at,
    }


def from_row(r: sa.RowMapping) -> CreditPack:
    return CreditPack(
        id=r["id"], name=r["name"], price=Money(r["price"], r["currency"]),
        credits=r["credits"], created_at=r["created_at"], updated_at=r["updated_at"],
        description=r["description"], valid_days=r["valid_days"], active=r["active"])


class SqlCreditPackRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[CreditPack] = Tracker(execute, credit_packs, to_row)

    def add(self, pack: CreditPack) -> None:
        row = to_row(pack)
        self._execute(sa.insert(credit_packs).values(**row))
        self.tracker.track(pack.id, pack, row)

    def get(self, pack_id: UUID, *, lock: bool = False) -> CreditPack | None:
        known = self.tracker.get(pack_id)
        if known is not None and not lock:
            return known
        query = sa.select(credit_packs).where(credit_packs.c.id == pack_id)
        if lock:
            self.tracker.flush()
            query = query.with_for_update()
        return self.tracker.load(self._execute(query).mappings().first(), from_row,
                                 locked=lock)

    def list(self, *, active_only: bool) -> Sequence[CreditPack]:
        query = sa.select(credit_packs).order_by(credit_packs.c.price, credit_packs.c.name,
                                                 credit_packs.c.id)
        if active_only:
            query = query.where(credit_packs.c.active.is_(True))
        return [self.tracker.get(row["id"]) or self.tracker.track(row["id"], from_row(row))
                for row in self._execute(query).mappings()]
