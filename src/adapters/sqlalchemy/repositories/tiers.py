from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import subscription_tiers
from domain.memberships.tier import SubscriptionTier, parse_rules
from domain.values import Money


def to_row(t: SubscriptionTier) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "description": t.description,
        "price_monthly": t.price_monthly.amount if t.price_monthly else None,
        "price_yearly": t.price_yearly.amount if t.price_yearly else None,
        "currency": t.currency, "category_access": list(t.category_access),
        "full_catalog_access": t.full_catalog_access,
        "offering_access_rules": [rule.to_json() for rule in t.offering_access_rules],
        "monthly_credits": t.monthly_credits, "credit_rollover": t.credit_rollover,
        "credit_rollover_cap": t.credit_rollover_cap, "trial_days": t.trial_days,
        "active": t.active, "stripe_product_id": t.stripe_product_id,
        "stripe_price_monthly_id": t.stripe_price_monthly_id,
        "stripe_price_yearly_id": t.stripe_price_yearly_id,
        "created_at": t.created_at, "updated_at": t.updated_at,
    }


def from_row(r: sa.RowMapping) -> SubscriptionTier:
    currency = r["currency"]
    return SubscriptionTier(
        id=r["id"], name=r["name"], currency=currency, created_at=r["created_at"],
        updated_at=r["updated_at"], description=r["description"],
        price_monthly=(Money(r["price_monthly"], currency)
                       if r["price_monthly"] is not None else None),
        price_yearly=(Money(r["price_yearly"], currency)
                      if r["price_yearly"] is not None else None),
        trial_days=r["trial_days"], category_access=list(r["category_access"] or []),
        full_catalog_access=r["full_catalog_access"],
        offering_access_rules=parse_rules(r["offering_access_rules"] or []),
        monthly_credits=r["monthly_credits"], credit_rollover=r["credit_rollover"],
        credit_rollover_cap=r["credit_rollover_cap"], active=r["active"],
        stripe_product_id=r["stripe_product_id"],
        stripe_price_monthly_id=r["stripe_price_monthly_id"],
        stripe_price_yearly_id=r["stripe_price_yearly_id"],
    )


class SqlTierRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[SubscriptionTier] = Tracker(execute, subscription_tiers, to_row)

    def add(self, tier: SubscriptionTier) -> None:
        row = to_row(tier)
        self._execute(sa.insert(subscription_tiers).values(**row))
        self.tracker.track(tier.id, tier, row)

    def get(self, tier_id: UUID, *, lock: bool = False) -> SubscriptionTier | None:
        known = self.tracker.get(tier_id)
        if known is not None and not lock:
            return known
        query = sa.select(subscription_tiers).where(subscription_tiers.c.id == tier_id)
        if lock:
            query = query.with_for_update()
        row = self._execute(query).mappings().first()
        if row is None:
            return None
        fresh = from_row(row)
        self.tracker.forget(tier_id)
        return self.tracker.track(tier_id, fresh, to_row(fresh))

    def list(self, *, active_only: bool) -> Sequence[SubscriptionTier]:
        t = subscription_tiers
        query = sa.select(t).order_by(
            sa.func.coalesce(t.c.price_monthly, t.c.price_yearly / 12), t.c.name, t.c.id)
        if active_only:
            query = query.where(t.c.active.is_(True))
        tiers = []
        for row in self._execute(query).mappings():
            known = self.tracker.get(row["id"])
            tiers.append(known or self.tracker.track(row["id"], from_row(row)))
        return tiers
