"""Writing the earnings ledger: a sale when a payment succeeds, a refund when money goes
back. Each entry is keyed by the provider's payment or refund id, so a redelivered
event or a retried refund writes nothing twice."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from application.ports.payments import RefundRecord
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.commerce.revenue import RevenueSplit, refund_split
from domain.payouts.earnings import EarningsEntry, EntryType, ItemRef, SourceType
from domain.values import Money

log = logging.getLogger("patronage.payouts")


def record_sale(uow: UnitOfWork, services: Services, *, seller_id: UUID, source: SourceType,
                source_id: UUID, item: ItemRef, payment_ref: str, split: RevenueSplit,
                destination: str | None, at: datetime) -> None:
    uow.earnings.add(EarningsEntry(
        id=services.ids.new_id(), seller_id=seller_id, entry_type=EntryType.SALE,
        source_type=source, source_id=source_id, item=item, reference=payment_ref,
        payment_ref=payment_ref, split=split, occurred_at=at,
        destination_account=destination))


def takes_back_transfer(uow: UnitOfWork, payment_ref: str | None) -> bool:
    """Was this payment a destination charge, whose refunds take the creator's share back?"""
    if payment_ref is None:
        return False
    sale = uow.earnings.sale(payment_ref)
    return sale is not None and sale.destination_account is not None


def record_refund(uow: UnitOfWork, services: Services, payment_ref: str | None,
                  refund: RefundRecord, at: datetime) -> bool:
    """The refund's share of the platform's fee and of the creator's payout, in proportion
    to the sale (nothing when the payment was never a creator's sale)."""
    sale = uow.earnings.sale(payment_ref) if payment_ref else None
    if sale is None or refund.status in ("failed", "canceled") \
            or uow.earnings.recorded(EntryType.REFUND, refund.id):
        return False
    currency = sale.split.amount.currency
    before = Money(uow.earnings.refunded(sale.reference), currency)
    try:
        split = refund_split(sale.split, before, refund.amount)
    except ValueError:
        log.error("refund %s of payment %s is more than is left of it; not recorded",
                    refund.id, sale.reference)
        return False
    return uow.earnings.record(EarningsEntry(
        id=services.ids.new_id(), seller_id=sale.seller_id, entry_type=EntryType.REFUND,
        source_type=sale.source_type, source_id=sale.source_id, item=sale.item,
        reference=refund.id, payment_ref=sale.reference, split=split, occurred_at=at,
        destination_account=sale.destination_account))
