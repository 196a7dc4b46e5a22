"""The earnings ledger: sales and refunds of creators' items, summed in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.statements import OncePerDialect, params
from adapters.sqlalchemy.tables import content, content_series, earnings_entries, offerings, users
from adapters.sqlalchemy.types import exact_cents
from application.ports.payouts import EarningsLine, Grouping
from domain.commerce.revenue import RevenueSplit
from domain.payouts.earnings import EarningsEntry, EntryType, ItemRef, SourceType
from domain.values import Money

e = earnings_entries



def _row(entry: EarningsEntry) -> dict[str, Any]:
    split = entry.split
    return {"id": entry.id, "seller_id": entry.seller_id, "entry_type": entry.entry_type.value,
            "source_type": entry.source_type.value, "source_id": entry.source_id,
            "content_id": entry.item.content_id, "series_id": entry.item.series_id,
            "offering_id": entry.item.offering_id, "reference": entry.reference,
            "payment_ref": entry.payment_ref, "currency": split.amount.currency,
            "amount": split.amount.amount, "platform_fee": split.platform_fee.amount,
            "creator_payout": split.creator_payout.amount,
            "destination_account": entry.destination_account,
            "occurred_at": entry.occurred_at}


_RECORD = OncePerDialect(lambda execute: (
    execute.insert(e).values(**params(e, *(c.name for c in e.c if c.name != "created_at")))
    .on_conflict_do_nothing(index_elements=[e.c.entry_type, e.c.reference])
    .returning(e.c.id)))


def _entry(r: sa.RowMapping) -> EarningsEntry:
    currency = r["currency"]
    return EarningsEntry(
        id=r["id"], seller_id=r["seller_id"], entry_type=EntryType(r["entry_type"]),
        source_type=SourceType(r["source_type"]), source_id=r["source_id"],
        item=ItemRef(r["content_id"], r["series_id"], r["offering_id"]),
        reference=r["reference"], payment_ref=r["payment_ref"],
        split=RevenueSplit(Money(r["amount"], currency), Money(r["platform_fee"], currency),
                           Money(r["creator_payout"], currency)),
        occurred_at=r["occurred_at"], destination_account=r["destination_account"])


def _signed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The column as it counts towards a total: a refund takes back what its sale gave."""
    return sa.case((e.c.entry_type == EntryType.SALE.value, column), else_=-column)


def _only(kind: EntryType, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.case((e.c.entry_type == kind.value, column), else_=0)


class SqlEarningsRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def record(self, entry: EarningsEntry) -> bool:
        # A reference already recorded (a redelivered event) skips the row instead of
        # failing the statement: no SAVEPOINT around it.
        return bool(self._execute.rows(_RECORD(self._execute), _row(entry)))

    def add(self, entry: EarningsEntry) -> None:
        self._execute.hold(_RECORD(self._execute), _row(entry))

    def recorded(self, entry_type: EntryType, reference: str) -> bool:
        return self._execute(sa.select(e.c.id).where(
            e.c.entry_type == entry_type.value, e.c.reference == reference)).first() is not None

    def sale(self, payment_ref: str) -> EarningsEntry | None:
        row = self._execute(sa.select(e).where(e.c.entry_type == EntryType.SALE.value,
                                               e.c.reference == payment_ref)).mappings().first()
        return _entry(row) if row else None

    def refunded(self, payment_ref: str) -> Decimal:
        total = self._execute(sa.select(sa.func.coalesce(sa.func.sum(e.c.amount), 0)).where(
            e.c.entry_type == EntryType.REFUND.value, e.c.payment_ref == payment_ref)).scalar()
        return exact_cents(total)

    def _month(self) -> sa.ColumnElement[str]:
        if self._execute.dialect == "postgresql":
            return sa.func.to_char(sa.func.timezone("UTC", e.c.occurred_at), "YYYY-MM")
        # SQLite keeps UTC text, "YYYY-MM-DD HH:MM:SS".
        return sa.func.substr(e.c.occurred_at, 1, 7)

    def summarise(self, *, seller_id: UUID | None, start: datetime, end: datetime,
                  by: Grouping) -> Sequence[EarningsLine]:
        sums = [
            sa.func.sum(_only(EntryType.SALE, e.c.amount)).label("gross"),
            sa.func.sum(_only(EntryType.REFUND, e.c.amount)).label("refunds"),
            sa.func.sum(_signed(e.c.platform_fee)).label("platform_fee"),
            sa.func.sum(_signed(e.c.creator_payout)).label("net"),
            sa.func.sum(_only(EntryType.SALE, sa.literal(1))).label("sales"),
        ]
        source: sa.FromClause = e
        keys: list[sa.ColumnElement[Any]]
        if by == "month":
            keys = [self._month().label("key")]
        elif by == "item":
            item = sa.func.coalesce(e.c.content_id, e.c.series_id, e.c.offering_id)
            title = sa.func.coalesce(content.c.title, content_series.c.title, offerings.c.title)
            kind = sa.case((e.c.content_id.is_not(None), "content"),
                           (e.c.series_id.is_not(None), "series"), else_="offering")
            keys = [item.label("key"), title.label("label"), kind.label("kind")]
            source = (e.outerjoin(content, content.c.id == e.c.content_id)
                      .outerjoin(content_series, content_series.c.id == e.c.series_id)
                      .outerjoin(offerings, offerings.c.id == e.c.offering_id))
        elif by == "seller":
            keys = [e.c.seller_id.label("key"), users.c.full_name.label("label")]
            source = e.join(users, users.c.id == e.c.seller_id)
        else:
            keys = []
        query = (sa.select(*keys, e.c.currency, *sums).select_from(source)
                 .where(e.c.occurred_at >= start, e.c.occurred_at < end)
                 .group_by(*keys, e.c.currency)
                 .order_by(*(keys[:1] or [e.c.currency]), e.c.currency))
        if seller_id is not None:
            query = query.where(e.c.seller_id == seller_id)
        lines = []
        for r in self._execute(query).mappings():
            key = str(r["key"]) if "key" in r else "total"
            lines.append(EarningsLine(
                key=key, label=str(r.get("label") or key), currency=r["currency"],
                gross=exact_cents(r["gross"]), refunds=exact_cents(r["refunds"]),
                platform_fee=exact_cents(r["platform_fee"]), net=exact_cents(r["net"]),
                sales=int(r["sales"]), kind=str(r.get("kind") or "")))
        return lines
