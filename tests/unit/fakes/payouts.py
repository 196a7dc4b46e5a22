"""Invitations, payout accounts and the earnings ledger, in memory."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from application.ports.payouts import EarningsLine, Grouping, PayoutRecord
from domain.errors import Conflict
from domain.payouts.accounts import PayoutAccount
from domain.payouts.earnings import EarningsEntry, EntryType
from domain.payouts.invitations import Invitation
from tests.unit.fakes.store import Store


class FakeInvitationRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, Invitation] = {}

    def _all(self) -> dict[UUID, Invitation]:
        return {**self._staged.invitations, **self.seen}

    def _track(self, found: Invitation | None) -> Invitation | None:
        if found is None:
            return None
        if found.id not in self.seen:
            self.seen[found.id] = copy.deepcopy(found)
        return self.seen[found.id]

    def add(self, invitation: Invitation) -> None:
        if self.open_for(invitation.email) is not None:
            raise Conflict("This address already has an open invitation.",
                           code="invitation.open")
        self.seen[invitation.id] = invitation

    def get(self, invitation_id: UUID, *, lock: bool = False) -> Invitation | None:
        return self._track(self._all().get(invitation_id))

    def get_by_token(self, token_hash: str, *, lock: bool = False) -> Invitation | None:
        return self._track(next((i for i in self._all().values()
                                 if i.token_hash == token_hash), None))

    def open_for(self, email: str) -> Invitation | None:
        return self._track(next((i for i in self._all().values()
                                 if i.email == email and not i.accepted), None))

    def list(self, *, limit: int, offset: int) -> Sequence[Invitation]:
        newest = sorted(self._all().values(), key=lambda i: (i.created_at, i.id), reverse=True)
        return newest[offset:offset + limit]


class FakePayoutAccountRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, PayoutAccount] = {}

    def _all(self) -> dict[UUID, PayoutAccount]:
        return {**self._staged.payout_accounts, **self.seen}

    def _track(self, found: PayoutAccount | None) -> PayoutAccount | None:
        if found is None:
            return None
        if found.user_id not in self.seen:
            self.seen[found.user_id] = copy.deepcopy(found)
        return self.seen[found.user_id]

    def add(self, account: PayoutAccount) -> None:
        if account.user_id in self._all() or any(
                a.account_id == account.account_id for a in self._all().values()):
            raise Conflict("This account already has a payout account.",
                           code="payouts.account_exists")
        self.seen[account.user_id] = account

    def get(self, user_id: UUID, *, lock: bool = False) -> PayoutAccount | None:
        return self._track(self._all().get(user_id))

    def get_by_account(self, account_id: str, *, lock: bool = False) -> PayoutAccount | None:
        return self._track(next((a for a in self._all().values()
                                 if a.account_id == account_id), None))

    def cached_payouts(self, user_id: UUID) -> tuple[Sequence[PayoutRecord], datetime] | None:
        return self._staged.payouts_cache.get(user_id)

    def cache_payouts(self, user_id: UUID, payouts: Sequence[PayoutRecord],
                      fetched_at: datetime) -> None:
        self._staged.payouts_cache[user_id] = (list(payouts), fetched_at)


class FakeEarningsRepository:
    """Sums in Python what the SQL repository sums in the database."""

    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def record(self, entry: EarningsEntry) -> bool:
        if self.recorded(entry.entry_type, entry.reference):
            return False
        self._staged.earnings.append(entry)
        return True

    def add(self, entry: EarningsEntry) -> None:
        self.record(entry)

    def recorded(self, entry_type: EntryType, reference: str) -> bool:
        return any(e.entry_type is entry_type and e.reference == reference
                   for e in self._staged.earnings)

    def sale(self, payment_ref: str) -> EarningsEntry | None:
        return next((e for e in self._staged.earnings
                     if e.entry_type is EntryType.SALE and e.reference == payment_ref), None)

    def refunded(self, payment_ref: str) -> Decimal:
        return sum((e.split.amount.amount for e in self._staged.earnings
                    if e.entry_type is EntryType.REFUND and e.payment_ref == payment_ref),
                   Decimal(0))

    def summarise(self, *, seller_id: UUID | None, start: datetime, end: datetime,
                  by: Grouping) -> Sequence[EarningsLine]:
        groups: dict[tuple[str, str], list[EarningsEntry]] = {}
        for e in self._staged.earnings:
            if (seller_id is not None and e.seller_id != seller_id) \
                    or not start <= e.occurred_at < end:
                continue
            key = {"total": "total", "month": e.occurred_at.strftime("%Y-%m"),
                   "item": str(e.item.content_id or e.item.series_id or e.item.offering_id),
                   "seller": str(e.seller_id)}[by]
            groups.setdefault((key, e.split.amount.currency), []).append(e)
        lines = []
        for (key, currency), entries in sorted(groups.items()):
            sales = [e for e in entries if e.entry_type is EntryType.SALE]
            refunds = [e for e in entries if e.entry_type is EntryType.REFUND]

            def total(rows: list[EarningsEntry], field: str) -> Decimal:
                return sum((getattr(e.split, field).amount for e in rows), Decimal(0))

            lines.append(EarningsLine(
                key=key, label=key, currency=currency, gross=total(sales, "amount"),
                refunds=total(refunds, "amount"),
                platform_fee=total(sales, "platform_fee") - total(refunds, "platform_fee"),
                net=total(sales, "creator_payout") - total(refunds, "creator_payout"),
                sales=len(sales), kind=entries[0].item.kind if by == "item" else ""))
        return lines
