"""What customers see of their credits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.credits.ledger import Entry


@attrs.frozen
class CreditSummary:
    customer_id: UUID
    balance: int
    available: int
    lifetime_earned: int
    lifetime_spent: int
    next_expiries: Sequence[tuple[datetime, int]]


def summary(uow: UnitOfWork, services: Services, customer_id: UUID) -> CreditSummary:
    """Balance and the soonest expiries. ``available`` leaves out credits whose expiry
    has passed but that the schedule has not written off yet."""
    now = services.clock.now()
    balance, earned, spent = uow.credits.balance(customer_id)
    lots = uow.credits.lots(customer_id)
    live = sorted((lot for lot in lots if lot.remaining > 0 and not lot.expired(now)),
                  key=lambda lot: lot.order())
    dated = [(lot.expires_at, lot.remaining) for lot in live if lot.expires_at is not None]
    return CreditSummary(customer_id=customer_id, balance=balance,
                         available=sum(lot.remaining for lot in live), lifetime_earned=earned,
                         lifetime_spent=spent, next_expiries=dated[:5])


@attrs.frozen
class MyCredits:
    actor: Principal


def my_credits(cmd: MyCredits, uow: UnitOfWork, services: Services) -> CreditSummary:
    return summary(uow, services, cmd.actor.require_user())


@attrs.frozen
class MyCreditTransactions:
    actor: Principal
    limit: int = 50
    offset: int = 0


def my_credit_transactions(cmd: MyCreditTransactions, uow: UnitOfWork, services: Services
                           ) -> Sequence[Entry]:
    """Newest first."""
    return uow.credits.history(cmd.actor.require_user(), cmd.limit, cmd.offset)
