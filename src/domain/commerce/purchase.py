"""The Purchase aggregate: pending → completed | failed; completed → refunded.

Transitions are monotonic: a late or repeated event can never move a purchase
backwards (a failure notice after success changes nothing; a success after a
refund changes nothing).
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs

from domain.commerce.events import PurchaseCompleted, PurchaseFailed, PurchaseRefunded
from domain.commerce.revenue import RevenueSplit
from domain.errors import Conflict
from domain.events import Aggregate
from domain.values import Money


@attrs.frozen
class PackTerms:
    """What a credit-pack purchase grants, fixed when the purchase starts."""

    pack_id: UUID
    credits: int
    valid_days: int | None


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDED = "refunded"


@attrs.define
class Purchase(Aggregate):
    id: UUID
    customer_id: UUID
    content_id: UUID | None
    series_id: UUID | None
    amount: Money
    platform_fee: Money
    creator_payout: Money
    created_at: datetime
    updated_at: datetime
    status: PurchaseStatus = PurchaseStatus.PENDING
    payment_intent_id: str | None = None
    purchased_at: datetime | None = None
    refunded_at: datetime | None = None
    refund_reason: str | None = None
    pack: PackTerms | None = None
    # Who sold it, and (a media owner's sale) the account their share was sent to when
    # the charge was made: what its refunds take back, whatever changes later.
    seller_id: UUID | None = None
    payout_account: str | None = None

    @classmethod
    def start(cls, *, id: UUID, customer_id: UUID, content_id: UUID | None,
              series_id: UUID | None, split: RevenueSplit, now: datetime,
              pack: PackTerms | None = None, seller_id: UUID | None = None) -> Purchase:
        if [content_id, series_id, pack].count(None) != 2:
            raise ValueError("a purchase is of one content item, one series or one pack")
        return cls(id=id, customer_id=customer_id, content_id=content_id, series_id=series_id,
                   amount=split.amount, platform_fee=split.platform_fee,
                   creator_payout=split.creator_payout, created_at=now, updated_at=now,
                   pack=pack, seller_id=seller_id)

    @property
    def credit_pack_id(self) -> UUID | None:
        return self.pack.pack_id if self.pack else None

    def attach_payment(self, payment_intent_id: str, now: datetime) -> None:
        if self.payment_intent_id not in (None, payment_intent_id):
            raise Conflict("This purchase already has a payment.", code="purchase.paid_twice")
        self.payment_intent_id = payment_intent_id
        self.updated_at = now

    def complete(self, now: datetime) -> bool:
        """Mark paid; False (and no change) unless it was pending or failed.

        A failed purchase may still complete: a customer can retry a declined card
        on the same payment and succeed.
        """
        if self.status not in (PurchaseStatus.PENDING, PurchaseStatus.FAILED):
            return False
        self.status = PurchaseStatus.COMPLETED
        self.purchased_at = now
        self.updated_at = now
        self.record(PurchaseCompleted(purchase_id=self.id, customer_id=self.customer_id))
        return True

    def fail(self, now: datetime) -> bool:
        if self.status is not PurchaseStatus.PENDING:
            return False
        self.status = PurchaseStatus.FAILED
        self.updated_at = now
        self.record(PurchaseFailed(purchase_id=self.id, customer_id=self.customer_id))
        return True

    def refund(self, now: datetime, reason: str | None) -> bool:
        if self.status is not PurchaseStatus.COMPLETED:
            return False
        self.status = PurchaseStatus.REFUNDED
        self.refunded_at = now
        self.refund_reason = reason
        self.updated_at = now
        self.record(PurchaseRefunded(purchase_id=self.id, customer_id=self.customer_id))
        return True
