"""The earnings ledger: each sale of a creator's item and each refund of one."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs

from domain.commerce.revenue import RevenueSplit


class EntryType(enum.StrEnum):
    SALE = "sale"
    REFUND = "refund"


class SourceType(enum.StrEnum):
    PURCHASE = "purchase"
    BOOKING = "booking"
    INSTALLMENT = "installment"


@attrs.frozen
class ItemRef:
    """What was sold: exactly one of a content item, a series or an offering."""

    content_id: UUID | None = None
    series_id: UUID | None = None
    offering_id: UUID | None = None

    def __attrs_post_init__(self) -> None:
        if [self.content_id, self.series_id, self.offering_id].count(None) != 2:
            raise ValueError("an earnings entry is of exactly one item")

    @property
    def kind(self) -> str:
        return "content" if self.content_id else "series" if self.series_id else "offering"


@attrs.frozen
class EarningsEntry:
    id: UUID
    seller_id: UUID
    entry_type: EntryType
    source_type: SourceType
    source_id: UUID
    item: ItemRef
    # The provider's payment (a sale) or refund: recorded once, whatever the retries.
    reference: str
    # The payment a refund gives back; a sale's own reference.
    payment_ref: str
    split: RevenueSplit
    occurred_at: datetime
    destination_account: str | None = None
