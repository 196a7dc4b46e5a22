"""Grants and commerce bookkeeping: webhook event ids, refunds, idempotency keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.repositories.purchases import from_row as purchase_from_row
from adapters.sqlalchemy.repositories.purchases import record_event
from adapters.sqlalchemy.repositories.users import from_row as user_from_row
from adapters.sqlalchemy.statements import OncePerDialect, params
from adapters.sqlalchemy.tables import (
    booking_installments,
    content,
    content_access,
    content_series,
    credit_packs,
    idempotency_keys,
    offering_bookings,
    purchase_refunds,
    purchases,
    users,
    webhook_events,
)
from application.ports.commerce import EventSeen, PurchaseLine
from application.ports.payments import RefundRecord
from domain.commerce.purchase import Purchase
from domain.identity.user import User
from domain.values import Money


def _grant(execute: Executor) -> Statement:
    now = sa.bindparam("now", type_=content_access.c.granted_at.type)
    insert = execute.insert(content_access).values(
        **params(content_access, "id", "user_id", "content_id", "access_type", "expires_at"),
        granted_at=now, created_at=now, updated_at=now)
    return insert.on_conflict_do_update(
        index_elements=[content_access.c.user_id, content_access.c.content_id,
                        content_access.c.access_type],
        set_={"expires_at": insert.excluded.expires_at, "updated_at": insert.excluded.updated_at},
    ).returning(content_access.c.id)


def _add_purchase_count(execute: Executor) -> Statement:
    moved = content.c.purchase_count + sa.bindparam("delta", type_=sa.Integer())
    floor = sa.func.greatest if execute.dialect == "postgresql" else sa.func.max
    return (sa.update(content)
            .where(content.c.id == sa.bindparam("content_id", type_=content.c.id.type))
            .values(purchase_count=floor(moved, 0)))


def _held() -> sa.ColumnElement[bool]:
    """Whether a purchase, a booking or an installment carries the payment ``intent``:
    an indexed probe per table."""
    intent = sa.bindparam("intent", type_=purchases.c.stripe_payment_intent_id.type)
    return sa.or_(*(sa.exists().where(table.c.stripe_payment_intent_id == intent)
                    for table in (purchases, offering_bookings, booking_installments)))


def _holds_payment(execute: Executor) -> Statement:
    return sa.select(_held().label("held"))


def _record_unless_held(execute: Executor) -> Statement:
    """The event recorded unless one of ours carries its payment. On PostgreSQL it also
    says which, in the same statement: whether the payment is held, whether a row went
    in. SQLite has no INSERT in a CTE: there it inserts, and a probe follows when
    nothing went in."""
    now = sa.bindparam("now", type_=webhook_events.c.processed_at.type)
    held = _held()
    values = params(webhook_events, "id", "provider", "event_type")
    columns = ["id", "provider", "event_type", "processed_at", "created_at"]
    if execute.dialect != "postgresql":
        return (execute.insert(webhook_events)
                .from_select(columns, sa.select(values["id"], values["provider"],
                                                values["event_type"], now, now)
                             .where(sa.not_(held)))
                .on_conflict_do_nothing().returning(webhook_events.c.id))
    probe = sa.select(held.label("held")).cte("probe")
    recorded = (execute.insert(webhook_events)
                .from_select(columns, sa.select(values["id"], values["provider"],
                                                values["event_type"], now, now)
                             .where(sa.not_(probe.c.held)))
                .on_conflict_do_nothing().returning(webhook_events.c.id).cte("recorded"))
    return sa.select(probe.c.held, sa.exists(sa.select(recorded.c.id)).label("recorded"))


def _names(table: sa.Table, title: str, slug: str | None) -> Statement:
    """Titles and slugs by id, for receipts and notifications (each purchase sends both)."""
    return sa.select(table.c.id, table.c[title].label("title"),
                     (table.c[slug] if slug else sa.literal("")).label("slug")).where(
        table.c.id.in_(sa.bindparam("ids", expanding=True)))


def _line(with_buyer: bool) -> sa.Select[Any]:
    """A purchase with its item's names (and its buyer), by the purchase's id."""
    source = (purchases.outerjoin(content, content.c.id == purchases.c.content_id)
              .outerjoin(content_series, content_series.c.id == purchases.c.series_id)
              .outerjoin(credit_packs, credit_packs.c.id == purchases.c.credit_pack_id))
    columns: list[sa.ColumnElement[Any]] = [
        *purchases.c, content.c.title.label("content_title"),
        content.c.slug.label("content_slug"), content_series.c.title.label("series_title"),
        content_series.c.slug.label("series_slug"), credit_packs.c.name.label("pack_name")]
    if with_buyer:
        # As `users.get` reads them: a deleted account gets no receipt.
        source = source.join(users, sa.and_(users.c.id == purchases.c.customer_id,
                                            users.c.deleted_at.is_(None)))
        columns += [c.label(f"buyer_{c.name}") for c in users.c]
    return sa.select(*columns).select_from(source).where(
        purchases.c.id == sa.bindparam("purchase_id", type_=purchases.c.id.type))


_LINE = _line(with_buyer=False)
_LINE_AND_BUYER = _line(with_buyer=True)
_CONTENT_NAMES = _names(content, "title", "slug")
_SERIES_NAMES = _names(content_series, "title", "slug")
_PACK_NAMES = _names(credit_packs, "name", None)
_GRANT = OncePerDialect(_grant)
_RECORD_EVENT = OncePerDialect(record_event)
_ADD_PURCHASE_COUNT = OncePerDialect(_add_purchase_count)
_HOLDS_PAYMENT = OncePerDialect(_holds_payment)
_RECORD_UNLESS_HELD = OncePerDialect(_record_unless_held)


class _Dialect:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self._insert = execute.insert


class SqlGrantRepository(_Dialect):
    def grant(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
              expires_at: datetime | None, now: datetime) -> bool:
        (row,) = self._execute.rows(_GRANT(self._execute), {
            "id": grant_id, "user_id": user_id, "content_id": content_id,
            "access_type": access_type, "expires_at": expires_at, "now": now})
        return bool(row["id"] == grant_id)

    def give(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
             expires_at: datetime | None, now: datetime) -> None:
        self._execute.hold(_GRANT(self._execute), {
            "id": grant_id, "user_id": user_id, "content_id": content_id,
            "access_type": access_type, "expires_at": expires_at, "now": now})

    def revoke(self, *, user_id: UUID, content_id: UUID, access_type: str) -> bool:
        return self._execute(sa.delete(content_access).where(
            content_access.c.user_id == user_id, content_access.c.content_id == content_id,
            content_access.c.access_type == access_type)).rowcount > 0


class SqlCommerceLedger(_Dialect):
    def record_event(self, event_id: str, provider: str, event_type: str, now: datetime) -> bool:
        # The unique key is the whole guarantee: a parallel delivery of the same event
        # waits here for the first one's transaction, then finds the row.
        return bool(self._execute.rows(_RECORD_EVENT(self._execute), {
            "id": event_id, "provider": provider, "event_type": event_type[:255],
            "now": now}))

    def record_unless_held(self, event_id: str, provider: str, event_type: str,
                           intent_id: str | None, now: datetime) -> EventSeen:
        found = self._execute.rows(_RECORD_UNLESS_HELD(self._execute), {
            "id": event_id, "provider": provider, "event_type": event_type[:255],
            "intent": intent_id, "now": now})
        if self._execute.dialect == "postgresql":
            (row,) = found
            return "held" if row["held"] else "recorded" if row["recorded"] else "duplicate"
        if found:
            return "recorded"
        return "held" if intent_id and self._holds(intent_id) else "duplicate"

    def _holds(self, intent_id: str) -> bool:
        (row,) = self._execute.rows(_HOLDS_PAYMENT(self._execute), {"intent": intent_id})
        return bool(row["held"])

    def record_refund(self, refund_id: str, purchase_id: UUID, amount: Decimal, currency: str,
                      now: datetime) -> bool:
        row = self._execute(
            self._insert(purchase_refunds).values(
                id=refund_id, purchase_id=purchase_id, amount=amount, currency=currency,
                created_at=now)
            .on_conflict_do_nothing().returning(purchase_refunds.c.id)
        ).first()
        return row is not None

    def remember_refund_request(self, purchase_id: UUID, request_key: str,
                                refund: RefundRecord, now: datetime) -> None:
        insert = self._insert(purchase_refunds).values(
            id=refund.id, purchase_id=purchase_id, amount=refund.amount.amount,
            currency=refund.amount.currency, request_key=request_key, status=refund.status,
            created_at=now)
        self._execute(insert.on_conflict_do_update(
            index_elements=[purchase_refunds.c.id],
            set_={"request_key": insert.excluded.request_key,
                  "status": insert.excluded.status}))

    def refund_for_request(self, purchase_id: UUID, request_key: str) -> RefundRecord | None:
        row = self._execute(
            sa.select(purchase_refunds.c.id, purchase_refunds.c.amount,
                      purchase_refunds.c.currency, purchase_refunds.c.status)
            .where(purchase_refunds.c.purchase_id == purchase_id,
                   purchase_refunds.c.request_key == request_key)
        ).first()
        if row is None:
            return None
        return RefundRecord(id=row.id, amount=Money(row.amount, row.currency),
                            status=row.status or "succeeded")

    def refunded_total(self, purchase_id: UUID) -> Decimal:
        total = self._execute(
            sa.select(sa.func.coalesce(sa.func.sum(purchase_refunds.c.amount), 0))
            .where(purchase_refunds.c.purchase_id == purchase_id)
        ).scalar_one()
        return Decimal(str(total))

    def key_resource(self, user_id: UUID, scope: str, key: str) -> UUID | None:
        return self._execute(
            sa.select(idempotency_keys.c.resource_id).where(
                idempotency_keys.c.user_id == user_id, idempotency_keys.c.scope == scope,
                idempotency_keys.c.key == key)
        ).scalar_one_or_none()

    def remember_key(self, user_id: UUID, scope: str, key: str, resource_id: UUID,
                     now: datetime) -> UUID:
        self._execute(
            self._insert(idempotency_keys).values(
                user_id=user_id, scope=scope, key=key, resource_id=resource_id, created_at=now)
            .on_conflict_do_nothing()
        )
        kept: UUID = self._execute(
            sa.select(idempotency_keys.c.resource_id).where(
                idempotency_keys.c.user_id == user_id, idempotency_keys.c.scope == scope,
                idempotency_keys.c.key == key)
        ).scalar_one()
        return kept

    def add_purchase_count(self, content_id: UUID, delta: int) -> None:
        # Nothing reads it back: it goes with the commit (`Executor.hold`).
        self._execute.hold(_ADD_PURCHASE_COUNT(self._execute),
                           {"content_id": content_id, "delta": delta})

    def library_candidates(self, user_id: UUID) -> list[UUID]:
        granted = sa.select(content_access.c.content_id).where(
            content_access.c.user_id == user_id)
        bundled = (
            sa.select(content.c.id)
            .join(purchases, purchases.c.series_id == content.c.series_id)
            .where(purchases.c.customer_id == user_id, purchases.c.status == "completed")
        )
        return list(dict.fromkeys(self._execute(sa.union(granted, bundled)).scalars()))

    def line(self, purchase_id: UUID) -> PurchaseLine | None:
        rows = self._execute.rows(_LINE, {"purchase_id": purchase_id})
        return _line_from(rows[0]) if rows else None

    def line_and_buyer(self, purchase_id: UUID) -> tuple[PurchaseLine, User] | None:
        rows = self._execute.rows(_LINE_AND_BUYER, {"purchase_id": purchase_id})
        if not rows:
            return None
        r = rows[0]
        return _line_from(r), user_from_row({c.name: r[f"buyer_{c.name}"] for c in users.c})

    def describe(self, items: Sequence[Purchase]) -> Sequence[PurchaseLine]:
        names: dict[UUID, tuple[str, str]] = {}
        for statement, ids in ((_CONTENT_NAMES, [p.content_id for p in items if p.content_id]),
                               (_SERIES_NAMES, [p.series_id for p in items if p.series_id]),
                               (_PACK_NAMES,
                                [p.credit_pack_id for p in items if p.credit_pack_id])):
            if ids:
                names.update({r["id"]: (r["title"], r["slug"])
                              for r in self._execute.rows(statement, {"ids": ids})})
        lines = []
        for p in items:
            key = p.content_id or p.series_id or p.credit_pack_id
            title, slug = names.get(key, ("(removed item)", "")) if key else ("", "")
            kind = "content" if p.content_id else "series" if p.series_id else "credit_pack"
            lines.append(PurchaseLine(purchase=p, title=title, slug=slug, kind=kind))
        return lines


def _line_from(r: Mapping[str, Any]) -> PurchaseLine:
    """As `describe` names them: an item since deleted is "(removed item)"."""
    purchase = purchase_from_row(r)
    if purchase.content_id is not None:
        kind, title, slug = "content", r["content_title"], r["content_slug"]
    elif purchase.series_id is not None:
        kind, title, slug = "series", r["series_title"], r["series_slug"]
    else:
        kind, title, slug = "credit_pack", r["pack_name"], ""
    if title is None:
        title, slug = "(removed item)", ""
    return PurchaseLine(purchase=purchase, title=title, slug=slug, kind=kind)
