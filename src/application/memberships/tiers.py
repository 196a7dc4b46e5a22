"""Tiers: created and edited by platform owners, mirrored at the payment provider."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import attrs

from application.ports.billing import TierSync
from application.ports.payments import GatewayUnavailable
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound
from domain.identity.permissions import Permission
from domain.memberships.tier import BillingPeriod, SubscriptionTier

log = logging.getLogger("patronage.memberships")


def _record_mirror(services: Services, tier_id: UUID, sync: TierSync) -> SubscriptionTier:
    with services.uow_factory() as uow:
        tier = uow.tiers.get(tier_id, lock=True)
        if tier is None:
            raise NotFound("No such tier.", code="tier.not_found")
        prices = sync.prices
        tier.stripe_product_id = prices.product_id or tier.stripe_product_id
        if tier.price_monthly is not None:
            tier.stripe_price_monthly_id = prices.monthly or tier.stripe_price_monthly_id
        if tier.price_yearly is not None:
            tier.stripe_price_yearly_id = prices.yearly or tier.stripe_price_yearly_id
        uow.commit()
        return tier


def mirror(services: Services, tier: SubscriptionTier) -> SubscriptionTier:
    """Create or update the tier's Product and Prices; a provider outage only logs, and
    ``patronage tiers sync --apply`` (or the next subscription) catches up."""
    try:
        sync = services.payments.mirror_tier(tier, apply=True)
    except GatewayUnavailable:
        log.warning("tier %s not mirrored at the payment provider yet", tier.id)
        return tier
    return _record_mirror(services, tier.id, sync)


def ensure_prices(services: Services, tier: SubscriptionTier, period: BillingPeriod) -> str:
    """The provider's Price for this tier and period, created if missing."""
    price_id = tier.price_id(period)
    if price_id is not None and tier.stripe_product_id is not None:
        return price_id
    synced = _record_mirror(services, tier.id, services.payments.mirror_tier(tier, apply=True))
    price_id = synced.price_id(period)
    if price_id is None:
        raise GatewayUnavailable("The payment provider has no price for this tier yet.")
    return price_id


@attrs.frozen
class CreateTier:
    actor: Principal
    fields: Mapping[str, Any]
    currency: str = "usd"


def create_tier(cmd: CreateTier, uow: UnitOfWork, services: Services) -> SubscriptionTier:
    cmd.actor.require(Permission.TIERS_MANAGE)
    tier = SubscriptionTier.create(id=services.ids.new_id(), now=services.clock.now(),
                                   currency=cmd.currency, fields=cmd.fields)
    uow.tiers.add(tier)
    uow.commit()
    return mirror(services, tier) if tier.active else tier


@attrs.frozen
class UpdateTier:
    actor: Principal
    tier_id: UUID
    changes: Mapping[str, Any]


def update_tier(cmd: UpdateTier, uow: UnitOfWork, services: Services) -> SubscriptionTier:
    """Edit a tier. A new price is a new provider Price (the old one is archived);
    members already on the old price keep it until they switch. Deactivating stops
    new sign-ups and leaves members alone."""
    cmd.actor.require(Permission.TIERS_MANAGE)
    tier = uow.tiers.get(cmd.tier_id, lock=True)
    if tier is None:
        raise NotFound("No such tier.", code="tier.not_found")
    tier.edit(cmd.changes, services.clock.now())
    uow.commit()
    return mirror(services, tier)


@attrs.frozen
class ListTiers:
    actor: Principal
    include_inactive: bool = False


def list_tiers(cmd: ListTiers, uow: UnitOfWork, services: Services
               ) -> Sequence[SubscriptionTier]:
    if cmd.include_inactive:
        cmd.actor.require(Permission.TIERS_MANAGE)
    return uow.tiers.list(active_only=not cmd.include_inactive)


@attrs.frozen
class GetTier:
    actor: Principal
    tier_id: UUID


def get_tier(cmd: GetTier, uow: UnitOfWork, services: Services) -> SubscriptionTier:
    tier = uow.tiers.get(cmd.tier_id)
    if tier is None or (not tier.active and not cmd.actor.can(Permission.TIERS_MANAGE)):
        raise NotFound("No such tier.", code="tier.not_found")
    return tier


@attrs.frozen
class TierSyncReport:
    tier_id: UUID
    name: str
    drift: tuple[str, ...]
    changed: tuple[str, ...]


@attrs.frozen
class SyncTiers:
    actor: Principal
    apply: bool = False


def sync_tiers(cmd: SyncTiers, uow: UnitOfWork, services: Services
               ) -> Sequence[TierSyncReport]:
    """Compare every tier with its mirror; with ``apply``, make the provider match."""
    cmd.actor.require(Permission.TIERS_MANAGE)
    tiers = list(uow.tiers.list(active_only=False))
    uow.rollback()
    reports = []
    for tier in tiers:
        sync = services.payments.mirror_tier(tier, apply=cmd.apply)
        if cmd.apply:
            _record_mirror(services, tier.id, sync)
        reports.append(TierSyncReport(tier.id, tier.name, sync.drift, sync.changed))
    return reports
