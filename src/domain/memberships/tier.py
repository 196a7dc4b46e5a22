"""SubscriptionTier: what a membership costs and what it includes."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from domain.errors import Conflict, NotFound, ValidationError
from domain.events import Aggregate
from domain.values import Money, text_field

NAME_MAX = 255
DESCRIPTION_MAX = 20_000
CATEGORY_MAX = 100
CATEGORIES_MAX = 100
RULES_MAX = 100
TRIAL_DAYS_MAX = 730
MONTHLY_CREDITS_MAX = 100_000
OFFERING_TYPES = ("one_time_event", "multi_day_program", "recurring_fixed",
                  "recurring_bookable", "cohort_course", "retreat")


class BillingPeriod(enum.StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"


class RuleAccess(enum.StrEnum):
    FREE = "free"  # included at no cost
    CREDITS = "credits"  # included, paid for with credits


@attrs.frozen
class OfferingRule:
    """One line of ``offering_access_rules``: a whole offering type, or one offering.

    Stored as ``{"offering_type": "retreat", "access": "credits", "credit_cost": 3}``
    or ``{"offering_id": "…", "access": "free"}``. With ``credits`` and no
    ``credit_cost`` the offering's own ``credit_cost`` applies.
    """

    access: RuleAccess
    offering_type: str | None = None
    offering_id: UUID | None = None
    credit_cost: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"access": self.access.value}
        if self.offering_type is not None:
            out["offering_type"] = self.offering_type
        if self.offering_id is not None:
            out["offering_id"] = str(self.offering_id)
        if self.credit_cost is not None:
            out["credit_cost"] = self.credit_cost
        return out


def parse_rules(value: Any) -> tuple[OfferingRule, ...]:
    """Validate ``offering_access_rules``; each error names the rule and its field."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ValidationError("offering_access_rules must be a list of rules.",
                              code="tier.rules", field="offering_access_rules")
    if len(value) > RULES_MAX:
        raise ValidationError(f"At most {RULES_MAX} rules.", code="tier.rules",
                              field="offering_access_rules")
    rules: list[OfferingRule] = []
    seen: set[tuple[str | None, UUID | None]] = set()
    for index, raw in enumerate(value):
        where = f"offering_access_rules[{index}]"
        if not isinstance(raw, Mapping):
            raise ValidationError("Each rule is an object.", code="tier.rules", field=where)
        unknown = set(raw) - {"offering_type", "offering_id", "access", "credit_cost"}
        if unknown:
            raise ValidationError(f"Unknown rule field {sorted(unknown)[0]!r}.",
                                  code="tier.rules", field=f"{where}.{sorted(unknown)[0]}")
        kind, target = raw.get("offering_type"), raw.get("offering_id")
        if (kind is None) == (target is None):
            raise ValidationError("A rule names exactly one of offering_type and offering_id.",
                                  code="tier.rules", field=where)
        if kind is not None and kind not in OFFERING_TYPES:
            raise ValidationError(f"offering_type is one of {', '.join(OFFERING_TYPES)}.",
                                  code="tier.rules", field=f"{where}.offering_type")
        offering_id = None
        if target is not None:
            try:
                offering_id = UUID(str(target))
            except ValueError:
                raise ValidationError("offering_id must be a UUID.", code="tier.rules",
                                      field=f"{where}.offering_id") from None
        try:
            access = RuleAccess(raw.get("access", "free"))
        except ValueError:
            raise ValidationError("access is free or credits.", code="tier.rules",
                                  field=f"{where}.access") from None
        cost = raw.get("credit_cost")
        if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int)
                                 or not 0 < cost <= MONTHLY_CREDITS_MAX):
            raise ValidationError("credit_cost is a positive whole number.", code="tier.rules",
                                  field=f"{where}.credit_cost")
        if cost is not None and access is RuleAccess.FREE:
            raise ValidationError("A free rule has no credit_cost.", code="tier.rules",
                                  field=f"{where}.credit_cost")
        key = (kind, offering_id)
        if key in seen:
            raise ValidationError("Two rules for the same offering or type.",
                                  code="tier.rules", field=where)
        seen.add(key)
        rules.append(OfferingRule(access, kind, offering_id, cost))
    return tuple(rules)


def _count(value: Any, field: str, limit: int, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValidationError(f"{field} is a whole number from 0 to {limit}.", field=field)
    return value


def _price(value: Any, field: str, currency: str) -> Money | None:
    if value is None:
        return None
    if isinstance(value, Money):
        return value  # unchanged since it was validated
    try:
        money = Money(value if isinstance(value, Decimal) else str(value), currency)
    except ValidationError as exc:
        exc.field = field
        raise
    if money.amount <= 0:
        raise ValidationError(f"{field} must be more than zero.", code="tier.price",
                              field=field)
    return money


def _categories(value: Any) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ValidationError("category_access is a list of category names.",
                              field="category_access")
    if len(value) > CATEGORIES_MAX:
        raise ValidationError(f"At most {CATEGORIES_MAX} categories.", field="category_access")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > CATEGORY_MAX:
            raise ValidationError("Each category is text of 1 to 100 characters.",
                                  field="category_access")
        if item.strip() not in out:
            out.append(item.strip())
    return out


EDITABLE = frozenset({"name", "description", "price_monthly", "price_yearly", "trial_days",
                      "category_access", "full_catalog_access", "offering_access_rules",
                      "monthly_credits", "credit_rollover", "credit_rollover_cap", "active"})


@attrs.define
class SubscriptionTier(Aggregate):
    id: UUID
    name: str
    currency: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    price_monthly: Money | None = None
    price_yearly: Money | None = None
    trial_days: int = 0
    category_access: list[str] = attrs.field(factory=list)
    full_catalog_access: bool = False
    offering_access_rules: tuple[OfferingRule, ...] = ()
    monthly_credits: int = 0
    credit_rollover: bool = False
    credit_rollover_cap: int | None = None
    active: bool = True
    stripe_product_id: str | None = None
    stripe_price_monthly_id: str | None = None
    stripe_price_yearly_id: str | None = None

    @classmethod
    def create(cls, *, id: UUID, now: datetime, currency: str,
               fields: Mapping[str, Any]) -> SubscriptionTier:
        tier = cls(id=id, name="", currency=Money("0", currency).currency, created_at=now,
                   updated_at=now)
        tier.edit({"name": None, **fields}, now)
        return tier

    def edit(self, changes: Mapping[str, Any], now: datetime) -> list[BillingPeriod]:
        """Validate every change, then apply them all. Returns the billing periods whose
        price changed (their provider Price must be replaced)."""
        unknown = set(changes) - EDITABLE
        if unknown:
            first = sorted(unknown)[0]
            raise ValidationError(f"Unknown tier field {first!r}.", code="tier.unknown_field",
                                  field=first)
        merged = {**self._fields(), **changes}
        name = text_field(merged["name"], "name", NAME_MAX, required=True)
        description = text_field(merged["description"], "description", DESCRIPTION_MAX,
                            required=False)
        monthly = _price(merged["price_monthly"], "price_monthly", self.currency)
        yearly = _price(merged["price_yearly"], "price_yearly", self.currency)
        if monthly is None and yearly is None:
            raise ValidationError("A tier has a monthly price, a yearly price or both.",
                                  code="tier.price_required", field="price_monthly")
        for flag in ("full_catalog_access", "credit_rollover", "active"):
            if not isinstance(merged[flag], bool):
                raise ValidationError(f"{flag} is true or false.", field=flag)
        cleaned = {
            "name": name, "description": description, "price_monthly": monthly,
            "price_yearly": yearly,
            "trial_days": _count(merged["trial_days"], "trial_days", TRIAL_DAYS_MAX),
            "category_access": _categories(merged["category_access"]),
            "full_catalog_access": merged["full_catalog_access"],
            "offering_access_rules": parse_rules(
                [r.to_json() if isinstance(r, OfferingRule) else r
                 for r in merged["offering_access_rules"]]
                if isinstance(merged["offering_access_rules"], list | tuple)
                else merged["offering_access_rules"]),
            "monthly_credits": _count(merged["monthly_credits"], "monthly_credits",
                                      MONTHLY_CREDITS_MAX),
            "credit_rollover": merged["credit_rollover"],
            "credit_rollover_cap": _count(merged["credit_rollover_cap"], "credit_rollover_cap",
                                          MONTHLY_CREDITS_MAX * 12, nullable=True),
            "active": merged["active"],
        }
        repriced = [period for period, old, new in (
            (BillingPeriod.MONTHLY, self.price_monthly, monthly),
            (BillingPeriod.YEARLY, self.price_yearly, yearly)) if old != new]
        for field, value in cleaned.items():
            setattr(self, field, value)
        # A provider Price is immutable: a changed amount needs a new one.
        if BillingPeriod.MONTHLY in repriced:
            self.stripe_price_monthly_id = None
        if BillingPeriod.YEARLY in repriced:
            self.stripe_price_yearly_id = None
        self.updated_at = now
        return repriced

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in EDITABLE}

    def price_for(self, period: BillingPeriod) -> Money:
        price = self.price_monthly if period is BillingPeriod.MONTHLY else self.price_yearly
        if price is None:
            raise NotFound(f"This tier has no {period.value} price.",
                           code="tier.period_unavailable")
        return price

    def require_open(self) -> None:
        if not self.active:
            raise Conflict("This tier takes no new members.", code="tier.inactive")

    def price_id(self, period: BillingPeriod) -> str | None:
        return (self.stripe_price_monthly_id if period is BillingPeriod.MONTHLY
                else self.stripe_price_yearly_id)

    def covers_category(self, category: str | None) -> bool:
        return self.full_catalog_access or (category is not None
                                            and category in self.category_access)

    def rule_for(self, offering_id: UUID, offering_type: str) -> OfferingRule | None:
        """The rule that includes this offering, if any: a rule naming the offering wins
        over a rule for its type."""
        by_type = None
        for rule in self.offering_access_rules:
            if rule.offering_id == offering_id:
                return rule
            if rule.offering_type == offering_type:
                by_type = rule
        return by_type
