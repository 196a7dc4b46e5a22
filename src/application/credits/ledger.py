"""Moving credits inside a caller's transaction: what memberships and bookings call.

Each function locks the customer's ledger (through ``uow.credits.load``), records
what it does, and saves it; the caller commits. So a booking and the spend that
pays for it are one transaction, and a spend can never outrun another.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.commerce.purchase import Purchase, PurchaseStatus
from domain.credits.ledger import CreditLedger, CreditType, Entry, refund_key
from domain.credits.packs import pack_expiry, purchase_key, purchase_of, withdrawal_key
from domain.errors import NotFound
from domain.memberships.periods import add_months, months_in
from domain.memberships.subscription import Subscription
from domain.memberships.tier import SubscriptionTier


def spend_credits(uow: UnitOfWork, services: Services, *, customer_id: UUID, amount: int,
                  booking_id: UUID | None, description: str | None = None) -> Entry:
    """Take ``amount`` credits, soonest-expiring first; InsufficientCredits if short."""
    ledger = uow.credits.load(customer_id)
    entry = ledger.spend(services.ids.new_id, amount, services.clock.now(),
                         booking_id=booking_id, description=description)
    uow.credits.save(ledger)
    return entry


def refund_spend(uow: UnitOfWork, services: Services, *, spend_id: UUID,
                 description: str | None = None) -> Entry | None:
    """Give back exactly what a spend took (same grants, same expiries). None when it was
    refunded before: a repeated cancellation returns nothing twice."""
    spend = uow.credits.entry(spend_id)
    if spend is None or spend.type is not CreditType.SPENT_OFFERING:
        raise NotFound("No such credit spend.", code="credits.spend_not_found")
    customer_id = _owner(uow, spend_id)
    ledger = uow.credits.load(customer_id)
    if uow.credits.has_source(refund_key(spend_id)):
        return None
    now = services.clock.now()
    entry = ledger.refund(services.ids.new_id, spend, now, description=description)
    _withdraw_from_refunded_packs(uow, services, ledger, entry, spend_id, now)
    uow.credits.save(ledger)
    return entry


def _withdraw_from_refunded_packs(uow: UnitOfWork, services: Services, ledger: CreditLedger,
                                  refund: Entry, spend_id: UUID, now: datetime) -> None:
    """Credits a cancelled booking gives back to a pack refunded since it was booked
    are withdrawn at once: the customer has their money back for that pack."""
    lots = {lot.grant_id: lot for lot in ledger.lots}
    for allocation in refund.allocations:
        purchase_id = purchase_of(lots[allocation.grant_id].source_key)
        purchase = uow.purchases.get(purchase_id) if purchase_id else None
        if purchase is None or purchase.status is not PurchaseStatus.REFUNDED:
            continue
        ledger.withdraw(services.ids.new_id, allocation.grant_id, now,
                        description="Credits returned to a refunded pack are withdrawn",
                        source_key=f"{withdrawal_key(purchase.id)}:{spend_id}")


def _owner(uow: UnitOfWork, spend_id: UUID) -> UUID:
    owner = uow.credits.owner_of(spend_id)
    if owner is None:
        raise NotFound("No such credit spend.", code="credits.spend_not_found")
    return owner


def grant_pack_credits(uow: UnitOfWork, services: Services, purchase: Purchase,
                       pack_name: str) -> Entry | None:
    """The credits a paid pack purchase grants, once (None if granted before)."""
    if purchase.pack is None or uow.credits.has_source(purchase_key(purchase.id)):
        return None
    now = services.clock.now()
    ledger = uow.credits.load(purchase.customer_id)
    entry = ledger.earn(services.ids.new_id, CreditType.EARNED_PURCHASE, purchase.pack.credits,
                        now, expires_at=pack_expiry(now, purchase.pack.valid_days),
                        description=f"Credit pack: {pack_name}",
                        source_key=purchase_key(purchase.id))
    uow.credits.save(ledger)
    return entry


def withdraw_pack_credits(uow: UnitOfWork, services: Services, purchase: Purchase
                          ) -> Entry | None:
    """A refunded pack's credits that are still unspent go; spent ones stay spent (the
    bookings they paid for stand). Once per purchase."""
    grant_id = uow.credits.source_entry(purchase_key(purchase.id))
    if grant_id is None or uow.credits.has_source(withdrawal_key(purchase.id)):
        return None
    ledger = uow.credits.load(purchase.customer_id)
    entry = ledger.withdraw(services.ids.new_id, grant_id, services.clock.now(),
                            description="Purchase refunded: its unspent credits withdrawn",
                            source_key=withdrawal_key(purchase.id))
    uow.credits.save(ledger)
    return entry


def expire_credits(uow: UnitOfWork, services: Services, customer_id: UUID) -> int:
    """Write off the customer's credits past their expiry; returns how many."""
    ledger = uow.credits.load(customer_id)
    written = ledger.expire_due(services.clock.now(), services.ids.new_id)
    uow.credits.save(ledger)
    return -sum(entry.amount for entry in written)


def month_key(invoice_id: str, month: int) -> str:
    return f"invoice:{invoice_id}:m{month}"


def grant_month(uow: UnitOfWork, services: Services, ledger: CreditLedger,
                subscription: Subscription, tier: SubscriptionTier, *, invoice_id: str,
                month: int, period_start: datetime, now: datetime) -> Entry | None:
    """Grant month ``month`` (0-based) of a paid period: once per invoice and month.

    Without rollover the credits expire when that month ends; with rollover they are
    kept, and what was carried over beyond the tier's cap expires as the new ones come.
    """
    if tier.monthly_credits <= 0:
        return None
    key = month_key(invoice_id, month)
    if uow.credits.has_source(key):
        return None
    month_start = add_months(period_start, month)
    month_end = add_months(period_start, month + 1)
    if month_end <= now:
        return None  # that month is over: its credits could only expire at once
    if tier.credit_rollover and tier.credit_rollover_cap is not None:
        ledger.cap_rollover(tier.credit_rollover_cap, now, services.ids.new_id,
                            subscription.id)
    label = month_start.strftime("%B %Y")
    return ledger.earn(services.ids.new_id, CreditType.EARNED_SUBSCRIPTION,
                       tier.monthly_credits, now,
                       expires_at=None if tier.credit_rollover else month_end,
                       description=f"{tier.name}: credits for {label}",
                       subscription_id=subscription.id, source_key=key)


@attrs.frozen
class Moved:
    granted: int = 0
    expired: int = 0


def grant_due_months(uow: UnitOfWork, services: Services, subscription: Subscription,
                     tier: SubscriptionTier) -> Moved:
    """Grant every month of the paid period that has begun and not been granted.

    A monthly member gets month 0 when the invoice is paid; a yearly member gets
    month 0 then, and months 1 to 11 as each begins (``credits expire`` and the worker
    run this).
    """
    invoice_id, start = subscription.paid_invoice_id, subscription.paid_period_start
    if invoice_id is None or start is None or tier.monthly_credits <= 0:
        return Moved()
    now = services.clock.now()
    ledger = uow.credits.load(subscription.customer_id)
    # What ended before this grant is written off first, so the ledger reads in order.
    expired = -sum(e.amount for e in ledger.expire_due(now, services.ids.new_id))
    granted = 0
    for month in range(months_in(subscription.billing_period)):
        if add_months(start, month) > now:
            break
        entry = grant_month(uow, services, ledger, subscription, tier, invoice_id=invoice_id,
                            month=month, period_start=start, now=now)
        granted += entry.amount if entry else 0
    uow.credits.save(ledger)
    return Moved(granted=granted, expired=expired)

