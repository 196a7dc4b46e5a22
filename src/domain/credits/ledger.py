"""The CreditLedger: one customer's credits as an append-only list of entries.

Positive entries that add credits are *grants* (a month's subscription credits, a
purchase's credits, an owner's positive adjustment). Every entry that takes credits
away (a spend, an expiry, a negative adjustment) is *allocated* to the grants it
consumed, soonest-expiring first; a refund of a spend gives back exactly those
allocations, so the credits return with their original expiries.

The invariants, checked by ``violations`` (and by ``patronage credits audit`` on
the stored ledger):

* the balance is the sum of every entry's amount, and never negative;
* each entry's ``balance_after`` is the running balance;
* each debit is fully allocated, and no grant gives more than it holds;
* ``lifetime_earned`` is the sum of grants; ``lifetime_spent`` is spends minus
  their refunds.

The aggregate is pure: the repository loads it (locking the customer's balance
row) and appends what it recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

import attrs

from domain.errors import Conflict, ValidationError

# One operation moves at most this many credits: far beyond any real use, and well
# inside a 32-bit column when summed over a lifetime.
MAX_CREDITS = 1_000_000
REASON_MAX = 500
NewId = Callable[[], UUID]


class CreditType(enum.StrEnum):
    EARNED_SUBSCRIPTION = "earned_subscription"
    EARNED_PURCHASE = "earned_purchase"
    SPENT_OFFERING = "spent_offering"
    EXPIRED = "expired"
    ADJUSTMENT = "adjustment"
    REFUNDED_OFFERING = "refunded_offering"


class InsufficientCredits(Conflict):
    code = "credits.insufficient"
    title = "Not enough credits"


@attrs.frozen
class Allocation:
    grant_id: UUID
    amount: int  # > 0 taken from the grant, < 0 given back to it


@attrs.frozen
class Entry:
    id: UUID
    type: CreditType
    amount: int
    balance_after: int
    created_at: datetime
    expires_at: datetime | None = None
    description: str | None = None
    subscription_id: UUID | None = None
    booking_id: UUID | None = None
    source_key: str | None = None
    actor_id: UUID | None = None
    allocations: tuple[Allocation, ...] = ()
    number: int = 0  # 1, 2, ... within the customer's ledger

    @property
    def is_grant(self) -> bool:
        return self.amount > 0 and self.type is not CreditType.REFUNDED_OFFERING


@attrs.define
class Lot:
    """A grant and what is left of it."""

    grant_id: UUID
    type: CreditType
    amount: int
    remaining: int
    granted_at: datetime
    expires_at: datetime | None
    subscription_id: UUID | None = None
    source_key: str | None = None  # what granted it, e.g. "purchase:<id>"

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def order(self) -> tuple[int, datetime, datetime, UUID]:
        """Soonest-expiring first; credits that never expire last; then oldest first."""
        never = self.expires_at is None
        return (1 if never else 0, self.expires_at or self.granted_at, self.granted_at,
                self.grant_id)


def _check_amount(amount: int, what: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_CREDITS:
        raise ValidationError(f"{what} must be a whole number from 1 to {MAX_CREDITS}.",
                              code="credits.amount", field="amount")


@attrs.define
class CreditLedger:
    customer_id: UUID
    balance: int = 0
    lifetime_earned: int = 0
    lifetime_spent: int = 0
    lots: list[Lot] = attrs.field(factory=list)
    entry_count: int = 0  # entries stored so far
    # Entries recorded since loading, in order; the repository appends them.
    new_entries: list[Entry] = attrs.field(factory=list)

    # --- reading ---------------------------------------------------------------------

    def live_lots(self, now: datetime) -> list[Lot]:
        return sorted((lot for lot in self.lots if lot.remaining > 0 and not lot.expired(now)),
                      key=Lot.order)

    def available(self, now: datetime) -> int:
        """What can be spent now: the balance less credits past their expiry but not yet
        written off (``expire_due`` writes them off)."""
        return sum(lot.remaining for lot in self.live_lots(now))

    def next_expiries(self, now: datetime, limit: int = 5) -> list[tuple[datetime, int]]:
        dated = [lot for lot in self.live_lots(now) if lot.expires_at is not None]
        return [(lot.expires_at, lot.remaining) for lot in dated[:limit]
                if lot.expires_at is not None]

    # --- recording -------------------------------------------------------------------

    def _append(self, entry: Entry) -> Entry:
        if self.balance + entry.amount < 0:  # the callers make this impossible
            raise AssertionError("credit balance would go negative")
        self.balance += entry.amount
        self.entry_count += 1
        entry = attrs.evolve(entry, balance_after=self.balance, number=self.entry_count)
        self.new_entries.append(entry)
        return entry

    def _take(self, amount: int, now: datetime) -> list[Allocation]:
        """Allocate ``amount`` to live lots, soonest-expiring first."""
        allocations: list[Allocation] = []
        left = amount
        for lot in self.live_lots(now):
            if left == 0:
                break
            used = min(lot.remaining, left)
            lot.remaining -= used
            left -= used
            allocations.append(Allocation(lot.grant_id, used))
        if left:  # checked by the callers first
            raise AssertionError("allocation short of the amount")
        return allocations

    def earn(self, new_id: NewId, type: CreditType, amount: int, now: datetime, *,
             expires_at: datetime | None = None, description: str | None = None,
             subscription_id: UUID | None = None, source_key: str | None = None,
             actor_id: UUID | None = None) -> Entry:
        if type not in (CreditType.EARNED_SUBSCRIPTION, CreditType.EARNED_PURCHASE,
                        CreditType.ADJUSTMENT):
            raise ValueError(f"{type} does not add credits")
        _check_amount(amount, "The amount")
        if expires_at is not None and expires_at <= now:
            raise ValidationError("Credits must expire in the future.",
                                  code="credits.expiry", field="expires_at")
        entry = self._append(Entry(new_id(), type, amount, 0, now, expires_at=expires_at,
                                   description=description, subscription_id=subscription_id,
                                   source_key=source_key, actor_id=actor_id))
        self.lots.append(Lot(entry.id, type, amount, amount, now, expires_at, subscription_id,
                             source_key))
        self.lifetime_earned += amount
        return entry

    def spend(self, new_id: NewId, amount: int, now: datetime, *,
              booking_id: UUID | None = None, description: str | None = None,
              source_key: str | None = None) -> Entry:
        _check_amount(amount, "The amount")
        self.expire_due(now, new_id)
        available = self.available(now)
        if amount > available:
            raise InsufficientCredits(
                f"This needs {amount} credits; you have {available}.",
                details={"needed": amount, "available": available})
        allocations = self._take(amount, now)
        entry = self._append(Entry(new_id(), CreditType.SPENT_OFFERING, -amount, 0, now,
                                   booking_id=booking_id, description=description,
                                   source_key=source_key, allocations=tuple(allocations)))
        self.lifetime_spent += amount
        return entry

    def refund(self, new_id: NewId, spend: Entry, now: datetime, *,
               description: str | None = None) -> Entry:
        """Give back what ``spend`` took, to the same grants (so with their expiries).

        The caller makes sure it was not refunded before (the entry's ``source_key``
        is unique). Credits whose grant has expired meanwhile come back and are
        written off by the next ``expire_due``.
        """
        if spend.type is not CreditType.SPENT_OFFERING:
            raise ValidationError("Only a spend can be refunded.", code="credits.not_a_spend")
        by_id = {lot.grant_id: lot for lot in self.lots}
        returned: list[Allocation] = []
        for allocation in spend.allocations:
            lot = by_id[allocation.grant_id]
            lot.remaining += allocation.amount
            returned.append(Allocation(allocation.grant_id, -allocation.amount))
        entry = self._append(Entry(new_id(), CreditType.REFUNDED_OFFERING, -spend.amount, 0,
                                   now, booking_id=spend.booking_id, description=description,
                                   source_key=refund_key(spend.id),
                                   allocations=tuple(returned)))
        self.lifetime_spent -= -spend.amount
        return entry

    def adjust(self, new_id: NewId, amount: int, reason: str, now: datetime, *,
               actor_id: UUID | None, expires_at: datetime | None = None) -> Entry:
        """An owner's correction: adds a grant, or takes credits like a spend (but it is
        not counted as spending)."""
        reason = (reason or "").strip()
        if not reason or len(reason) > REASON_MAX:
            raise ValidationError(f"Say why, in 1 to {REASON_MAX} characters.",
                                  code="credits.reason_required", field="reason")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise ValidationError("The amount must be a non-zero whole number.",
                                  code="credits.amount", field="amount")
        if amount > 0:
            return self.earn(new_id, CreditType.ADJUSTMENT, amount, now,
                             expires_at=expires_at, description=reason, actor_id=actor_id)
        _check_amount(-amount, "The amount")
        self.expire_due(now, new_id)
        available = self.available(now)
        if -amount > available:
            raise InsufficientCredits(
                f"Cannot take {-amount} credits; the customer has {available}.",
                details={"needed": -amount, "available": available})
        allocations = self._take(-amount, now)
        return self._append(Entry(new_id(), CreditType.ADJUSTMENT, amount, 0, now,
                                  description=reason, actor_id=actor_id,
                                  allocations=tuple(allocations)))

    def withdraw(self, new_id: NewId, grant_id: UUID, now: datetime, *, description: str,
                 source_key: str | None = None) -> Entry | None:
        """Take back what is left of one grant (a refunded purchase's unspent credits):
        an adjustment allocated to that grant alone. What was spent stays spent; None
        when nothing is left."""
        self.expire_due(now, new_id)
        lot = next((lot for lot in self.lots if lot.grant_id == grant_id), None)
        if lot is None or lot.remaining == 0:
            return None
        amount, lot.remaining = lot.remaining, 0
        return self._append(Entry(new_id(), CreditType.ADJUSTMENT, -amount, 0, now,
                                  description=description, source_key=source_key,
                                  allocations=(Allocation(grant_id, amount),)))

    def expire_due(self, now: datetime, new_id: NewId) -> list[Entry]:
        """Write off what is left of every grant past its expiry: one ``expired`` entry
        per grant, allocated to it. Running it again finds nothing to do."""
        written: list[Entry] = []
        for lot in sorted(self.lots, key=Lot.order):
            if lot.remaining > 0 and lot.expires_at is not None and lot.expired(now):
                amount = lot.remaining
                lot.remaining = 0
                written.append(self._append(Entry(
                    new_id(), CreditType.EXPIRED, -amount, 0, now, expires_at=lot.expires_at,
                    subscription_id=lot.subscription_id, description="Unspent credits expired",
                    allocations=(Allocation(lot.grant_id, amount),))))
        return written

    def cap_rollover(self, cap: int, now: datetime, new_id: NewId,
                     subscription_id: UUID | None) -> Entry | None:
        """Keep at most ``cap`` carried-over subscription credits: the excess expires now,
        soonest-expiring (then oldest) first."""
        carried = [lot for lot in self.live_lots(now)
                   if lot.type is CreditType.EARNED_SUBSCRIPTION]
        excess = sum(lot.remaining for lot in carried) - cap
        if excess <= 0:
            return None
        allocations: list[Allocation] = []
        left = excess
        for lot in carried:
            used = min(lot.remaining, left)
            if used:
                lot.remaining -= used
                left -= used
                allocations.append(Allocation(lot.grant_id, used))
        return self._append(Entry(new_id(), CreditType.EXPIRED, -excess, 0, now,
                                  subscription_id=subscription_id,
                                  description=f"Rolled-over credits above the cap of {cap}",
                                  allocations=tuple(allocations)))


def refund_key(spend_id: UUID) -> str:
    """The source key of a spend's refund: unique, so a spend is refunded once."""
    return f"refund:{spend_id}"


def violations(entries: Iterable[Entry], *, balance: int, lifetime_earned: int,
               lifetime_spent: int) -> list[str]:
    """What is wrong with a stored ledger (empty when it is consistent).

    ``entries`` in the order they were written, each with its allocations.
    """
    problems: list[str] = []
    running = earned = spent = 0
    held: dict[UUID, int] = {}
    given: dict[UUID, int] = {}
    for entry in entries:
        running += entry.amount
        if entry.balance_after != running:
            problems.append(f"entry {entry.id}: balance_after {entry.balance_after}, "
                            f"running sum {running}")
        if running < 0:
            problems.append(f"entry {entry.id}: balance negative ({running})")
        if entry.is_grant:
            held[entry.id] = entry.amount
            given[entry.id] = 0
            if entry.allocations:
                problems.append(f"grant {entry.id} has allocations")
            earned += entry.amount
            continue
        allocated = sum(a.amount for a in entry.allocations)
        if allocated != -entry.amount:
            problems.append(f"entry {entry.id}: {-entry.amount} credits, "
                            f"{allocated} allocated")
        for allocation in entry.allocations:
            if allocation.grant_id not in held:
                problems.append(f"entry {entry.id}: allocated to unknown grant "
                                f"{allocation.grant_id}")
                continue
            given[allocation.grant_id] += allocation.amount
            if not 0 <= given[allocation.grant_id] <= held[allocation.grant_id]:
                problems.append(f"grant {allocation.grant_id}: {given[allocation.grant_id]} "
                                f"of {held[allocation.grant_id]} allocated")
        if entry.type is CreditType.SPENT_OFFERING or entry.type is CreditType.REFUNDED_OFFERING:
            spent -= entry.amount
    if balance != running:
        problems.append(f"balance {balance}, ledger sum {running}")
    if lifetime_earned != earned:
        problems.append(f"lifetime_earned {lifetime_earned}, grants sum {earned}")
    if lifetime_spent != spent:
        problems.append(f"lifetime_spent {lifetime_spent}, spends less refunds {spent}")
    return problems
