"""Bodies of the media-owner routes: invitations, payouts and earnings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from entrypoints.http.schemas.common import EmailText, Name, PasswordText, Strict, Token


class InviteBody(Strict):
    email: EmailText


class InvitationOut(msgspec.Struct):
    id: UUID
    email: str
    status: Annotated[str, Meta(description="pending, expired or accepted")]
    expires_at: datetime | None
    accepted_at: datetime | None
    created_at: datetime


class AcceptBody(Strict):
    token: Token
    # Only when the invited address has no account yet: they make the new one.
    full_name: Name | None = None
    password: PasswordText | None = None


class PayoutAccountOut(msgspec.Struct):
    state: Annotated[str, Meta(description=(
        "not_started, onboarding (details missing), pending (submitted, under review), "
        "restricted (the provider needs more), enabled (items are for sale)"))]
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str]
    disabled_reason: str | None
    status_as_of: datetime | None
    platform_fee_percent: str
    onboarding_url: str | None = None


class MediaOwnerOut(msgspec.Struct):
    user_id: UUID
    email: str
    full_name: str
    joined_at: datetime
    payouts: PayoutAccountOut


class PayoutOut(msgspec.Struct):
    id: str
    amount: str
    currency: str
    status: str
    arrival_date: datetime | None
    created: datetime


class PayoutsOut(msgspec.Struct):
    payouts: list[PayoutOut]
    fetched_at: datetime | None
    stale: bool


class EarningsLineOut(msgspec.Struct):
    key: str
    label: str
    currency: str
    gross: str
    refunds: str
    platform_fee: str
    net: str
    sales: int
    kind: str | None = None


class EarningsOut(msgspec.Struct):
    start: date
    end: date
    totals: list[EarningsLineOut]
    by_month: list[EarningsLineOut]
    by_item: list[EarningsLineOut]
    by_seller: list[EarningsLineOut] | None = None
