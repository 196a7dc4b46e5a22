"""CreditPack and what a pack purchase records, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.commerce.purchase import PackTerms, Purchase
from domain.commerce.revenue import split_revenue
from domain.credits.packs import (
    CreditPack,
    pack_expiry,
    purchase_key,
    purchase_of,
    withdrawal_key,
)
from domain.errors import Conflict, ValidationError
from domain.identity.roles import Role
from domain.values import Money

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PACK_ID = UUID("0190c0de-0000-7000-8000-00000000aaaa")
GOOD = {"name": " Ten classes ", "price": "120.00", "credits": 10, "valid_days": 90}


def make(**fields: Any) -> CreditPack:
    return CreditPack.create(id=PACK_ID, now=NOW, currency="EUR", fields={**GOOD, **fields})


def test_a_pack_keeps_what_it_was_given_cleaned() -> None:
    pack = make(description="  ")
    assert (pack.name, pack.price, pack.credits, pack.valid_days, pack.description,
            pack.active) == ("Ten classes", Money("120.00", "eur"), 10, 90, None, True)
    assert make(valid_days=None).valid_days is None


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"name": None}, "name", "validation.required"),
    ({"name": "  "}, "name", "validation.required"),
    ({"name": "n" * 256}, "name", "validation.too_long"),
    ({"price": None}, "price", "validation.required"),
    ({"price": "0"}, "price", "credit_pack.price"),
    ({"price": "-5"}, "price", "credit_pack.price"),
    ({"price": "1.234"}, "price", "credit_pack.price"),
    ({"credits": 0}, "credits", "credit_pack.range"),
    ({"credits": 10_001}, "credits", "credit_pack.range"),
    ({"credits": True}, "credits", "credit_pack.range"),
    ({"credits": "10"}, "credits", "credit_pack.range"),
    ({"valid_days": 0}, "valid_days", "credit_pack.range"),
    ({"valid_days": 3_651}, "valid_days", "credit_pack.range"),
    ({"active": "yes"}, "active", None),
    ({"stripe_price_id": "price_1"}, "stripe_price_id", "credit_pack.unknown_field"),
])
def test_bad_fields_are_refused_by_name(fields: dict[str, Any], field: str,
                                        code: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        make(**fields)
    assert refused.value.field == field
    if code is not None:
        assert refused.value.code == code


def test_an_edit_applies_whole_or_not_at_all() -> None:
    pack = make()
    later = NOW + timedelta(days=1)
    with pytest.raises(ValidationError):
        pack.edit({"price": "99.00", "credits": 0}, later)
    assert (pack.price.amount, pack.credits, pack.updated_at) == (120, 10, NOW)
    pack.edit({"price": "99.00", "valid_days": None, "active": False}, later)
    assert (str(pack.price.amount), pack.valid_days, pack.active, pack.updated_at) == (
        "99.00", None, False, later)
    with pytest.raises(Conflict) as closed:
        pack.require_on_sale()
    assert closed.value.code == "credit_pack.inactive"


def test_credits_last_their_days_from_the_payment_or_for_ever() -> None:
    assert pack_expiry(NOW, 90) == NOW + timedelta(days=90)
    assert pack_expiry(NOW, None) is None


def test_a_grant_names_its_purchase_and_nothing_else_does() -> None:
    purchase_id = UUID("0190c0de-0000-7000-8000-00000000bbbb")
    assert purchase_of(purchase_key(purchase_id)) == purchase_id
    for other in (None, "invoice:in_1:m0", "purchase:not-a-uuid",
                  withdrawal_key(purchase_id), f"refund:{purchase_id}"):
        assert purchase_of(other) is None


def test_a_purchase_is_of_exactly_one_thing() -> None:
    split = split_revenue(Money("120.00", "usd"), Role.PLATFORM_OWNER)
    terms = PackTerms(PACK_ID, 10, 90)
    bought = Purchase.start(id=PACK_ID, customer_id=PACK_ID, content_id=None, series_id=None,
                            split=split, now=NOW, pack=terms)
    assert (bought.credit_pack_id, bought.pack) == (PACK_ID, terms)
    assert split.platform_fee.is_zero
    with pytest.raises(ValueError, match="one pack"):
        Purchase.start(id=PACK_ID, customer_id=PACK_ID, content_id=PACK_ID, series_id=None,
                       split=split, now=NOW, pack=terms)
    with pytest.raises(ValueError, match="one pack"):
        Purchase.start(id=PACK_ID, customer_id=PACK_ID, content_id=None, series_id=None,
                       split=split, now=NOW)
