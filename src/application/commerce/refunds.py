"""Refunds, asked for by the platform's owners; the gateway's event makes them real."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from uuid import UUID

import attrs

from application.commerce.payment_events import HandlePaymentEvent, handle_payment_event
from application.payouts.ledger import takes_back_transfer
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.commerce.purchase import PurchaseStatus
from domain.errors import Conflict, NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.values import Money

REASON_MAX = 1000


@attrs.frozen
class RefundRequested:
    purchase_id: UUID
    refund_id: str
    amount: Money
    status: str


@attrs.frozen
class RefundPurchase:
    actor: Principal
    purchase_id: UUID
    reason: str
    amount: Decimal | None = None
    idempotency_key: str | None = None


def refund_purchase(cmd: RefundPurchase, uow: UnitOfWork, services: Services) -> RefundRequested:
    """Ask the gateway for a refund (full, or part of the amount).

    The purchase changes when the gateway's refund event arrives (at once for the
    sandbox): then access is withdrawn once, whatever the number of deliveries.
    """
    cmd.actor.require(Permission.REFUNDS_ISSUE)
    if cmd.idempotency_key is not None and not 0 < len(cmd.idempotency_key) <= 200:
        raise ValidationError("Idempotency-Key must be 1 to 200 characters.",
                              code="request.idempotency_key")
    if not cmd.reason.strip() or len(cmd.reason) > REASON_MAX:
        raise ValidationError("Give a reason (at most 1000 characters).",
                              code="refund.reason", field="reason")
    purchase = uow.purchases.get(cmd.purchase_id, lock=True)
    if purchase is None:
        raise NotFound("No such purchase.", code="purchase.not_found")
    # The same request repeated (a retry, a double click) is the same refund: the key
    # depends on what was asked, never on what has been refunded since. Two deliberate,
    # identical partial refunds need an Idempotency-Key each.
    asked = cmd.idempotency_key or hashlib.sha256(
        f"{cmd.amount if cmd.amount is not None else 'rest'}|{cmd.reason.strip()}".encode()
    ).hexdigest()[:32]
    request_key = hashlib.sha256(asked.encode()).hexdigest()[:32]
    earlier = uow.ledger.refund_for_request(purchase.id, request_key)
    if earlier is not None:
        uow.rollback()
        return RefundRequested(purchase_id=purchase.id, refund_id=earlier.id,
                               amount=earlier.amount, status=earlier.status)
    if purchase.status is not PurchaseStatus.COMPLETED or not purchase.payment_intent_id:
        raise Conflict("Only completed purchases can be refunded.",
                       code="refund.not_refundable",
                       details={"purchase_status": purchase.status.value})
    remaining = purchase.amount.amount - uow.ledger.refunded_total(purchase.id)
    if remaining <= 0:
        raise Conflict("This purchase is already refunded in full.", code="refund.nothing_left")
    amount = Money(cmd.amount if cmd.amount is not None else remaining, purchase.amount.currency)
    if not 0 < amount.amount <= remaining:
        raise ValidationError(f"The amount must be positive and at most {remaining}.",
                              code="refund.amount", field="amount")
    purchase.refund_reason = cmd.reason.strip()
    intent_id = purchase.payment_intent_id
    # A media owner's sale: their share of the refund comes back from their account.
    reverse = takes_back_transfer(uow, intent_id)
    uow.commit()
    refund = services.payments.refund(
        intent_id=intent_id, amount=amount,
        idempotency_key=f"refund-{purchase.id}-{asked}", reverse_transfer=reverse,
    )
    uow.ledger.remember_refund_request(purchase.id, request_key, refund, services.clock.now())
    uow.commit()
    event = services.payments.inline_refund_event(intent_id, purchase.amount, refund)
    if event is not None:
        with services.uow_factory() as events_uow:
            handle_payment_event(HandlePaymentEvent(event), events_uow, services)
        services.dispatch(events_uow.committed_outbox_ids)
    return RefundRequested(purchase_id=purchase.id, refund_id=refund.id, amount=refund.amount,
                           status=refund.status)
