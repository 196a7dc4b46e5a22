"""The purchase and grant repositories and the commerce ledger."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from application.ports.commerce import Buyer, EventSeen, Opening, PurchaseLine
from application.ports.payments import RefundRecord
from domain.catalog.content import ContentItem
from domain.catalog.series import ContentSeries
from domain.commerce.purchase import Purchase, PurchaseStatus
from domain.errors import Conflict
from domain.identity.user import User
from domain.values import Money
from tests.unit.fakes.catalog import FakeContentRepository, FakeSeriesRepository
from tests.unit.fakes.store import GrantRow, RefundRow, Store


def record_event(staged: Store, event_id: str, provider: str, event_type: str,
                 now: datetime) -> bool:
    """A gateway event's id kept; False if it was kept before."""
    if event_id in staged.webhook_events:
        return False
    staged.webhook_events[event_id] = (provider, event_type[:255], now)
    return True


class FakePurchaseRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged
        self.seen: dict[UUID, Purchase] = {}

    def _all(self) -> dict[UUID, Purchase]:
        return {**self._staged.purchases, **self.seen}

    def _track(self, purchase: Purchase | None) -> Purchase | None:
        if purchase is None:
            return None
        if purchase.id not in self.seen:
            self.seen[purchase.id] = copy.deepcopy(purchase)
        return self.seen[purchase.id]

    def add(self, purchase: Purchase) -> None:
        if self.open_for(purchase.customer_id, content_id=purchase.content_id,
                         series_id=purchase.series_id,
                         credit_pack_id=purchase.credit_pack_id) is not None:
            raise Conflict("There is already an open purchase of this item.",
                           code="purchase.already_open")
        self.seen[purchase.id] = purchase

    def get(self, purchase_id: UUID, *, lock: bool = False) -> Purchase | None:
        return self._track(self._all().get(purchase_id))

    def record_event_and_lock(self, purchase_id: UUID, *, event_id: str, provider: str,
                              event_type: str, now: datetime) -> tuple[bool, Purchase | None]:
        if not record_event(self._staged, event_id, provider, event_type, now):
            return False, None
        return True, self.get(purchase_id, lock=True)

    def get_by_intent(self, intent_id: str, *, lock: bool = False) -> Purchase | None:
        return self._track(next((p for p in self._all().values()
                                 if p.payment_intent_id == intent_id), None))

    def series_buyers(self, series_id: UUID) -> Sequence[UUID]:
        return sorted({p.customer_id for p in self._all().values()
                       if p.series_id == series_id and p.status is PurchaseStatus.COMPLETED})

    def open_for(self, customer_id: UUID, *, content_id: UUID | None,
                 series_id: UUID | None, credit_pack_id: UUID | None = None
                 ) -> Purchase | None:
        def is_open(p: Purchase) -> bool:
            if credit_pack_id is not None:
                return p.credit_pack_id == credit_pack_id and p.status is PurchaseStatus.PENDING
            same = (p.content_id == content_id if content_id is not None
                    else p.series_id == series_id)
            return same and p.status in (PurchaseStatus.PENDING, PurchaseStatus.COMPLETED)

        return self._track(next(
            (p for p in self._all().values() if p.customer_id == customer_id and is_open(p)),
            None))

    def opening(self, customer_id: UUID, *, content_id: UUID | None, series_id: UUID | None,
                credit_pack_id: UUID | None, seller_id: UUID | None) -> Opening:
        buyer = self._staged.users.get(customer_id)
        seller = self._staged.users.get(seller_id) if seller_id is not None else None
        return Opening(
            open_purchase=self.open_for(customer_id, content_id=content_id,
                                        series_id=series_id, credit_pack_id=credit_pack_id),
            buyer=(Buyer(buyer.id, buyer.email.value, buyer.stripe_customer_id)
                   if buyer is not None else None),
            fee_percent=self._staged.settings.platform_fee_percent,
            seller_role=seller.role if seller is not None else None,
            payout_account=(copy.deepcopy(self._staged.payout_accounts.get(seller.id))
                            if seller is not None else None))

    def for_customer(self, customer_id: UUID, limit: int, offset: int) -> Sequence[Purchase]:
        rows = sorted((p for p in self._all().values() if p.customer_id == customer_id),
                      key=lambda p: (p.created_at, p.id), reverse=True)
        return [copy.deepcopy(p) for p in rows[offset:offset + limit]]

    def completed_series(self, customer_id: UUID) -> set[UUID]:
        return {p.series_id for p in self._all().values()
                if p.customer_id == customer_id and p.series_id is not None
                and p.status is PurchaseStatus.COMPLETED}


class FakeGrantRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def find(self, user_id: UUID, content_id: UUID, access_type: str) -> GrantRow | None:
        return next((g for g in self._staged.grants.values()
                     if (g.user_id, g.content_id, g.access_type)
                     == (user_id, content_id, access_type)), None)

    def grant(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
              expires_at: datetime | None, now: datetime) -> bool:
        existing = self.find(user_id, content_id, access_type)
        if existing is not None:
            self._staged.grants[existing.id] = attrs.evolve(existing, expires_at=expires_at)
            return False
        self._staged.grants[grant_id] = GrantRow(grant_id, user_id, content_id, access_type,
                                                 expires_at, now)
        return True

    def give(self, *, grant_id: UUID, user_id: UUID, content_id: UUID, access_type: str,
             expires_at: datetime | None, now: datetime) -> None:
        self.grant(grant_id=grant_id, user_id=user_id, content_id=content_id,
                   access_type=access_type, expires_at=expires_at, now=now)

    def revoke(self, *, user_id: UUID, content_id: UUID, access_type: str) -> bool:
        existing = self.find(user_id, content_id, access_type)
        if existing is None:
            return False
        del self._staged.grants[existing.id]
        return True


class FakeCommerceLedger:
    def __init__(self, staged: Store, content: FakeContentRepository,
                 series: FakeSeriesRepository, purchases: FakePurchaseRepository,
                 payments: Callable[[], Iterable[str | None]]) -> None:
        self._staged = staged
        self._content = content
        self._series = series
        self._purchases = purchases
        # The payment ids held by purchases, bookings and installments as this unit
        # of work sees them.
        self._payments = payments

    def record_event(self, event_id: str, provider: str, event_type: str, now: datetime) -> bool:
        return record_event(self._staged, event_id, provider, event_type, now)

    def record_unless_held(self, event_id: str, provider: str, event_type: str,
                           intent_id: str | None, now: datetime) -> EventSeen:
        if intent_id is not None and intent_id in set(self._payments()):
            return "held"
        return "recorded" if self.record_event(event_id, provider, event_type, now) \
            else "duplicate"

    def record_refund(self, refund_id: str, purchase_id: UUID, amount: Decimal, currency: str,
                      now: datetime) -> bool:
        if refund_id in self._staged.refunds:
            return False
        self._staged.refunds[refund_id] = RefundRow(purchase_id, Decimal(amount), currency, now)
        return True

    def remember_refund_request(self, purchase_id: UUID, request_key: str,
                                refund: RefundRecord, now: datetime) -> None:
        known = self._staged.refunds.get(refund.id)
        self._staged.refunds[refund.id] = RefundRow(
            purchase_id, refund.amount.amount, refund.amount.currency,
            known.created_at if known else now, request_key, refund.status)

    def refund_for_request(self, purchase_id: UUID, request_key: str) -> RefundRecord | None:
        for refund_id, row in self._staged.refunds.items():
            if row.purchase_id == purchase_id and row.request_key == request_key:
                return RefundRecord(refund_id, Money(row.amount, row.currency),
                                    row.status or "succeeded")
        return None

    def refunded_total(self, purchase_id: UUID) -> Decimal:
        return sum((r.amount for r in self._staged.refunds.values()
                    if r.purchase_id == purchase_id), Decimal(0))

    def key_resource(self, user_id: UUID, scope: str, key: str) -> UUID | None:
        return self._staged.idempotency_keys.get((user_id, scope, key))

    def remember_key(self, user_id: UUID, scope: str, key: str, resource_id: UUID,
                     now: datetime) -> UUID:
        return self._staged.idempotency_keys.setdefault((user_id, scope, key), resource_id)

    def add_purchase_count(self, content_id: UUID, delta: int) -> None:
        item = self._content.tracked(content_id)
        if item is not None:
            item.purchase_count = max(item.purchase_count + delta, 0)

    def library_candidates(self, user_id: UUID) -> list[UUID]:
        granted = [g.content_id for g in self._staged.grants.values() if g.user_id == user_id]
        series = self._purchases.completed_series(user_id)
        bundled = [i.id for i in self._content._all().values() if i.series_id in series]
        return list(dict.fromkeys([*granted, *bundled]))

    def line(self, purchase_id: UUID) -> PurchaseLine | None:
        purchase = self._purchases.get(purchase_id)
        return self.describe([purchase])[0] if purchase is not None else None

    def line_and_buyer(self, purchase_id: UUID) -> tuple[PurchaseLine, User] | None:
        line = self.line(purchase_id)
        buyer = self._staged.users.get(line.purchase.customer_id) if line else None
        if line is None or buyer is None or buyer.deleted_at is not None:
            return None
        return line, buyer

    def describe(self, purchases: Sequence[Purchase]) -> Sequence[PurchaseLine]:
        items = self._content._all()
        all_series = {**self._staged.series, **self._series.seen}
        lines = []
        for p in purchases:
            named: ContentItem | ContentSeries | None = (
                items.get(p.content_id) if p.content_id else
                all_series.get(p.series_id) if p.series_id else None)
            title, slug = (named.title, named.slug.value) if named else ("(removed item)", "")
            lines.append(PurchaseLine(purchase=p, title=title, slug=slug,
                                      kind="content" if p.content_id else "series"
                                      if p.series_id else "credit_pack"))
        return lines
