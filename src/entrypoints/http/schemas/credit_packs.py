"""Bodies of the credit pack routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from entrypoints.http.schemas.common import Currency, PriceText, Strict

Name = Annotated[str, Meta(min_length=1, max_length=255)]
Description = Annotated[str, Meta(max_length=5_000)]
PackCredits = Annotated[int, Meta(ge=1, le=10_000, description="Credits the pack grants")]
ValidDays = Annotated[int, Meta(ge=1, le=3_650, description=(
    "Days the credits last from the payment; null: they never expire"))]


class CreditPackBody(Strict):
    name: Name
    price: PriceText
    credits: PackCredits
    description: Description | None = None
    currency: Currency = "usd"
    valid_days: ValidDays | None = None
    active: bool = True


class CreditPackPatch(Strict):
    name: Name | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    price: PriceText | UnsetType = UNSET
    credits: PackCredits | UnsetType = UNSET
    valid_days: ValidDays | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class CreditPackOut(msgspec.Struct):
    id: UUID
    name: str
    description: str | None
    price: str
    currency: str
    credits: int
    valid_days: int | None
    active: bool
