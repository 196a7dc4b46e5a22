"""Proving the stored ledger: balance == Σ entries, allocations consistent, for everyone."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.credits.ledger import violations
from domain.identity.permissions import Permission

BATCH = 500


@attrs.frozen
class LedgerProblem:
    customer_id: UUID
    problems: Sequence[str]


@attrs.frozen
class AuditReport:
    customers: int
    problems: Sequence[LedgerProblem]

    @property
    def clean(self) -> bool:
        return not self.problems


@attrs.frozen
class AuditCredits:
    actor: Principal


def audit_credits(cmd: AuditCredits, uow: UnitOfWork, services: Services) -> AuditReport:
    cmd.actor.require(Permission.CREDITS_ADJUST)
    uow.rollback()
    checked = 0
    found: list[LedgerProblem] = []
    after: UUID | None = None
    while True:
        with services.uow_factory(read_only=True) as reader:
            customers = list(reader.credits.customers(BATCH, after))
        if not customers:
            break
        after = customers[-1]
        for customer_id in customers:
            # One snapshot per customer: the balance and the entries it must equal.
            with services.uow_factory() as snapshot:
                ledger = snapshot.credits.load(customer_id)
                entries = snapshot.credits.entries(customer_id)
            problems = violations(entries, balance=ledger.balance,
                                  lifetime_earned=ledger.lifetime_earned,
                                  lifetime_spent=ledger.lifetime_spent)
            checked += 1
            if problems:
                found.append(LedgerProblem(customer_id, problems))
    return AuditReport(customers=checked, problems=found)
