"""Repository ports for purchases, grants and webhook bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol
from uuid import UUID

import attrs

from application.ports.payments import RefundRecord
from domain.commerce.purchase import Purchase
from domain.identity.roles import Role
from domain.identity.user import User
from domain.payouts.accounts import PayoutAccount

# What recording a gateway event found (`CommerceLedger.record_unless_held`).
EventSeen = Literal["recorded", "duplicate", "held"]


class PurchaseRepository(Protocol):
    def add(self, purchase: Purchase) -> None:
        """Insert; raises Conflict(purchase.already_open) if one is pending or completed."""
        ...

    def get(self, purchase_id: UUID, *, lock: bool = False) -> Purchase | None: ...

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Purchase | None: ...

    def record_event_and_lock(self, purchase_id: UUID, *, event_id: str, provider: str,
                              event_type: str, now: datetime) -> tuple[bool, Purchase | None]:
        """`CommerceLedger.record_event`, and when the event is new, the purchase it
        names read locked (None if there is none), in one statement where the database
        allows: (whether the event is new, the purchase)."""
        ...

    def series_buyers(self, series_id: UUID) -> Sequence[UUID]:
        """The customers holding a completed purchase of this series bundle."""
        ...

    def open_for(self, customer_id: UUID, *, content_id: UUID | None,
                 series_id: UUID | None, credit_pack_id: UUID | None = None
                 ) -> Purchase | None:
        """The pending or completed purchase of this item by this customer, if any; for
        a credit pack, which can be bought again, only a pending one."""
        ...

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Purchase]: ...

    def opening(self, customer_id: UUID, *, content_id: UUID | None, series_id: UUID | None,
                credit_pack_id: UUID | None, seller_id: UUID | None) -> Opening:
        """Everything a purchase start reads besides the item, in one statement: the
        open purchase (as `open_for`), the buyer, and the seller's terms."""
        ...


@attrs.frozen
class Buyer:
    """Who pays, as the payment gateway needs them."""

    id: UUID
    email: str
    customer_id: str | None  # the gateway's customer, once made


@attrs.frozen
class Opening:
    open_purchase: Purchase | None
    buyer: Buyer | None  # None: no such (live) user
    fee_percent: Decimal  # the platform's fee now
    seller_role: Role | None = None  # None: no seller named, or none found
    payout_account: PayoutAccount | None = None  # the seller's


@attrs.frozen
class PurchaseLine:
    """What a receipt or a purchase listing shows."""

    purchase: Purchase
    title: str
    slug: str
    kind: str  # "content", "series" or "credit_pack"


class GrantRepository(Protocol):
    def grant(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
              expires_at: datetime | None, now: datetime) -> bool:
        """Create the grant, or extend an existing one of this type; True if created."""
        ...

    def give(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
             expires_at: datetime | None, now: datetime) -> None:
        """`grant`, for a caller that does not ask which it did: the write may go with
        the commit."""
        ...

    def revoke(self, *, user_id: UUID, content_id: UUID, access_type: str) -> bool: ...


class CommerceLedger(Protocol):
    def record_event(self, event_id: str, provider: str, event_type: str, now: datetime) -> bool:
        """Remember a processed gateway event; False if it was seen before."""
        ...

    def record_unless_held(self, event_id: str, provider: str, event_type: str,
                           intent_id: str | None, now: datetime) -> EventSeen:
        """Remember a gateway event, in a statement that commits on its own, unless a
        purchase, a booking or an installment carries its payment (``intent_id``):
        "recorded", "duplicate" (seen before), or "held" (nothing written: the event
        is recorded with its effects, by `record_event` in their transaction)."""
        ...

    def record_refund(self, refund_id: str, purchase_id: UUID, amount: Decimal, currency: str,
                      now: datetime) -> bool:
        """Remember a refund; False if it was recorded before."""
        ...

    def remember_refund_request(self, purchase_id: UUID, request_key: str,
                                refund: RefundRecord, now: datetime) -> None:
        """Record the refund the gateway gave for this request (or mark it, if its
        event recorded it first)."""
        ...

    def refund_for_request(self, purchase_id: UUID, request_key: str) -> RefundRecord | None:
        """The refund an earlier identical request got, if any."""
        ...

    def refunded_total(self, purchase_id: UUID) -> Decimal:
        """Sum of the refunds recorded for this purchase."""
        ...

    def key_resource(self, user_id: UUID, scope: str, key: str) -> UUID | None:
        """The resource the first request with this Idempotency-Key created, if any."""
        ...

    def remember_key(self, user_id: UUID, scope: str, key: str, resource_id: UUID,
                     now: datetime) -> UUID:
        """Store an Idempotency-Key; returns the resource of the first request that used it."""
        ...

    def library_candidates(self, user_id: UUID) -> list[UUID]:
        """Items behind the user's grants and completed series purchases."""
        ...

    def add_purchase_count(self, content_id: UUID, delta: int) -> None:
        """Move an item's purchase count (never below zero); may go with the commit."""
        ...

    def describe(self, purchases: Sequence[Purchase]) -> Sequence[PurchaseLine]: ...

    def line(self, purchase_id: UUID) -> PurchaseLine | None:
        """One purchase as `describe` shows it, read with its item's names in one
        statement (a purchase's notification)."""
        ...

    def line_and_buyer(self, purchase_id: UUID) -> tuple[PurchaseLine, User] | None:
        """`line`, with the buyer read in the same statement (a purchase's receipt)."""
        ...
