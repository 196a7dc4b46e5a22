from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.repositories.payouts import account_from
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.statements import OncePerDialect, params, read_by
from adapters.sqlalchemy.tables import (
    payout_accounts,
    platform_settings,
    purchases,
    users,
    webhook_events,
)
from application.ports.commerce import Buyer, Opening
from domain.commerce.purchase import PackTerms, Purchase, PurchaseStatus
from domain.errors import Conflict
from domain.identity.roles import Role
from domain.values import Money

_OPEN = Conflict("There is already an open purchase of this item.",
                 code="purchase.already_open")
OPEN_STATUSES = ("pending", "completed")


def to_row(p: Purchase) -> dict[str, Any]:
    return {
        "id": p.id, "customer_id": p.customer_id, "content_id": p.content_id,
        "series_id": p.series_id, "amount_paid": p.amount.amount,
        "currency": p.amount.currency, "stripe_payment_intent_id": p.payment_intent_id,
        "platform_fee_amount": p.platform_fee.amount,
        "creator_payout_amount": p.creator_payout.amount, "status": p.status.value,
        "purchased_at": p.purchased_at, "refunded_at": p.refunded_at,
        "refund_reason": p.refund_reason, "created_at": p.created_at,
        "updated_at": p.updated_at, "credit_pack_id": p.credit_pack_id,
        "pack_credits": p.pack.credits if p.pack else None,
        "pack_valid_days": p.pack.valid_days if p.pack else None,
        "seller_id": p.seller_id, "payout_account": p.payout_account,
    }


_ADD = OncePerDialect(lambda execute: (
    execute.insert(purchases).values(**params(purchases, *(c.name for c in purchases.c)))
    .on_conflict_do_nothing().returning(purchases.c.id)))


# Locked reads are held until commit: webhook deliveries and client calls for the same
# purchase take turns.
_BY_ID = read_by(purchases.c.id)
_BY_INTENT = read_by(purchases.c.stripe_payment_intent_id)


def record_event(execute: Executor) -> sa.Insert:
    """A gateway event's id kept, unless it is kept already (then it returns no row)."""
    now = sa.bindparam("now", type_=webhook_events.c.processed_at.type)
    return (execute.insert(webhook_events)
            .values(**params(webhook_events, "id", "provider", "event_type"),
                    processed_at=now, created_at=now)
            .on_conflict_do_nothing().returning(webhook_events.c.id))


def _event_and_purchase(execute: Executor) -> Statement:
    """PostgreSQL: the event recorded and, only when it is new, the purchase it names read
    locked, in one statement (SQLite has no INSERT in a CTE; it locks nothing anyway)."""
    recorded = record_event(execute).cte("recorded")
    first = sa.exists(sa.select(recorded.c.id))
    locked = (sa.select(purchases)
              .where(purchases.c.id == sa.bindparam("key", type_=purchases.c.id.type), first)
              .with_for_update().subquery("locked"))
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    return sa.select(first.label("first_seen"), *locked.c).select_from(
        one.outerjoin(locked, sa.true()))


_EVENT_AND_PURCHASE = OncePerDialect(_event_and_purchase)
_RECORD_EVENT = OncePerDialect(record_event)


def _open(column: sa.Column[Any], *open_statuses: str) -> sa.Select[Any]:
    return sa.select(purchases).where(
        purchases.c.customer_id == sa.bindparam("customer_id", type_=purchases.c.customer_id.type),
        column == sa.bindparam("item", type_=column.type),
        purchases.c.status.in_(open_statuses))


_OPEN_CONTENT = _open(purchases.c.content_id, *OPEN_STATUSES)
_OPEN_SERIES = _open(purchases.c.series_id, *OPEN_STATUSES)
# A pack is bought again and again: only a payment still awaited is open.
_OPEN_PACK = _open(purchases.c.credit_pack_id, "pending")


_ACCOUNT_COLUMNS = [c for c in payout_accounts.c if c.name not in ("payouts",
                                                                  "payouts_fetched_at")]


def _opening(column: sa.Column[Any], *open_statuses: str) -> sa.Select[Any]:
    """The open purchase, the buyer and the seller's terms, from a one-row anchor so
    that what is missing reads as NULL instead of taking the row away."""
    buyer, seller = users.alias("buyer"), users.alias("seller")
    customer = sa.bindparam("customer_id", type_=purchases.c.customer_id.type)
    anchor = sa.select(sa.literal_column("1").label("one")).subquery("anchor")
    fee = sa.select(platform_settings.c.platform_fee_percent).limit(1).scalar_subquery()
    return (
        sa.select(*purchases.c, buyer.c.id.label("buyer_id"),
                  buyer.c.email.label("buyer_email"),
                  buyer.c.stripe_customer_id.label("buyer_customer_id"),
                  seller.c.role.label("seller_role"), fee.label("fee_percent"),
                  *(c.label(f"account_{c.name}") for c in _ACCOUNT_COLUMNS))
        .select_from(anchor)
        .outerjoin(buyer, buyer.c.id == customer)
        .outerjoin(purchases, sa.and_(purchases.c.customer_id == customer,
                                      column == sa.bindparam("item", type_=column.type),
                                      purchases.c.status.in_(open_statuses)))
        .outerjoin(seller, seller.c.id == sa.bindparam("seller_id", type_=users.c.id.type))
        .outerjoin(payout_accounts, payout_accounts.c.user_id == seller.c.id)
        .limit(1)
    )


_OPENING_CONTENT = _opening(purchases.c.content_id, *OPEN_STATUSES)
_OPENING_SERIES = _opening(purchases.c.series_id, *OPEN_STATUSES)
_OPENING_PACK = _opening(purchases.c.credit_pack_id, "pending")


def _by_item(reads: tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]],
             content_id: UUID | None, series_id: UUID | None, credit_pack_id: UUID | None
             ) -> tuple[sa.Select[Any], UUID | None]:
    """Of a statement for a content item, a series and a pack: the one for the item
    named, and its id."""
    if credit_pack_id is not None:
        return reads[2], credit_pack_id
    if content_id is not None:
        return reads[0], content_id
    return reads[1], series_id


def from_row(r: Mapping[Any, Any]) -> Purchase:
    currency = r["currency"]
    return Purchase(
        id=r["id"], customer_id=r["customer_id"], content_id=r["content_id"],
        series_id=r["series_id"], amount=Money(r["amount_paid"], currency),
        platform_fee=Money(r["platform_fee_amount"], currency),
        creator_payout=Money(r["creator_payout_amount"], currency),
        created_at=r["created_at"], updated_at=r["updated_at"],
        status=PurchaseStatus(r["status"]), payment_intent_id=r["stripe_payment_intent_id"],
        purchased_at=r["purchased_at"], refunded_at=r["refunded_at"],
        refund_reason=r["refund_reason"],
        pack=(PackTerms(r["credit_pack_id"], r["pack_credits"], r["pack_valid_days"])
              if r["credit_pack_id"] is not None else None),
        seller_id=r["seller_id"], payout_account=r["payout_account"],
    )


class SqlPurchaseRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[Purchase] = Tracker(execute, purchases, to_row)

    def add(self, purchase: Purchase) -> None:
        row = to_row(purchase)
        # An open purchase of the item (a double click's) skips the row instead of
        # failing the statement: the transaction goes on without a SAVEPOINT around it.
        try:
            inserted = self._execute.rows(_ADD(self._execute), row)
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_purchases_open": _OPEN,
                                        "purchases.customer_id": _OPEN}) from error
        if not inserted:
            raise _OPEN
        self.tracker.track(purchase.id, purchase, row)

    def get(self, purchase_id: UUID, *, lock: bool = False) -> Purchase | None:
        return self.tracker.read(_BY_ID, purchase_id, from_row, lock=lock)

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Purchase | None:
        return self.tracker.read(_BY_INTENT, intent_id, from_row, lock=lock)

    def record_event_and_lock(self, purchase_id: UUID, *, event_id: str, provider: str,
                              event_type: str, now: datetime) -> tuple[bool, Purchase | None]:
        event = {"id": event_id, "provider": provider, "event_type": event_type[:255],
                 "now": now}
        if self._execute.dialect != "postgresql":
            if not self._execute.rows(_RECORD_EVENT(self._execute), event):
                return False, None
            return True, self.get(purchase_id, lock=True)
        self.tracker.flush()  # as for any locked read: the row must hold what changed
        (row,) = self._execute.rows(_EVENT_AND_PURCHASE(self._execute),
                                    {**event, "key": purchase_id})
        if not row["first_seen"]:
            return False, None
        return True, self.tracker.load(row if row["id"] is not None else None, from_row,
                                       locked=True)

    def series_buyers(self, series_id: UUID) -> Sequence[UUID]:
        return list(self._execute(
            sa.select(purchases.c.customer_id).distinct()
            .where(purchases.c.series_id == series_id, purchases.c.status == "completed")
        ).scalars())

    def open_for(self, customer_id: UUID, *, content_id: UUID | None,
                 series_id: UUID | None, credit_pack_id: UUID | None = None
                 ) -> Purchase | None:
        statement, item = _by_item((_OPEN_CONTENT, _OPEN_SERIES, _OPEN_PACK),
                                   content_id, series_id, credit_pack_id)
        rows = self._execute.rows(statement, {"customer_id": customer_id, "item": item})
        return self.tracker.load(rows[0] if rows else None, from_row, locked=False)

    def opening(self, customer_id: UUID, *, content_id: UUID | None, series_id: UUID | None,
                credit_pack_id: UUID | None, seller_id: UUID | None) -> Opening:
        statement, item = _by_item((_OPENING_CONTENT, _OPENING_SERIES, _OPENING_PACK),
                                   content_id, series_id, credit_pack_id)
        (r,) = self._execute.rows(statement, {"customer_id": customer_id, "item": item,
                                              "seller_id": seller_id})
        purchase = self.tracker.load({c.name: r[c.name] for c in purchases.c}
                                     if r["id"] is not None else None, from_row, locked=False)
        account = (account_from({c.name: r[f"account_{c.name}"] for c in _ACCOUNT_COLUMNS})
                   if r["account_user_id"] is not None else None)
        return Opening(
            open_purchase=purchase,
            buyer=(Buyer(r["buyer_id"], r["buyer_email"], r["buyer_customer_id"])
                   if r["buyer_id"] is not None else None),
            fee_percent=r["fee_percent"],
            seller_role=Role(r["seller_role"]) if r["seller_role"] is not None else None,
            payout_account=account)

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Purchase]:
        rows = self._execute(
            sa.select(purchases).where(purchases.c.customer_id == customer_id)
            .order_by(purchases.c.created_at.desc(), purchases.c.id.desc())
            .limit(limit).offset(offset)
        ).mappings().all()
        return [from_row(r) for r in rows]
