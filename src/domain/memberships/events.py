from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from domain.events import DomainEvent


@attrs.frozen
class MembershipStarted(DomainEvent):
    subscription_id: UUID
    customer_id: UUID


@attrs.frozen
class MembershipRenewed(DomainEvent):
    subscription_id: UUID
    customer_id: UUID
    invoice_id: str


@attrs.frozen
class MembershipPaymentFailed(DomainEvent):
    subscription_id: UUID
    customer_id: UUID
    grace_until: datetime | None


@attrs.frozen
class MembershipCancellationScheduled(DomainEvent):
    subscription_id: UUID
    customer_id: UUID
    ends_at: datetime


@attrs.frozen
class MembershipEnded(DomainEvent):
    subscription_id: UUID
    customer_id: UUID
