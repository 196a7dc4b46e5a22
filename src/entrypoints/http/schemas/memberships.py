"""Bodies of the tier, subscription, credit and sandbox routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from entrypoints.http.schemas.common import Currency, EmailText, PriceText, Strict

OfferingType = Literal["one_time_event", "multi_day_program", "recurring_fixed",
                       "recurring_bookable", "cohort_course", "retreat"]
Category = Annotated[str, Meta(max_length=100)]
Credits = Annotated[int, Meta(ge=0, le=100_000)]
PeriodText = Literal["monthly", "yearly"]


class OfferingRuleBody(Strict):
    """One offering type, or one offering, that the tier includes."""

    access: Literal["free", "credits"] = "free"
    offering_type: OfferingType | None = None
    offering_id: UUID | None = None
    credit_cost: Annotated[int, Meta(ge=1, le=100_000, description=(
        "With access=credits: what it costs members; default the offering's own "
        "credit_cost"))] | None = None


class TierBody(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=255)]
    description: Annotated[str, Meta(max_length=20_000)] | None = None
    price_monthly: PriceText | None = None
    price_yearly: PriceText | None = None
    currency: Currency = "usd"
    trial_days: Annotated[int, Meta(ge=0, le=730)] = 0
    category_access: Annotated[list[Category], Meta(max_length=100)] = msgspec.field(
        default_factory=list)
    full_catalog_access: bool = False
    offering_access_rules: Annotated[list[OfferingRuleBody], Meta(max_length=100)] = \
        msgspec.field(default_factory=list)
    monthly_credits: Credits = 0
    credit_rollover: bool = False
    credit_rollover_cap: Annotated[int, Meta(ge=0, le=1_200_000)] | None = None
    active: bool = True


class TierPatch(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=255)] | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=20_000)] | UnsetType | None = UNSET
    price_monthly: PriceText | UnsetType | None = UNSET
    price_yearly: PriceText | UnsetType | None = UNSET
    trial_days: Annotated[int, Meta(ge=0, le=730)] | UnsetType = UNSET
    category_access: Annotated[list[Category], Meta(max_length=100)] | UnsetType = UNSET
    full_catalog_access: bool | UnsetType = UNSET
    offering_access_rules: Annotated[list[OfferingRuleBody], Meta(max_length=100)] | \
        UnsetType = UNSET
    monthly_credits: Credits | UnsetType = UNSET
    credit_rollover: bool | UnsetType = UNSET
    credit_rollover_cap: Annotated[int, Meta(ge=0, le=1_200_000)] | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class OfferingRuleOut(msgspec.Struct):
    access: str
    offering_type: str | None
    offering_id: UUID | None
    credit_cost: int | None


class TierOut(msgspec.Struct):
    id: UUID
    name: str
    description: str | None
    price_monthly: str | None
    price_yearly: str | None
    currency: str
    trial_days: int
    category_access: list[str]
    full_catalog_access: bool
    offering_access_rules: list[OfferingRuleOut]
    monthly_credits: int
    credit_rollover: bool
    credit_rollover_cap: int | None
    active: bool


class SubscribeBody(Strict):
    tier_id: UUID
    billing_period: PeriodText = "monthly"
    payment_method: Annotated[str, Meta(max_length=100, description=(
        "Stripe: a PaymentMethod id to make the default (else confirm the first invoice "
        "with the client secret). Sandbox: a test card number: 4242424242424242 succeeds, "
        "4000000000000341 succeeds once and fails every renewal, 4000000000000002 is "
        "declined."))] | None = None


class SubscribedOut(msgspec.Struct):
    subscription_id: UUID
    status: str
    tier_id: UUID
    billing_period: str
    amount: str
    currency: str
    client_secret: str | None
    gateway: str


class ChangeBody(Strict):
    tier_id: UUID
    billing_period: PeriodText | None = None


class ExpiryOut(msgspec.Struct):
    expires_at: datetime
    credits: int


class CreditsOut(msgspec.Struct):
    balance: int
    available: int
    lifetime_earned: int
    lifetime_spent: int
    next_expiries: list[ExpiryOut]


class SubscriptionOut(msgspec.Struct):
    id: UUID
    tier_id: UUID
    tier_name: str
    status: str
    billing_period: str
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    trial_end: datetime | None
    canceled_at: datetime | None
    grace_until: datetime | None
    has_access: bool
    renews_at: datetime | None
    ends_at: datetime | None
    payment_method: str | None
    credits: CreditsOut


class AdminSubscriptionOut(msgspec.Struct):
    id: UUID
    customer_id: UUID
    tier_id: UUID
    status: str
    billing_period: str
    current_period_end: datetime
    cancel_at_period_end: bool
    provider_id: str | None
    created_at: datetime


class TransactionOut(msgspec.Struct):
    id: UUID
    type: str
    amount: int
    balance_after: int
    description: str | None
    expires_at: datetime | None
    created_at: datetime


class AdjustBody(Strict):
    amount: Annotated[int, Meta(ge=-1_000_000, le=1_000_000, description=(
        "Credits to add (positive) or take (negative); never below zero"))]
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    user_id: UUID | None = None
    email: EmailText | None = None
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None


class AdjustedOut(msgspec.Struct):
    transaction_id: UUID
    credits: CreditsOut


class AdvanceBody(Strict):
    days: Annotated[int, Meta(ge=1, le=3660)]


class AdvanceOut(msgspec.Struct):
    now: datetime
    renewed: int
    failed: int
    ended: int
    credits_expired: int
    installments_paid: int
    installments_declined: int
