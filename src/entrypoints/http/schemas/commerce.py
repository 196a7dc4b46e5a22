"""Bodies of the purchase, library, refund, grant and webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from entrypoints.http.schemas.catalog import EntryOut
from entrypoints.http.schemas.common import EmailText, PriceText, Strict


class PurchaseBody(Strict):
    content_id: UUID | None = None
    series_id: UUID | None = None
    credit_pack_id: UUID | None = None
    payment_method: Annotated[str, Meta(max_length=100, description=(
        "Stripe: a PaymentMethod id to confirm server-side (else confirm with the client "
        "secret). Sandbox: a test card number, 4242424242424242 succeeds, "
        "4000000000000002 is declined."))] | None = None


class PurchaseOut(msgspec.Struct):
    purchase_id: UUID
    status: str
    amount: str
    currency: str
    client_secret: str | None
    gateway: str


class PurchaseLineOut(msgspec.Struct):
    id: UUID
    kind: str
    title: str
    slug: str
    status: str
    amount: str
    currency: str
    created_at: datetime
    purchased_at: datetime | None
    refunded_at: datetime | None


class LibraryItemOut(msgspec.Struct):
    item: EntryOut
    reason: str


class RefundBody(Strict):
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]
    amount: PriceText | None = None


class RefundOut(msgspec.Struct):
    purchase_id: UUID
    refund_id: str
    amount: str
    currency: str
    status: str


class GrantBody(Strict):
    email: EmailText
    content_id: UUID
    access_type: Annotated[str, Meta(pattern="^(complimentary|preview)$")] = "complimentary"
    expires_at: datetime | None = None


class GrantOut(msgspec.Struct):
    user_id: UUID
    content_id: UUID
    access_type: str
    expires_at: datetime | None
    created: bool


class WebhookOut(msgspec.Struct):
    received: bool
    outcome: str
