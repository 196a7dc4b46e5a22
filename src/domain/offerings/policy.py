"""What an offering's payment options allow, and its cancellation policy."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from domain.errors import ValidationError
from domain.offerings.installments import MAX_INSTALLMENTS, MIN_INSTALLMENTS


class Outcome(enum.StrEnum):
    FULL_REFUND = "full_refund"  # the money back, or the credits back
    CREDIT_RETURN = "credit_return"  # credits back; a paid booking gets its credit_cost
    NOTHING = "nothing"


@attrs.frozen
class CancellationPolicy:
    """Cancelling at least ``hours_before`` the start gets ``early``; later, ``late``.
    Owners cancelling always give a full refund (or the credits back)."""

    hours_before: int = 24
    early: Outcome = Outcome.FULL_REFUND
    late: Outcome = Outcome.NOTHING

    def outcome(self, starts_at: datetime, now: datetime) -> Outcome:
        return self.early if starts_at - now >= timedelta(hours=self.hours_before) \
            else self.late

    def to_json(self) -> dict[str, Any]:
        return {"hours_before": self.hours_before, "early": self.early.value,
                "late": self.late.value}


@attrs.frozen
class PaymentOptions:
    cancellation: CancellationPolicy = attrs.field(factory=CancellationPolicy)
    # Minutes a seat stays held for a payment the customer has not completed.
    seat_hold_minutes: int = 15
    # A waiting list for full sessions; a freed seat is held this long for the next in line.
    waitlist: bool = False
    waitlist_hold_minutes: int = 60
    # Customers paying by purchase may choose this many monthly payments (None: not
    # offered).
    installments: int | None = None
    # A recurring class: each session is booked (and paid) on its own. Without it the
    # whole series is one booking.
    pay_per_session: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"cancellation": self.cancellation.to_json(),
                "seat_hold_minutes": self.seat_hold_minutes, "waitlist": self.waitlist,
                "waitlist_hold_minutes": self.waitlist_hold_minutes,
                "installments": self.installments, "pay_per_session": self.pay_per_session}


def _outcome(value: Any, field: str) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        raise ValidationError("Expected full_refund, credit_return or nothing.",
                              code="offering.policy", field=field) from None


def parse_payment_options(raw: Any) -> PaymentOptions:
    """Validated ``payment_options``; an unknown option is an error rather than ignored."""
    if raw is None:
        return PaymentOptions()
    if not isinstance(raw, Mapping):
        raise ValidationError("payment_options is an object.", code="offering.options",
                              field="payment_options")
    unknown = set(raw) - {"cancellation", "seat_hold_minutes", "waitlist",
                          "waitlist_hold_minutes", "installments", "pay_per_session"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"payment_options.{name} is not available.",
                              code="offering.option_unavailable",
                              field=f"payment_options.{name}")
    hold = raw.get("seat_hold_minutes", 15)
    if isinstance(hold, bool) or not isinstance(hold, int) or not 1 <= hold <= 24 * 60:
        raise ValidationError("seat_hold_minutes is 1 to 1440.", code="offering.options",
                              field="payment_options.seat_hold_minutes")
    waitlist = raw.get("waitlist", False)
    if not isinstance(waitlist, bool):
        raise ValidationError("waitlist is true or false.", code="offering.options",
                              field="payment_options.waitlist")
    offer_hold = raw.get("waitlist_hold_minutes", 60)
    if isinstance(offer_hold, bool) or not isinstance(offer_hold, int) or not (
            5 <= offer_hold <= 7 * 24 * 60):
        raise ValidationError("waitlist_hold_minutes is 5 to 10080.", code="offering.options",
                              field="payment_options.waitlist_hold_minutes")
    installments = raw.get("installments")
    if installments is not None and (
            isinstance(installments, bool) or not isinstance(installments, int)
            or not MIN_INSTALLMENTS <= installments <= MAX_INSTALLMENTS):
        raise ValidationError(
            f"installments is the number of monthly payments, {MIN_INSTALLMENTS} to "
            f"{MAX_INSTALLMENTS} (or null: none).", code="offering.options",
            field="payment_options.installments")
    per_session = raw.get("pay_per_session", False)
    if not isinstance(per_session, bool):
        raise ValidationError("pay_per_session is true or false.", code="offering.options",
                              field="payment_options.pay_per_session")
    policy = raw.get("cancellation")
    if policy is None:
        return PaymentOptions(seat_hold_minutes=hold, waitlist=waitlist,
                              waitlist_hold_minutes=offer_hold, installments=installments,
                              pay_per_session=per_session)
    if not isinstance(policy, Mapping) or set(policy) - {"hours_before", "early", "late"}:
        raise ValidationError("cancellation has hours_before, early and late.",
                              code="offering.policy", field="payment_options.cancellation")
    hours = policy.get("hours_before", 24)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 24 * 365:
        raise ValidationError("hours_before is 0 to 8760.", code="offering.policy",
                              field="payment_options.cancellation.hours_before")
    return PaymentOptions(
        cancellation=CancellationPolicy(
            hours, _outcome(policy.get("early", "full_refund"),
                            "payment_options.cancellation.early"),
            _outcome(policy.get("late", "nothing"), "payment_options.cancellation.late")),
        seat_hold_minutes=hold, waitlist=waitlist, waitlist_hold_minutes=offer_hold,
        installments=installments, pay_per_session=per_session)


@attrs.frozen
class PortalConfig:
    access_before_days: int = 0
    access_after_days: int = 30

    def to_json(self) -> dict[str, Any]:
        return {"access_before_days": self.access_before_days,
                "access_after_days": self.access_after_days}


def parse_portal_config(raw: Any) -> PortalConfig:
    if raw is None:
        return PortalConfig()
    if not isinstance(raw, Mapping) or set(raw) - {"access_before_days", "access_after_days"}:
        raise ValidationError("portal_config has access_before_days and access_after_days.",
                              code="offering.portal", field="portal_config")
    values = []
    for name, default in (("access_before_days", 0), ("access_after_days", 30)):
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
            raise ValidationError(f"{name} is 0 to 3650.", code="offering.portal",
                                  field=f"portal_config.{name}")
        values.append(value)
    return PortalConfig(*values)
