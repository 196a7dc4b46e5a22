"""CreditPack: credits sold for money ("10 classes for $120, valid six months").

A pack is sold through the ordinary purchase path; the purchase records the pack's
credits and validity as they were when it started, so an edit never changes what a
buyer gets. The paid purchase grants them as one ``earned_purchase`` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from domain.errors import Conflict, ValidationError
from domain.events import Aggregate
from domain.values import Money, text_field

NAME_MAX = 255
DESCRIPTION_MAX = 5_000
PACK_CREDITS_MAX = 10_000
VALID_DAYS_MAX = 3_650

EDITABLE = frozenset({"name", "description", "price", "credits", "valid_days", "active"})


def _whole(value: Any, field: str, limit: int, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise ValidationError(f"{field} is a whole number from 1 to {limit}.",
                              code="credit_pack.range", field=field)
    return value


def _price(value: Any, currency: str) -> Money:
    if isinstance(value, Money):
        return value
    if value is None:
        raise ValidationError("price is required.", code="validation.required", field="price")
    try:
        money = Money(value if isinstance(value, Decimal) else str(value), currency)
    except ValidationError as exc:
        exc.field = "price"
        raise
    if money.amount != Decimal(str(value)):
        # Money rounds to the minor unit; a price someone typed is taken as typed or not.
        raise ValidationError(f"price has more decimals than {currency.upper()} allows.",
                              code="credit_pack.price", field="price")
    if money.amount <= 0:
        raise ValidationError("price must be more than zero.", code="credit_pack.price",
                              field="price")
    return money


@attrs.define
class CreditPack(Aggregate):
    id: UUID
    name: str
    price: Money
    credits: int
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    valid_days: int | None = None  # None: the credits never expire
    active: bool = True

    @classmethod
    def create(cls, *, id: UUID, now: datetime, currency: str,
               fields: Mapping[str, Any]) -> CreditPack:
        pack = cls(id=id, name="", price=Money("1", currency), credits=1, created_at=now,
                   updated_at=now)
        pack.edit({"name": None, "price": None, "credits": None, **fields}, now)
        return pack

    def edit(self, changes: Mapping[str, Any], now: datetime) -> None:
        """Validate every change, then apply them all. Buyers whose purchase started
        before the edit get what they were shown."""
        unknown = set(changes) - EDITABLE
        if unknown:
            first = sorted(unknown)[0]
            raise ValidationError(f"Unknown credit pack field {first!r}.",
                                  code="credit_pack.unknown_field", field=first)
        merged = {name: getattr(self, name) for name in EDITABLE} | dict(changes)
        if not isinstance(merged["active"], bool):
            raise ValidationError("active is true or false.", field="active")
        cleaned = {
            "name": text_field(merged["name"], "name", NAME_MAX, required=True),
            "description": text_field(merged["description"], "description", DESCRIPTION_MAX,
                                 required=False),
            "price": _price(merged["price"], self.price.currency),
            "credits": _whole(merged["credits"], "credits", PACK_CREDITS_MAX),
            "valid_days": _whole(merged["valid_days"], "valid_days", VALID_DAYS_MAX,
                                 nullable=True),
            "active": merged["active"],
        }
        for field, value in cleaned.items():
            setattr(self, field, value)
        self.updated_at = now

    def require_on_sale(self) -> None:
        if not self.active:
            raise Conflict("This credit pack is no longer sold.", code="credit_pack.inactive")


def pack_expiry(granted_at: datetime, valid_days: int | None) -> datetime | None:
    """When credits granted at ``granted_at`` expire: ``valid_days`` later, or never."""
    return None if valid_days is None else granted_at + timedelta(days=valid_days)


PURCHASE_PREFIX = "purchase:"


def purchase_key(purchase_id: UUID) -> str:
    """The source key of a purchase's credit grant: unique, so it is granted once."""
    return f"{PURCHASE_PREFIX}{purchase_id}"


def purchase_of(source_key: str | None) -> UUID | None:
    """The purchase whose credits a grant with this source key holds, if any."""
    if source_key is None or not source_key.startswith(PURCHASE_PREFIX):
        return None
    try:
        return UUID(source_key.removeprefix(PURCHASE_PREFIX))
    except ValueError:
        return None


def withdrawal_key(purchase_id: UUID) -> str:
    """The source key of taking a refunded purchase's unspent credits back: once."""
    return f"purchase-refund:{purchase_id}"
