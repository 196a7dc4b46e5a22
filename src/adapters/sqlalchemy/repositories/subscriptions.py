from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import subscriptions
from domain.errors import Conflict
from domain.memberships.subscription import Subscription, SubscriptionStatus
from domain.memberships.tier import BillingPeriod

EXISTS = Conflict("You already have a membership: change its tier instead.",
                  code="subscription.exists")
LIVE = ("incomplete", "trialing", "active", "past_due")
MEMBER = ("trialing", "active", "past_due")


def to_row(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id, "customer_id": s.customer_id, "tier_id": s.tier_id,
        "stripe_subscription_id": s.provider_id, "billing_period": s.billing_period.value,
        "current_period_start": s.current_period_start,
        "current_period_end": s.current_period_end, "status": s.status.value,
        "cancel_at_period_end": s.cancel_at_period_end, "trial_end": s.trial_end,
        "created_at": s.created_at, "updated_at": s.updated_at,
        "canceled_at": s.canceled_at, "past_due_since": s.past_due_since,
        "grace_until": s.grace_until, "synced_at": s.synced_at,
        "paid_invoice_id": s.paid_invoice_id, "paid_period_start": s.paid_period_start,
        "payment_method_hint": s.payment_method_hint,
    }


def from_row(r: sa.RowMapping) -> Subscription:
    return Subscription(
        id=r["id"], customer_id=r["customer_id"], tier_id=r["tier_id"],
        billing_period=BillingPeriod(r["billing_period"]),
        current_period_start=r["current_period_start"],
        current_period_end=r["current_period_end"], created_at=r["created_at"],
        updated_at=r["updated_at"], status=SubscriptionStatus(r["status"]),
        provider_id=r["stripe_subscription_id"],
        cancel_at_period_end=r["cancel_at_period_end"], trial_end=r["trial_end"],
        canceled_at=r["canceled_at"], past_due_since=r["past_due_since"],
        grace_until=r["grace_until"], synced_at=r["synced_at"],
        paid_invoice_id=r["paid_invoice_id"], paid_period_start=r["paid_period_start"],
        payment_method_hint=r["payment_method_hint"],
    )


class SqlSubscriptionRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[Subscription] = Tracker(execute, subscriptions, to_row)

    def add(self, subscription: Subscription) -> None:
        row = to_row(subscription)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(subscriptions).values(**row))
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_subscriptions_live_customer": EXISTS,
                                        "subscriptions.customer_id": EXISTS}) from error
        self.tracker.track(subscription.id, subscription, row)

    def _one(self, condition: sa.ColumnElement[bool], lock: bool,
             order: Sequence[sa.ColumnElement[Any]] = ()) -> Subscription | None:
        query = sa.select(subscriptions).where(condition).order_by(*order).limit(1)
        if lock:
            # Held until commit: webhook deliveries and member requests take turns.
            self.tracker.flush()
            query = query.with_for_update()
        return self.tracker.load(self._execute(query).mappings().first(), from_row,
                                 locked=lock)

    def get(self, subscription_id: UUID, *, lock: bool = False) -> Subscription | None:
        return self._one(subscriptions.c.id == subscription_id, lock)

    def get_by_provider(self, provider_id: str, *, lock: bool = False
                        ) -> Subscription | None:
        return self._one(subscriptions.c.stripe_subscription_id == provider_id, lock)

    def live_for(self, customer_id: UUID, *, lock: bool = False) -> Subscription | None:
        return self._one(sa.and_(subscriptions.c.customer_id == customer_id,
                                 subscriptions.c.status.in_(LIVE)), lock)

    def latest_for(self, customer_id: UUID) -> Subscription | None:
        s = subscriptions
        return self._one(s.c.customer_id == customer_id, False, order=(
            sa.case((s.c.status.in_(LIVE), 0), else_=1), s.c.created_at.desc(), s.c.id.desc()))

    def has_had(self, customer_id: UUID) -> bool:
        s = subscriptions
        found = self._execute(sa.select(s.c.id).where(
            s.c.customer_id == customer_id,
            sa.or_(s.c.status.in_(MEMBER), s.c.paid_invoice_id.is_not(None),
                   s.c.trial_end.is_not(None))).limit(1)).first()
        return found is not None

    def _many(self, query: sa.Select[Any]) -> list[Subscription]:
        found = []
        for row in self._execute(query).mappings():
            known = self.tracker.get(row["id"])
            found.append(known or self.tracker.track(row["id"], from_row(row)))
        return found

    def due(self, now: datetime, limit: int) -> Sequence[Subscription]:
        s = subscriptions
        return self._many(sa.select(s).where(s.c.status.in_(MEMBER),
                                             s.c.current_period_end <= now)
                          .order_by(s.c.current_period_end, s.c.id).limit(limit))

    def yearly_members(self, limit: int, after: UUID | None) -> Sequence[Subscription]:
        s = subscriptions
        query = sa.select(s).where(s.c.status.in_(MEMBER), s.c.billing_period == "yearly",
                                   s.c.paid_invoice_id.is_not(None))
        if after is not None:
            query = query.where(s.c.id > after)
        return self._many(query.order_by(s.c.id).limit(limit))

    def list(self, *, status: str | None, limit: int, offset: int) -> Sequence[Subscription]:
        s = subscriptions
        query = sa.select(s).order_by(s.c.created_at.desc(), s.c.id.desc())
        if status is not None:
            query = query.where(s.c.status == status)
        return self._many(query.limit(limit).offset(offset))
