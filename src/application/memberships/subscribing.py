"""Becoming a member, switching tier or period, cancelling and resuming.

Provider calls happen outside transactions; what they return is applied through
``apply_state`` (and, for the sandbox, the events they produced go through the
same handler as Stripe's webhooks).
"""

from __future__ import annotations

import logging
from uuid import UUID

import attrs

from application.memberships.billing_events import apply_change
from application.memberships.tiers import ensure_prices
from application.ports.payments import GatewayUnavailable, PaymentDeclined
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, Forbidden, NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.memberships.subscription import Subscription, SubscriptionStatus
from domain.memberships.tier import BillingPeriod, SubscriptionTier
from domain.values import Money

IDEMPOTENCY_KEY_MAX = 200
log = logging.getLogger("patronage.memberships")


@attrs.frozen
class Subscribed:
    subscription_id: UUID
    status: str
    tier_id: UUID
    billing_period: str
    amount: Money
    client_secret: str | None
    gateway: str


@attrs.frozen(repr=False)
class Subscribe:
    actor: Principal
    tier_id: UUID
    billing_period: str = "monthly"
    payment_method: str | None = None
    idempotency_key: str | None = None

    def __repr__(self) -> str:
        return f"Subscribe(tier_id={self.tier_id}, billing_period={self.billing_period})"


def _period(value: str) -> BillingPeriod:
    try:
        return BillingPeriod(value)
    except ValueError:
        raise ValidationError("billing_period is monthly or yearly.",
                              code="subscription.period", field="billing_period") from None


def _open_tier(uow: UnitOfWork, tier_id: UUID, period: BillingPeriod
               ) -> tuple[SubscriptionTier, Money]:
    tier = uow.tiers.get(tier_id)
    if tier is None:
        raise NotFound("No such tier.", code="tier.not_found")
    tier.require_open()
    return tier, tier.price_for(period)


def _check_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise ValidationError("Idempotency-Key must be 1 to 200 characters.",
                              code="request.idempotency_key")


def subscribe(cmd: Subscribe, uow: UnitOfWork, services: Services) -> Subscribed:
    user_id = cmd.actor.require_user()
    if not cmd.actor.email_verified:
        raise Forbidden("Confirm your email address before subscribing.",
                        code="subscription.email_unverified")
    _check_key(cmd.idempotency_key)
    period = _period(cmd.billing_period)
    now = services.clock.now()
    if cmd.idempotency_key:
        first = uow.ledger.key_resource(user_id, "subscription", cmd.idempotency_key)
        if first is not None:
            earlier = uow.subscriptions.get(first)
            if earlier is None or (earlier.tier_id, earlier.billing_period) != (
                    cmd.tier_id, period):
                raise Conflict("This Idempotency-Key was used for another subscription.",
                               code="request.idempotency_key_reused")
            uow.rollback()
            return _pay(earlier.id, cmd, services)
    tier, _ = _open_tier(uow, cmd.tier_id, period)
    live = uow.subscriptions.live_for(user_id, lock=True)
    if live is not None and live.status is not SubscriptionStatus.INCOMPLETE:
        raise Conflict("You already have a membership: change its tier instead.",
                       code="subscription.exists",
                       details={"subscription_id": str(live.id)})
    if live is not None and (live.tier_id, live.billing_period) == (tier.id, period):
        subscription = live  # a retried first payment continues the same subscription
    else:
        if live is not None:
            # An unpaid start of another choice: the customer changed their mind. At the
            # provider it is cancelled too, so paying its old invoice later starts nothing.
            live.abandon(now)
            uow.commit()
            if live.provider_id is not None:
                _drop_at_provider(services, live)
        subscription = Subscription.start(id=services.ids.new_id(), customer_id=user_id,
                                          tier_id=tier.id, period=period, now=now)
        try:
            uow.subscriptions.add(subscription)
        except Conflict:
            uow.rollback()  # a parallel request (a double click) started one first
            theirs = uow.subscriptions.live_for(user_id)
            if theirs is None or (theirs.tier_id, theirs.billing_period) != (tier.id, period):
                raise
            subscription = theirs
    if cmd.idempotency_key:
        first = uow.ledger.remember_key(user_id, "subscription", cmd.idempotency_key,
                                        subscription.id, now)
        if first != subscription.id:
            raise Conflict("This Idempotency-Key was used for another subscription.",
                           code="request.idempotency_key_reused")
    uow.commit()
    return _pay(subscription.id, cmd, services)


def _drop_at_provider(services: Services, abandoned: Subscription) -> None:
    try:
        services.payments.cancel_subscription(abandoned,
                                              idempotency_key=f"abandon-{abandoned.id}")
    except GatewayUnavailable:
        log.warning("subscription %s was abandoned but is not yet cancelled at the "
                    "provider (it expires there unpaid within a day)", abandoned.id)


def _pay(subscription_id: UUID, cmd: Subscribe, services: Services) -> Subscribed:
    gateway = services.payments
    with services.uow_factory() as uow:
        subscription = uow.subscriptions.get(subscription_id)
        user = uow.users.get(cmd.actor.require_user())
        if subscription is None or user is None:
            raise NotFound("No such subscription.", code="subscription.not_found")
        tier, price = _open_tier(uow, subscription.tier_id, subscription.billing_period)
        first_time = not uow.subscriptions.has_had(user.id)
        if subscription.status is not SubscriptionStatus.INCOMPLETE:
            return _subscribed(subscription, price, None, gateway.name)
        customer_id = gateway.ensure_customer(user_id=user.id, email=user.email.value,
                                              existing_id=user.stripe_customer_id)
        if customer_id != user.stripe_customer_id:
            user.stripe_customer_id = customer_id
            uow.commit()
    price_id = ensure_prices(services, tier, subscription.billing_period)
    try:
        change = gateway.create_subscription(
            subscription=subscription, customer_id=customer_id, price_id=price_id,
            price=price, trial_days=tier.trial_days if first_time else 0,
            payment_method=cmd.payment_method)
    except PaymentDeclined:
        with services.uow_factory() as uow:
            failed = uow.subscriptions.get(subscription_id, lock=True)
            if failed is not None and failed.abandon(services.clock.now()):
                uow.commit()
        raise
    with services.uow_factory() as uow:
        locked = uow.subscriptions.get(subscription_id, lock=True)
        if locked is None:
            raise NotFound("No such subscription.", code="subscription.not_found")
        locked.attach(change.state.provider_id, services.clock.now())
        locked.payment_method_hint = change.payment_method_hint or locked.payment_method_hint
        uow.commit()
    apply_change(services, subscription_id, change)
    with services.uow_factory(read_only=True) as uow:
        final = uow.subscriptions.get(subscription_id)
    if final is None:
        raise NotFound("No such subscription.", code="subscription.not_found")
    return _subscribed(final, price, change.client_secret, gateway.name)


def _subscribed(subscription: Subscription, price: Money, client_secret: str | None,
                gateway: str) -> Subscribed:
    return Subscribed(subscription_id=subscription.id, status=subscription.status.value,
                      tier_id=subscription.tier_id,
                      billing_period=subscription.billing_period.value, amount=price,
                      client_secret=(client_secret if subscription.status
                                     is SubscriptionStatus.INCOMPLETE else None),
                      gateway=gateway)


def _mine(uow: UnitOfWork, actor: Principal) -> Subscription:
    subscription = uow.subscriptions.live_for(actor.require_user())
    if subscription is None or subscription.status is SubscriptionStatus.INCOMPLETE:
        raise NotFound("You have no membership.", code="subscription.not_found")
    return subscription


@attrs.frozen
class ChangeSubscription:
    actor: Principal
    tier_id: UUID
    billing_period: str | None = None


def change_subscription(cmd: ChangeSubscription, uow: UnitOfWork, services: Services
                        ) -> Subscription:
    """Switch to another tier (or period); the provider prorates."""
    subscription = _mine(uow, cmd.actor)
    period = _period(cmd.billing_period) if cmd.billing_period else subscription.billing_period
    if (subscription.tier_id, subscription.billing_period) == (cmd.tier_id, period):
        raise Conflict("That is your current tier.", code="subscription.same_tier")
    tier, price = _open_tier(uow, cmd.tier_id, period)
    uow.rollback()
    price_id = ensure_prices(services, tier, period)
    change = services.payments.change_subscription(
        subscription, tier_id=tier.id, period=period, price_id=price_id, price=price,
        idempotency_key=f"change-{subscription.id}-{tier.id}-{period.value}-"
                        f"{_version(subscription)}")
    apply_change(services, subscription.id, change)
    return _reread(services, subscription.id)


def _version(subscription: Subscription) -> str:
    """Which state of the subscription a request acts on. Part of the provider's
    idempotency key: a double click repeats the same request, while cancel, resume and
    cancel again are three requests (a key reused across them would make the provider
    replay the first answer and change nothing)."""
    synced = subscription.synced_at or subscription.updated_at
    return f"{int(synced.timestamp() * 1_000_000)}"


def _reread(services: Services, subscription_id: UUID) -> Subscription:
    with services.uow_factory(read_only=True) as uow:
        found = uow.subscriptions.get(subscription_id)
    if found is None:
        raise NotFound("No such subscription.", code="subscription.not_found")
    return found


@attrs.frozen
class CancelMySubscription:
    actor: Principal


def cancel_my_subscription(cmd: CancelMySubscription, uow: UnitOfWork, services: Services
                           ) -> Subscription:
    """Cancel at the end of the paid period: access continues until then."""
    subscription = _mine(uow, cmd.actor)
    if subscription.cancel_at_period_end:
        return subscription
    uow.rollback()
    change = services.payments.set_cancel_at_period_end(
        subscription, True, idempotency_key=f"cancel-{subscription.id}-{_version(subscription)}")
    apply_change(services, subscription.id, change)
    return _reread(services, subscription.id)


@attrs.frozen
class ResumeMySubscription:
    actor: Principal


def resume_my_subscription(cmd: ResumeMySubscription, uow: UnitOfWork, services: Services
                           ) -> Subscription:
    """Undo a cancellation before the period ends."""
    subscription = _mine(uow, cmd.actor)
    if not subscription.cancel_at_period_end:
        raise Conflict("Your membership is not cancelled.", code="subscription.not_canceled")
    uow.rollback()
    change = services.payments.set_cancel_at_period_end(
        subscription, False, idempotency_key=f"resume-{subscription.id}-{_version(subscription)}")
    apply_change(services, subscription.id, change)
    return _reread(services, subscription.id)


@attrs.frozen
class CancelSubscriptionNow:
    actor: Principal
    subscription_id: UUID


def cancel_subscription_now(cmd: CancelSubscriptionNow, uow: UnitOfWork, services: Services
                            ) -> Subscription:
    """An owner ends a membership at once (access stops now; no refund is made)."""
    cmd.actor.require(Permission.SUBSCRIPTIONS_MANAGE_ANY)
    subscription = uow.subscriptions.get(cmd.subscription_id)
    if subscription is None:
        raise NotFound("No such subscription.", code="subscription.not_found")
    if subscription.status is SubscriptionStatus.CANCELED:
        return subscription
    if subscription.provider_id is None:
        subscription.abandon(services.clock.now())
        uow.commit()
        return subscription
    uow.rollback()
    change = services.payments.cancel_subscription(
        subscription, idempotency_key=f"end-{subscription.id}")
    apply_change(services, subscription.id, change)
    return _reread(services, subscription.id)
