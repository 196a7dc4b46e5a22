"""Media owners: invitations, payout accounts and the earnings ledger. The provider's
side of Stripe Connect is part of the payment gateway (``ports/payments.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol
from uuid import UUID

import attrs

from domain.payouts.accounts import PayoutAccount
from domain.payouts.earnings import EarningsEntry, EntryType
from domain.payouts.invitations import Invitation
from domain.values import Money


@attrs.frozen
class Transfer:
    """A destination charge: the platform keeps ``application_fee``, the rest of the
    payment goes to ``destination`` (a connected account)."""

    destination: str
    application_fee: Money


@attrs.frozen
class PayoutRecord:
    """A payout from a connected account's balance to its bank, as the provider says."""

    id: str
    amount: Money
    status: str  # paid, pending, in_transit, canceled, failed
    arrival_date: datetime | None
    created: datetime


class InvitationRepository(Protocol):
    def add(self, invitation: Invitation) -> None:
        """Raises Conflict(invitation.open) when the address has an open invitation."""
        ...

    def get(self, invitation_id: UUID, *, lock: bool = False) -> Invitation | None: ...

    def get_by_token(self, token_hash: str, *, lock: bool = False) -> Invitation | None: ...

    def open_for(self, email: str) -> Invitation | None: ...

    def list(self, *, limit: int, offset: int) -> Sequence[Invitation]: ...


class PayoutAccountRepository(Protocol):
    def add(self, account: PayoutAccount) -> None: ...

    def get(self, user_id: UUID, *, lock: bool = False) -> PayoutAccount | None: ...

    def get_by_account(self, account_id: str, *, lock: bool = False) -> PayoutAccount | None:
        ...

    def cached_payouts(self, user_id: UUID) -> tuple[Sequence[PayoutRecord], datetime] | None:
        ...

    def cache_payouts(self, user_id: UUID, payouts: Sequence[PayoutRecord],
                      fetched_at: datetime) -> None: ...


@attrs.frozen
class EarningsLine:
    """Sums over one group of entries, in one currency; fee and net are after refunds."""

    key: str  # the month (YYYY-MM), the item's or seller's id, or "total"
    label: str  # the item's title, the seller's name, or the key
    currency: str
    gross: Decimal
    refunds: Decimal
    platform_fee: Decimal
    net: Decimal
    sales: int
    kind: str = ""  # content, series or offering, for items


Grouping = Literal["total", "month", "item", "seller"]


class EarningsRepository(Protocol):
    def record(self, entry: EarningsEntry) -> bool:
        """Add the entry unless its reference is recorded already; True when added."""
        ...

    def add(self, entry: EarningsEntry) -> None:
        """`record`, for a caller that does not ask whether it was added: the write may
        go with the commit."""
        ...

    def recorded(self, entry_type: EntryType, reference: str) -> bool: ...

    def sale(self, payment_ref: str) -> EarningsEntry | None: ...

    def refunded(self, payment_ref: str) -> Decimal:
        """What refunds of this payment have given back so far."""
        ...

    def summarise(self, *, seller_id: UUID | None, start: datetime, end: datetime,
                  by: Grouping) -> Sequence[EarningsLine]:
        """Entries with ``start <= occurred_at < end`` (of one seller, or all), grouped;
        months are calendar months in UTC."""
        ...
