"""Media-owner invitations and payout accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from adapters.sqlalchemy.executor import Executor, conflict_from
from adapters.sqlalchemy.repositories.tracking import Tracker
from adapters.sqlalchemy.tables import media_owner_invitations, payout_accounts
from application.ports.payouts import PayoutRecord
from domain.errors import Conflict
from domain.payouts.accounts import PayoutAccount
from domain.payouts.invitations import Invitation
from domain.values import Money

_OPEN = Conflict("This address already has an open invitation.", code="invitation.open")


def invitation_row(i: Invitation) -> dict[str, Any]:
    return {"id": i.id, "email": i.email, "token_hash": i.token_hash,
            "expires_at": i.expires_at, "invited_by": i.invited_by,
            "accepted_at": i.accepted_at, "accepted_user_id": i.accepted_user_id,
            "created_at": i.created_at, "updated_at": i.updated_at}


def invitation_from(r: sa.RowMapping) -> Invitation:
    return Invitation(id=r["id"], email=r["email"], invited_by=r["invited_by"],
                      created_at=r["created_at"], updated_at=r["updated_at"],
                      token_hash=r["token_hash"], expires_at=r["expires_at"],
                      accepted_at=r["accepted_at"], accepted_user_id=r["accepted_user_id"])


class SqlInvitationRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[Invitation] = Tracker(execute, media_owner_invitations,
                                                    invitation_row)

    def add(self, invitation: Invitation) -> None:
        row = invitation_row(invitation)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(media_owner_invitations).values(**row))
        except sa_exc.IntegrityError as error:
            raise conflict_from(error, {"uq_media_owner_invitations_open": _OPEN,
                                        "media_owner_invitations.email": _OPEN}) from error
        self.tracker.track(invitation.id, invitation, row)

    def _one(self, condition: sa.ColumnElement[bool], lock: bool) -> Invitation | None:
        query = sa.select(media_owner_invitations).where(condition)
        if lock:
            self.tracker.flush()
            query = query.with_for_update()
        return self.tracker.load(self._execute(query).mappings().first(), invitation_from,
                                 locked=lock)

    def get(self, invitation_id: UUID, *, lock: bool = False) -> Invitation | None:
        return self._one(media_owner_invitations.c.id == invitation_id, lock)

    def get_by_token(self, token_hash: str, *, lock: bool = False) -> Invitation | None:
        return self._one(media_owner_invitations.c.token_hash == token_hash, lock)

    def open_for(self, email: str) -> Invitation | None:
        return self._one(sa.and_(media_owner_invitations.c.email == email,
                                 media_owner_invitations.c.accepted_at.is_(None)), False)

    def list(self, *, limit: int, offset: int) -> Sequence[Invitation]:
        query = (sa.select(media_owner_invitations)
                 .order_by(media_owner_invitations.c.created_at.desc(),
                           media_owner_invitations.c.id.desc())
                 .limit(limit).offset(offset))
        return [self.tracker.load(row, invitation_from, locked=False) or invitation_from(row)
                for row in self._execute(query).mappings()]


def account_row(a: PayoutAccount) -> dict[str, Any]:
    return {"user_id": a.user_id, "account_id": a.account_id,
            "charges_enabled": a.charges_enabled, "payouts_enabled": a.payouts_enabled,
            "details_submitted": a.details_submitted,
            "requirements_due": list(a.requirements_due),
            "disabled_reason": a.disabled_reason, "status_as_of": a.status_as_of,
            "created_at": a.created_at, "updated_at": a.updated_at}


def account_from(r: Mapping[str, Any]) -> PayoutAccount:
    return PayoutAccount(
        user_id=r["user_id"], account_id=r["account_id"], status_as_of=r["status_as_of"],
        created_at=r["created_at"], updated_at=r["updated_at"],
        charges_enabled=r["charges_enabled"], payouts_enabled=r["payouts_enabled"],
        details_submitted=r["details_submitted"],
        requirements_due=tuple(r["requirements_due"] or ()),
        disabled_reason=r["disabled_reason"])


def _payout_json(p: PayoutRecord) -> dict[str, Any]:
    return {"id": p.id, "amount": str(p.amount.amount), "currency": p.amount.currency,
            "status": p.status, "created": p.created.isoformat(),
            "arrival_date": p.arrival_date.isoformat() if p.arrival_date else None}


def _payout_from(d: dict[str, Any]) -> PayoutRecord:
    return PayoutRecord(
        id=d["id"], amount=Money(Decimal(d["amount"]), d["currency"]), status=d["status"],
        created=datetime.fromisoformat(d["created"]),
        arrival_date=datetime.fromisoformat(d["arrival_date"]) if d["arrival_date"] else None)


class SqlPayoutAccountRepository:
    _COLUMNS = [c for c in payout_accounts.c if c.name not in ("payouts", "payouts_fetched_at")]

    def __init__(self, execute: Executor) -> None:
        self._execute = execute
        self.tracker: Tracker[PayoutAccount] = Tracker(execute, payout_accounts, account_row,
                                                       key="user_id")

    def add(self, account: PayoutAccount) -> None:
        row = account_row(account)
        try:
            with self._execute.savepoint():
                self._execute(sa.insert(payout_accounts).values(**row))
        except sa_exc.IntegrityError as error:
            raise Conflict("This account already has a payout account.",
                           code="payouts.account_exists") from error
        self.tracker.track(account.user_id, account, row)

    def _one(self, condition: sa.ColumnElement[bool], lock: bool) -> PayoutAccount | None:
        query = sa.select(*self._COLUMNS).where(condition)
        if lock:
            self.tracker.flush()
            query = query.with_for_update()
        return self.tracker.load(self._execute(query).mappings().first(), account_from,
                                 locked=lock)

    def get(self, user_id: UUID, *, lock: bool = False) -> PayoutAccount | None:
        known = self.tracker.get(user_id)
        if known is not None and not lock:
            return known
        return self._one(payout_accounts.c.user_id == user_id, lock)

    def get_by_account(self, account_id: str, *, lock: bool = False) -> PayoutAccount | None:
        return self._one(payout_accounts.c.account_id == account_id, lock)

    def cached_payouts(self, user_id: UUID) -> tuple[Sequence[PayoutRecord], datetime] | None:
        row = self._execute(
            sa.select(payout_accounts.c.payouts, payout_accounts.c.payouts_fetched_at)
            .where(payout_accounts.c.user_id == user_id)).first()
        if row is None or row.payouts is None or row.payouts_fetched_at is None:
            return None
        return [_payout_from(item) for item in row.payouts], row.payouts_fetched_at

    def cache_payouts(self, user_id: UUID, payouts: Sequence[PayoutRecord],
                      fetched_at: datetime) -> None:
        self._execute(sa.update(payout_accounts).where(payout_accounts.c.user_id == user_id)
                      .values(payouts=[_payout_json(p) for p in payouts],
                              payouts_fetched_at=fetched_at))
