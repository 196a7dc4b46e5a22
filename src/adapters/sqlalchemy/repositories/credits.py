"""The credit ledger in three tables: balances (one locked row per customer), the
append-only transactions, and the allocations that tie debits to grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.statements import (
    OncePerCount,
    OncePerDialect,
    numbered,
    numbered_params,
    params,
)
from adapters.sqlalchemy.tables import (
    credit_allocations,
    credit_balances,
    credit_expiry_warnings,
    credit_transactions,
)
from application.ports.credits import ExpiringGrant
from application.ports.system import IdGenerator
from domain.credits.ledger import Allocation, CreditLedger, CreditType, Entry, Lot
from domain.errors import Conflict

_DUPLICATE = Conflict("These credits were recorded already.", code="credits.duplicate")
_tx = credit_transactions
_alloc = credit_allocations
_GRANT = sa.and_(_tx.c.amount > 0, _tx.c.type != CreditType.REFUNDED_OFFERING.value)


# A spend (every booking paid with credits) reads and writes the ledger through these,
# built once: the balance locked, the grants with what is left of them, the last entry's
# number; then the entry, its allocations and the balance written.
_customer = sa.bindparam("customer_id", type_=credit_balances.c.customer_id.type)
_LOCK_BALANCE = sa.select(credit_balances.c.current_balance, credit_balances.c.lifetime_earned,
                          credit_balances.c.lifetime_spent).where(
    credit_balances.c.customer_id == _customer).with_for_update()
_used = (sa.select(_alloc.c.grant_id, sa.func.sum(_alloc.c.amount).label("used"))
         .where(_alloc.c.customer_id == _customer).group_by(_alloc.c.grant_id).subquery())
_LOTS = (sa.select(_tx, _used.c.used).outerjoin(_used, _used.c.grant_id == _tx.c.id)
         .where(_tx.c.customer_id == _customer, _GRANT).order_by(_tx.c.entry_number))
_LAST_NUMBER = sa.select(sa.func.coalesce(sa.func.max(_tx.c.entry_number), 0).label("last")
                         ).where(_tx.c.customer_id == _customer)
_SAVE_BALANCE = sa.update(credit_balances).where(
    credit_balances.c.customer_id == sa.bindparam("owner", type_=credit_balances.c.customer_id.type)
).values(**params(credit_balances, "current_balance", "lifetime_earned", "lifetime_spent",
                  "updated_at"))
_TX_COLUMNS = ("id", "customer_id", "type", "amount", "balance_after", "subscription_id",
               "offering_booking_id", "description", "expires_at", "created_at",
               "entry_number", "source_key", "actor_id")
# An entry whose source was recorded already (a redelivered grant) skips the row instead
# of failing the statement: no SAVEPOINT around it.
_ADD_ENTRY = OncePerDialect(lambda execute: (
    execute.insert(_tx).values(**params(_tx, *_TX_COLUMNS))
    .on_conflict_do_nothing(index_elements=["source_key"]).returning(_tx.c.id)))
_ALLOC_COLUMNS = ("id", "customer_id", "transaction_id", "grant_id", "amount", "created_at")
_ADD_ALLOCATIONS = OncePerCount(lambda execute, count: sa.insert(_alloc).values(
    numbered_params(_alloc, _ALLOC_COLUMNS, "a", count)), most=8)


def _entry(r: Mapping[Any, Any], allocations: Sequence[Allocation] = ()) -> Entry:
    return Entry(
        id=r["id"], type=CreditType(r["type"]), amount=r["amount"],
        balance_after=r["balance_after"], created_at=r["created_at"],
        expires_at=r["expires_at"], description=r["description"],
        subscription_id=r["subscription_id"], booking_id=r["offering_booking_id"],
        source_key=r["source_key"], actor_id=r["actor_id"], allocations=tuple(allocations),
        number=r["entry_number"] or 0,
    )


class SqlCreditLedgerRepository:
    def __init__(self, execute: Executor, ids: IdGenerator) -> None:
        self._execute = execute
        self._ids = ids

    def load(self, customer_id: UUID) -> CreditLedger:
        key = {"customer_id": customer_id}
        found = self._execute.rows(_LOCK_BALANCE, key)
        if not found:
            # A first movement: the balance row is made, then locked like any other.
            self._execute(
                self._execute.insert(credit_balances)
                .values(id=self._ids.new_id(), customer_id=customer_id)
                .on_conflict_do_nothing(index_elements=["customer_id"]))
            found = self._execute.rows(_LOCK_BALANCE, key)
        balance = found[0]
        # Both read after the lock is held: what an earlier spender committed is seen.
        lots = self.lots(customer_id)
        count = self._execute.rows(_LAST_NUMBER, key)[0]["last"]
        return CreditLedger(customer_id=customer_id, balance=balance["current_balance"],
                            lifetime_earned=balance["lifetime_earned"],
                            lifetime_spent=balance["lifetime_spent"], lots=lots,
                            entry_count=count)

    def lots(self, customer_id: UUID) -> list[Lot]:
        return [
            Lot(grant_id=r["id"], type=CreditType(r["type"]), amount=r["amount"],
                remaining=r["amount"] - (r["used"] or 0), granted_at=r["created_at"],
                expires_at=r["expires_at"], subscription_id=r["subscription_id"],
                source_key=r["source_key"])
            for r in self._execute.rows(_LOTS, {"customer_id": customer_id})
        ]

    def save(self, ledger: CreditLedger) -> None:
        if not ledger.new_entries:
            return
        rows: list[dict[str, Any]] = []
        allocations: list[dict[str, Any]] = []
        for e in ledger.new_entries:
            rows.append({
                "id": e.id, "customer_id": ledger.customer_id, "type": e.type.value,
                "amount": e.amount, "balance_after": e.balance_after,
                "subscription_id": e.subscription_id, "offering_booking_id": e.booking_id,
                "description": e.description, "expires_at": e.expires_at,
                "created_at": e.created_at, "entry_number": e.number,
                "source_key": e.source_key, "actor_id": e.actor_id,
            })
            allocations += [{"id": self._ids.new_id(), "customer_id": ledger.customer_id,
                             "transaction_id": e.id, "grant_id": a.grant_id,
                             "amount": a.amount, "created_at": e.created_at}
                            for a in e.allocations]
        try:
            if len(rows) == 1:
                # A spend, a grant: one entry, skipped if its source was recorded already.
                if not self._execute.rows(_ADD_ENTRY(self._execute), rows[0]):
                    raise _DUPLICATE
            else:
                # Several go in together or not at all.
                with self._execute.savepoint():
                    self._execute(sa.insert(_tx), rows)
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_credit_transactions_source_key": _DUPLICATE,
                                        "credit_transactions.source_key": _DUPLICATE}
                                ) from error
        # Nothing reads these back before the commit: they go with it (`Executor.hold`).
        for start in range(0, len(allocations), 8):
            chunk = allocations[start:start + 8]
            statement = _ADD_ALLOCATIONS(self._execute, len(chunk))
            if statement is not None:
                self._execute.hold(statement, numbered("a", chunk))
            else:
                self._execute(sa.insert(_alloc), chunk)
        self._execute.hold(_SAVE_BALANCE, {
            "owner": ledger.customer_id, "current_balance": ledger.balance,
            "lifetime_earned": ledger.lifetime_earned, "lifetime_spent": ledger.lifetime_spent,
            "updated_at": ledger.new_entries[-1].created_at})
        ledger.new_entries.clear()

    def has_source(self, source_key: str) -> bool:
        return self.source_entry(source_key) is not None

    def source_entry(self, source_key: str) -> UUID | None:
        found: UUID | None = self._execute(
            sa.select(_tx.c.id).where(_tx.c.source_key == source_key)).scalar()
        return found

    def _with_allocations(self, rows: Sequence[sa.RowMapping]) -> list[Entry]:
        if not rows:
            return []
        grouped: dict[UUID, list[Allocation]] = defaultdict(list)
        for a in self._execute(
                sa.select(_alloc.c.transaction_id, _alloc.c.grant_id, _alloc.c.amount)
                .where(_alloc.c.transaction_id.in_([r["id"] for r in rows]))
                .order_by(_alloc.c.id)).mappings():
            grouped[a["transaction_id"]].append(Allocation(a["grant_id"], a["amount"]))
        return [_entry(r, grouped.get(r["id"], ())) for r in rows]

    def entry(self, entry_id: UUID) -> Entry | None:
        rows = self._execute(sa.select(_tx).where(_tx.c.id == entry_id)).mappings().all()
        found = self._with_allocations(rows)
        return found[0] if found else None

    def owner_of(self, entry_id: UUID) -> UUID | None:
        owner: UUID | None = self._execute(
            sa.select(_tx.c.customer_id).where(_tx.c.id == entry_id)).scalar()
        return owner

    def spend_for_booking(self, booking_id: UUID) -> Entry | None:
        rows = self._execute(sa.select(_tx).where(
            _tx.c.offering_booking_id == booking_id,
            _tx.c.type == CreditType.SPENT_OFFERING.value)
            .order_by(_tx.c.entry_number.desc()).limit(1)).mappings().all()
        found = self._with_allocations(rows)
        return found[0] if found else None

    def balance(self, customer_id: UUID) -> tuple[int, int, int]:
        row = self._execute(sa.select(credit_balances).where(
            credit_balances.c.customer_id == customer_id)).mappings().first()
        if row is None:
            return (0, 0, 0)
        return (row["current_balance"], row["lifetime_earned"], row["lifetime_spent"])

    def history(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Entry]:
        rows = self._execute(sa.select(_tx).where(_tx.c.customer_id == customer_id)
                             .order_by(_tx.c.entry_number.desc()).limit(limit).offset(offset)
                             ).mappings().all()
        return [_entry(r) for r in rows]

    def entries(self, customer_id: UUID) -> Sequence[Entry]:
        rows = self._execute(sa.select(_tx).where(_tx.c.customer_id == customer_id)
                             .order_by(_tx.c.entry_number)).mappings().all()
        return self._with_allocations(rows)

    def customers(self, limit: int, after: UUID | None) -> Sequence[UUID]:
        query = sa.select(credit_balances.c.customer_id).order_by(credit_balances.c.customer_id)
        if after is not None:
            query = query.where(credit_balances.c.customer_id > after)
        return list(self._execute(query.limit(limit)).scalars())

    def expired_total(self) -> int:
        total = self._execute(sa.select(sa.func.coalesce(-sa.func.sum(_tx.c.amount), 0))
                              .where(_tx.c.type == CreditType.EXPIRED.value)).scalar_one()
        return int(total)

    def expiring_unwarned(self, now: datetime, until: datetime, limit: int
                          ) -> Sequence[ExpiringGrant]:
        used = (sa.select(sa.func.coalesce(sa.func.sum(_alloc.c.amount), 0))
                .where(_alloc.c.grant_id == _tx.c.id).correlate(_tx).scalar_subquery())
        warned = sa.select(credit_expiry_warnings.c.grant_id).where(
            credit_expiry_warnings.c.grant_id == _tx.c.id).exists()
        rows = self._execute(
            sa.select(_tx.c.id, _tx.c.customer_id, (_tx.c.amount - used).label("left"),
                      _tx.c.expires_at)
            .where(_GRANT, _tx.c.expires_at > now, _tx.c.expires_at <= until,
                   _tx.c.amount > used, ~warned)
            .order_by(_tx.c.expires_at, _tx.c.id).limit(limit))
        return [ExpiringGrant(r.id, r.customer_id, int(r.left), r.expires_at) for r in rows]

    def mark_warned(self, grant_id: UUID, customer_id: UUID, now: datetime) -> bool:
        row = self._execute(
            self._execute.insert(credit_expiry_warnings)
            .values(grant_id=grant_id, customer_id=customer_id, warned_at=now)
            .on_conflict_do_nothing(index_elements=["grant_id"])
            .returning(credit_expiry_warnings.c.grant_id)).first()
        return row is not None

    def with_expired_credits(self, now: datetime, limit: int) -> Sequence[UUID]:
        used = (sa.select(sa.func.coalesce(sa.func.sum(_alloc.c.amount), 0))
                .where(_alloc.c.grant_id == _tx.c.id).correlate(_tx).scalar_subquery())
        return list(self._execute(
            sa.select(_tx.c.customer_id).where(_GRANT, _tx.c.expires_at <= now,
                                               _tx.c.amount > used)
            .group_by(_tx.c.customer_id).order_by(_tx.c.customer_id).limit(limit)).scalars())
