"""The CreditLedger's repository (what bookings and memberships call to move credits)
and the credit packs sold for money."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import attrs

from domain.credits.ledger import CreditLedger, Entry, Lot
from domain.credits.packs import CreditPack


class CreditLedgerRepository(Protocol):
    def load(self, customer_id: UUID) -> CreditLedger:
        """The customer's ledger, its balance row locked until the transaction ends, so
        ledger changes of one customer take turns. Creates the balance row on first use."""
        ...

    def save(self, ledger: CreditLedger) -> None:
        """Append the entries (with allocations) recorded since loading; update the
        balance row. Raises Conflict(credits.duplicate) if an entry's source key exists."""
        ...

    def has_source(self, source_key: str) -> bool: ...

    def source_entry(self, source_key: str) -> UUID | None:
        """The id of the entry written for this cause, if any."""
        ...

    def entry(self, entry_id: UUID) -> Entry | None:
        """One entry with its allocations."""
        ...

    def owner_of(self, entry_id: UUID) -> UUID | None:
        """The customer whose ledger holds this entry."""
        ...

    def spend_for_booking(self, booking_id: UUID) -> Entry | None:
        """The spend that paid for a booking, with its allocations."""
        ...

    def balance(self, customer_id: UUID) -> tuple[int, int, int]:
        """current_balance, lifetime_earned, lifetime_spent (zeros when none), unlocked."""
        ...

    def lots(self, customer_id: UUID) -> Sequence[Lot]:
        """Every grant with what is left of it, unlocked (for display)."""
        ...

    def history(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Entry]:
        """Newest first, without allocations."""
        ...

    def entries(self, customer_id: UUID) -> Sequence[Entry]:
        """Every entry in the order written, with allocations (for the audit)."""
        ...

    def customers(self, limit: int, after: UUID | None) -> Sequence[UUID]:
        """Customers with a balance row, by id."""
        ...

    def expired_total(self) -> int:
        """Credits ever written off as expired, over every customer."""
        ...

    def with_expired_credits(self, now: datetime, limit: int) -> Sequence[UUID]:
        """Customers holding credits whose expiry has passed."""
        ...

    def expiring_unwarned(self, now: datetime, until: datetime, limit: int
                          ) -> Sequence[ExpiringGrant]:
        """Grants with credits left that expire after ``now`` and by ``until``, whose
        holder was not warned yet; soonest first."""
        ...

    def mark_warned(self, grant_id: UUID, customer_id: UUID, now: datetime) -> bool:
        """Note the warning; False if it was noted already (by another run)."""
        ...


@attrs.frozen
class ExpiringGrant:
    grant_id: UUID
    customer_id: UUID
    remaining: int
    expires_at: datetime


class CreditPackRepository(Protocol):
    def add(self, pack: CreditPack) -> None: ...

    def get(self, pack_id: UUID, *, lock: bool = False) -> CreditPack | None: ...

    def list(self, *, active_only: bool) -> Sequence[CreditPack]:
        """Cheapest first."""
        ...
