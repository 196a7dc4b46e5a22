"""The sandbox's time machine: move its clock and bill what fell due.

With the sandbox gateway nobody else renews subscriptions, so moving the clock
does what Stripe's billing would do in that time: each subscription whose period
ended is charged on its saved test card (renewed, or past_due when the card fails),
or ended if it was cancelled at period end; the resulting events go through the
same handler as Stripe's webhooks. Then the credit schedule runs, and the installments
of bookings paid monthly that fell due are charged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from application.credits.schedule import CreditScheduleReport, run_credit_schedule
from application.memberships.billing_events import apply_change
from application.offerings.installments import (
    ChargeDueInstallments,
    InstallmentReport,
    charge_due_installments,
)
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, ValidationError
from domain.identity.permissions import Permission
from domain.memberships.subscription import SubscriptionStatus

MAX_DAYS = 3660
# A subscription renews at most this many times in one run (ten years of months).
MAX_RENEWALS = 130
BATCH = 100


@attrs.frozen
class RenewalReport:
    now: datetime
    renewed: int = 0
    failed: int = 0
    ended: int = 0
    credits_expired: int = 0  # by renewals and by the schedule alike
    credits: CreditScheduleReport | None = None
    installments: InstallmentReport | None = None


@attrs.frozen
class AdvanceSandbox:
    actor: Principal
    days: int


def advance_sandbox(cmd: AdvanceSandbox, uow: UnitOfWork, services: Services) -> RenewalReport:
    cmd.actor.require(Permission.SUBSCRIPTIONS_MANAGE_ANY)
    if services.travel is None:
        raise Conflict("Only the sandbox's clock can be moved; Stripe bills on its own.",
                       code="sandbox.not_active")
    if isinstance(cmd.days, bool) or not isinstance(cmd.days, int) or not (
            0 < cmd.days <= MAX_DAYS):
        raise ValidationError(f"days is a whole number from 1 to {MAX_DAYS}.",
                              code="sandbox.days", field="days")
    uow.rollback()
    services.travel.advance(timedelta(days=cmd.days))
    report = bill_due(services)
    plans = charge_due_installments(ChargeDueInstallments(actor=cmd.actor), uow, services)
    return attrs.evolve(report, installments=plans)


def bill_due(services: Services) -> RenewalReport:
    """Renew (or end) every subscription whose period ended by now."""
    now = services.clock.now()
    with services.uow_factory(read_only=True) as uow:
        expired_before = uow.credits.expired_total()
    renewed = failed = ended = 0
    attempts: dict[object, int] = {}
    while True:
        with services.uow_factory(read_only=True) as uow:
            due = [s for s in uow.subscriptions.due(now, BATCH)
                   if attempts.get(s.id, 0) < MAX_RENEWALS]
            prices = {}
            for subscription in due:
                tier = uow.tiers.get(subscription.tier_id)
                prices[subscription.id] = tier.price_for(subscription.billing_period) \
                    if tier is not None else None
        if not due:
            break
        for subscription in due:
            attempts[subscription.id] = attempts.get(subscription.id, 0) + 1
            price = prices[subscription.id]
            if price is None:
                continue
            change = services.payments.renew(subscription, price, now)
            apply_change(services, subscription.id, change)
            status = change.state.status
            if status is SubscriptionStatus.CANCELED:
                ended += 1
            elif status is SubscriptionStatus.PAST_DUE:
                failed += 1
            else:
                renewed += 1
    schedule = run_credit_schedule(services)
    with services.uow_factory(read_only=True) as uow:
        expired = uow.credits.expired_total() - expired_before
    return RenewalReport(now=now, renewed=renewed, failed=failed, ended=ended,
                         credits_expired=expired, credits=schedule)
