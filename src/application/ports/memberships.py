"""Repository ports for tiers and subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.memberships.subscription import Subscription
from domain.memberships.tier import SubscriptionTier


class TierRepository(Protocol):
    def add(self, tier: SubscriptionTier) -> None: ...

    def get(self, tier_id: UUID, *, lock: bool = False) -> SubscriptionTier | None: ...

    def list(self, *, active_only: bool) -> Sequence[SubscriptionTier]:
        """Cheapest first (by monthly, else yearly price), then by name."""
        ...


class SubscriptionRepository(Protocol):
    def add(self, subscription: Subscription) -> None:
        """Insert; raises Conflict(subscription.exists) if the customer has a live one."""
        ...

    def get(self, subscription_id: UUID, *, lock: bool = False) -> Subscription | None: ...

    def get_by_provider(self, provider_id: str, *, lock: bool = False
                        ) -> Subscription | None: ...

    def live_for(self, customer_id: UUID, *, lock: bool = False) -> Subscription | None:
        """The customer's one live (incomplete, trialing, active, past_due) subscription."""
        ...

    def latest_for(self, customer_id: UUID) -> Subscription | None:
        """The live one, else the most recently created."""
        ...

    def has_had(self, customer_id: UUID) -> bool:
        """Whether the customer ever was a member (a trial is offered once)."""
        ...

    def due(self, now: datetime, limit: int) -> Sequence[Subscription]:
        """Members whose period ended by ``now`` (the sandbox's renewals)."""
        ...

    def yearly_members(self, limit: int, after: UUID | None) -> Sequence[Subscription]:
        """Yearly members with a paid invoice, by id (their monthly credits fall due)."""
        ...

    def list(self, *, status: str | None, limit: int, offset: int) -> Sequence[Subscription]: ...
