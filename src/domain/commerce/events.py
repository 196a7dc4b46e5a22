from __future__ import annotations

from uuid import UUID

import attrs

from domain.events import DomainEvent


@attrs.frozen
class PurchaseCompleted(DomainEvent):
    purchase_id: UUID
    customer_id: UUID


@attrs.frozen
class PurchaseFailed(DomainEvent):
    purchase_id: UUID
    customer_id: UUID


@attrs.frozen
class PurchaseRefunded(DomainEvent):
    purchase_id: UUID
    customer_id: UUID
