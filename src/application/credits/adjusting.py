"""Owners' corrections to a customer's credits, always with a reason."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from application.credits.views import CreditSummary, summary
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.values import Email


@attrs.frozen
class AdjustCredits:
    actor: Principal
    amount: int
    reason: str
    user_id: UUID | None = None
    email: str | None = None
    expires_at: datetime | None = None


@attrs.frozen
class Adjusted:
    entry_id: UUID
    summary: CreditSummary


def adjust_credits(cmd: AdjustCredits, uow: UnitOfWork, services: Services) -> Adjusted:
    cmd.actor.require(Permission.CREDITS_ADJUST)
    if (cmd.user_id is None) == (cmd.email is None):
        raise ValidationError("Name the customer by user_id or by email.",
                              code="credits.customer", field="user_id")
    user = (uow.users.get(cmd.user_id) if cmd.user_id is not None
            else uow.users.get_by_email(Email(cmd.email or "").value))
    if user is None:
        raise NotFound("No such user.", code="user.not_found")
    now = services.clock.now()
    if cmd.expires_at is not None and cmd.expires_at.tzinfo is None:
        raise ValidationError("expires_at needs a time zone.", code="credits.expiry",
                              field="expires_at")
    ledger = uow.credits.load(user.id)
    entry = ledger.adjust(services.ids.new_id, cmd.amount, cmd.reason, now,
                          actor_id=cmd.actor.user_id, expires_at=cmd.expires_at)
    uow.credits.save(ledger)
    uow.commit()
    return Adjusted(entry_id=entry.id, summary=summary(uow, services, user.id))
