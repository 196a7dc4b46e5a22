"""A member's view of their membership."""

from __future__ import annotations

from datetime import datetime

import attrs

from application.credits.views import CreditSummary, summary
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound
from domain.identity.permissions import Permission
from domain.memberships.subscription import Subscription, SubscriptionStatus
from domain.memberships.tier import SubscriptionTier


@attrs.frozen
class MembershipView:
    subscription: Subscription
    tier: SubscriptionTier
    has_access: bool
    renews_at: datetime | None  # the next charge, unless it ends first
    ends_at: datetime | None  # when access ends (cancelled, or grace running out)
    credits: CreditSummary


def membership_view(uow: UnitOfWork, services: Services, subscription: Subscription
                    ) -> MembershipView:
    tier = uow.tiers.get(subscription.tier_id)
    if tier is None:
        raise NotFound("No such tier.", code="tier.not_found")
    now = services.clock.now()
    status = subscription.status
    renewing = status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING) and \
        not subscription.cancel_at_period_end
    ends_at = (subscription.current_period_end if subscription.cancel_at_period_end
               else subscription.grace_until if status is SubscriptionStatus.PAST_DUE
               else subscription.canceled_at if status is SubscriptionStatus.CANCELED
               else None)
    return MembershipView(
        subscription=subscription, tier=tier, has_access=subscription.is_member(now),
        renews_at=subscription.current_period_end if renewing else None, ends_at=ends_at,
        credits=summary(uow, services, subscription.customer_id))


@attrs.frozen
class MySubscription:
    actor: Principal


def my_subscription(cmd: MySubscription, uow: UnitOfWork, services: Services
                    ) -> MembershipView:
    """Your live membership, else your most recent one."""
    subscription = uow.subscriptions.latest_for(cmd.actor.require_user())
    if subscription is None:
        raise NotFound("You have no membership.", code="subscription.not_found")
    return membership_view(uow, services, subscription)


@attrs.frozen
class ListSubscriptions:
    actor: Principal
    status: str | None = None
    limit: int = 50
    offset: int = 0


def list_subscriptions(cmd: ListSubscriptions, uow: UnitOfWork, services: Services
                       ) -> list[Subscription]:
    cmd.actor.require(Permission.SUBSCRIPTIONS_MANAGE_ANY)
    return list(uow.subscriptions.list(status=cmd.status, limit=cmd.limit, offset=cmd.offset))
