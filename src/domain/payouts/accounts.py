"""A media owner's payout account at the payment provider (a Stripe connected account)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from domain.errors import Conflict
from domain.events import Aggregate, DomainEvent


@attrs.frozen
class PayoutsEnabled(DomainEvent):
    """A media owner's account can now be paid: their items are for sale."""

    user_id: UUID
    # When the provider said so: enabled again after a restriction is news again.
    as_of: datetime | None = None


@attrs.frozen
class AccountStatus:
    """What the provider says of an account, and when it said it."""

    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]
    as_of: datetime
    disabled_reason: str | None = None


class SellerNotReady(Conflict):
    """A media owner's items are not for sale until the provider can pay them out."""

    code = "seller.payouts_not_ready"
    title = "Not for sale yet"


@attrs.define
class PayoutAccount(Aggregate):
    user_id: UUID
    account_id: str
    status_as_of: datetime
    created_at: datetime
    updated_at: datetime
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    requirements_due: tuple[str, ...] = ()
    disabled_reason: str | None = None

    @classmethod
    def opened(cls, user_id: UUID, account_id: str, now: datetime) -> PayoutAccount:
        return cls(user_id=user_id, account_id=account_id, status_as_of=now, created_at=now,
                   updated_at=now)

    @property
    def ready(self) -> bool:
        """Sales may be paid out to it: the provider accepts charges and pays out."""
        return self.charges_enabled and self.payouts_enabled

    @property
    def state(self) -> str:
        """One word for the owner's dashboard. Stripe marks a new account disabled
        (``requirements.past_due``) until its details are in, and one under review
        (``requirements.pending_verification``): neither is a restriction to act on."""
        if self.ready:
            return "enabled"
        if not self.details_submitted:
            return "onboarding"
        if self.disabled_reason in (None, "requirements.pending_verification"):
            return "pending"
        return "restricted"

    def apply(self, status: AccountStatus, now: datetime) -> bool:
        """Take a report unless a newer one was already taken (reports can arrive out of
        order); returns whether anything changed."""
        if status.account_id != self.account_id or status.as_of < self.status_as_of:
            return False
        new = (status.charges_enabled, status.payouts_enabled, status.details_submitted,
               tuple(status.requirements_due), status.disabled_reason)
        old = (self.charges_enabled, self.payouts_enabled, self.details_submitted,
               self.requirements_due, self.disabled_reason)
        self.status_as_of = status.as_of
        if new == old:
            return False
        was_ready = self.ready
        (self.charges_enabled, self.payouts_enabled, self.details_submitted,
         self.requirements_due, self.disabled_reason) = new
        self.updated_at = now
        if self.ready and not was_ready:
            self.record(PayoutsEnabled(user_id=self.user_id, as_of=status.as_of))
        return True


def require_ready(account: PayoutAccount | None) -> PayoutAccount:
    """The account a media owner's sale is paid out to; refuses to sell before it can."""
    if account is None or not account.ready:
        raise SellerNotReady(
            "This creator cannot be paid yet, so their items are not for sale. "
            "Try again later.",
            details={"payouts": account.state if account else "not_started"})
    return account


def requirement_names(values: Sequence[object]) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values if isinstance(v, str) and v}))
