"""The credit schedule: monthly credits that fell due, and credits that expired.

Safe to run at any time and as often as wanted (``patronage credits expire``, the
worker, the sandbox's clock): grants are keyed by invoice and month, and an expiry
writes off only what is still there.
"""

from __future__ import annotations

from uuid import UUID

import attrs

from application.credits.ledger import expire_credits, grant_due_months
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.identity.permissions import Permission

BATCH = 200


@attrs.frozen
class CreditScheduleReport:
    granted: int
    expired: int
    customers: int


def run_credit_schedule(services: Services) -> CreditScheduleReport:
    granted = expired = 0
    touched: set[UUID] = set()
    done: set[UUID] = set()  # each customer once per run, so a run always ends
    after: UUID | None = None
    while True:
        with services.uow_factory(read_only=True) as uow:
            members = list(uow.subscriptions.yearly_members(BATCH, after))
        if not members:
            break
        after = members[-1].id
        for member in members:
            with services.uow_factory() as uow:
                subscription = uow.subscriptions.get(member.id, lock=True)
                tier = uow.tiers.get(member.tier_id)
                if subscription is None or tier is None or not subscription.is_live:
                    continue
                moved = grant_due_months(uow, services, subscription, tier)
                uow.commit()
            if moved.granted or moved.expired:
                granted += moved.granted
                expired += moved.expired
                touched.add(member.customer_id)
    while True:
        with services.uow_factory(read_only=True) as uow:
            customers = [c for c in uow.credits.with_expired_credits(services.clock.now(), BATCH)
                         if c not in done]
        if not customers:
            break
        for customer_id in customers:
            with services.uow_factory() as uow:
                expired += expire_credits(uow, services, customer_id)
                uow.commit()
            touched.add(customer_id)
            done.add(customer_id)
    return CreditScheduleReport(granted=granted, expired=expired, customers=len(touched))


@attrs.frozen
class RunCreditSchedule:
    actor: Principal


def run_credit_schedule_command(cmd: RunCreditSchedule, uow: UnitOfWork, services: Services
                                ) -> CreditScheduleReport:
    cmd.actor.require(Permission.CREDITS_ADJUST)
    uow.rollback()
    return run_credit_schedule(services)
