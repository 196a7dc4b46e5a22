"""Applying payment gateway events: the one path from "the gateway says" to our state.

Used for Stripe webhooks and for the sandbox's inline events alike. Every event is
recorded by id in the same transaction as its effects, so a redelivery changes
nothing; the purchase row is locked while it changes; transitions are monotonic,
so reordered events cannot move a purchase backwards.
"""

from __future__ import annotations

import logging
from datetime import datetime

import attrs

from application.credits.ledger import grant_pack_credits, withdraw_pack_credits
from application.offerings.booking import apply_booking_payment
from application.offerings.installments import apply_installment_payment
from application.payouts.accounts import apply_account_event
from application.payouts.ledger import record_refund, record_sale
from application.payouts.terms import seller_of
from application.ports.payments import PaymentEvent
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.commerce.purchase import Purchase
from domain.commerce.revenue import RevenueSplit
from domain.payouts.earnings import ItemRef, SourceType

SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
REFUNDED = "charge.refunded"
ACCOUNT_UPDATED = "account.updated"

log = logging.getLogger("patronage.payments")


@attrs.frozen
class HandlePaymentEvent:
    event: PaymentEvent


def _purchase_for(uow: UnitOfWork, event: PaymentEvent, named: Purchase | None
                  ) -> Purchase | None:
    """The purchase the event is about. Our own payments name theirs (``named``, read
    locked when the event was recorded), whether or not the intent id is stored on it yet
    (the webhook, or the sandbox's inline event, can come before we store it)."""
    if named is not None and (event.intent_id is None
                              or named.payment_intent_id in (None, event.intent_id)):
        if event.intent_id and named.payment_intent_id is None:
            named.attach_payment(event.intent_id, event.created)
        return named
    purchase = uow.purchases.get_by_intent(event.intent_id, lock=True) \
        if event.intent_id else None
    if purchase is None and named is not None and event.intent_id:
        named.attach_payment(event.intent_id, event.created)  # paid twice: refused
    return purchase


_COUNTED = {SUCCEEDED: "succeeded", FAILED: "failed", REFUNDED: "refunded"}
_ABOUT_PURCHASES = (SUCCEEDED, FAILED, REFUNDED)


@attrs.frozen
class Applied:
    outcome: str
    # The purchase the event was about, as the commit left it (None for a duplicate or
    # for anything else's payment).
    purchase: Purchase | None = None


def handle_payment_event(cmd: HandlePaymentEvent, uow: UnitOfWork, services: Services) -> str:
    """Returns what happened: applied, duplicate, mismatch or ignored."""
    return apply_payment_event(cmd, uow, services).outcome


def apply_payment_event(cmd: HandlePaymentEvent, uow: UnitOfWork, services: Services
                        ) -> Applied:
    """`handle_payment_event`, with the purchase it left: a caller that started the
    payment reads its outcome without reading the purchase again."""
    applied = _handle(cmd, uow, services)
    if applied.outcome == "applied" and cmd.event.type in _COUNTED:
        services.metrics.payment(_COUNTED[cmd.event.type])
    return applied


def _handle(cmd: HandlePaymentEvent, uow: UnitOfWork, services: Services) -> Applied:
    event = cmd.event
    now = services.clock.now()
    if event.type in (SUCCEEDED, FAILED) and event.purchase_id is None:
        # Perhaps not a payment of ours (every one we start names its purchase, booking
        # or installment): a subscription's invoice, one taken in the dashboard. One
        # statement of its own records it unless something of ours carries the
        # payment, instead of a transaction with three locked reads that find nothing.
        with services.uow_factory(read_only=True) as alone:
            seen = alone.ledger.record_unless_held(event.id, services.payments.name,
                                                   event.type, event.intent_id, now)
            alone.commit()
        if seen != "held":
            return Applied("duplicate" if seen == "duplicate" else "ignored")
    named: Purchase | None = None
    if event.purchase_id is not None and event.type in _ABOUT_PURCHASES:
        # The event recorded and the purchase it names locked, in one statement.
        first, named = uow.purchases.record_event_and_lock(
            event.purchase_id, event_id=event.id, provider=services.payments.name,
            event_type=event.type, now=now)
    else:
        first = uow.ledger.record_event(event.id, services.payments.name, event.type, now)
    if not first:
        uow.rollback()
        return Applied("duplicate")
    if event.type == ACCOUNT_UPDATED:
        outcome = apply_account_event(uow, services, event)
        uow.commit()
        return Applied(outcome)
    purchase = _purchase_for(uow, event, named) if event.type in _ABOUT_PURCHASES else None
    outcome = "ignored"
    if purchase is None and event.type == REFUNDED:
        # A booking's payment refunded (by us, or by hand at the provider): the earnings
        # ledger learns of it either way; the refund id keeps it to once.
        recorded = [record_refund(uow, services, event.intent_id, refund, now)
                    for refund in event.refunds]
        uow.commit()
        return Applied("applied" if any(recorded) else "ignored")
    if purchase is None and event.type in (SUCCEEDED, FAILED):
        # Not a purchase: perhaps a booking's payment.
        # (A refund it owes is an outbox message of this same commit.)
        outcome = apply_installment_payment(uow, services, event) \
            or apply_booking_payment(uow, services, event)
        uow.commit()
        return Applied(outcome)
    if purchase is not None and event.type == SUCCEEDED and event.amount != purchase.amount:
        # Paid, but not what we asked for (a tampered client confirmation, a changed
        # intent): it completes nothing, and the owner must look at it.
        log.error("payment %s for purchase %s paid %s, expected %s: not completed; "
                  "review it and refund", event.intent_id, purchase.id,
                  event.amount or "no amount", purchase.amount)
        outcome = "mismatch"
    elif purchase is not None and event.type == SUCCEEDED:
        # A series bundle needs no grants: the entitlement engine reads the
        # completed purchase itself, so items added later are covered too.
        if purchase.complete(now):
            if purchase.content_id is not None:
                uow.grants.give(grant_id=services.ids.new_id(),
                                user_id=purchase.customer_id,
                                content_id=purchase.content_id, access_type="purchased",
                                expires_at=None, now=now)
                uow.ledger.add_purchase_count(purchase.content_id, +1)
            elif purchase.pack is not None:
                pack = uow.credit_packs.get(purchase.pack.pack_id)
                grant_pack_credits(uow, services, purchase,
                                   pack.name if pack else "credits")
            _record_sale(uow, services, purchase, now)
        outcome = "applied"
    elif purchase is not None and event.type == FAILED:
        purchase.fail(now)
        outcome = "applied"
    elif purchase is not None and event.type == REFUNDED:
        for refund in event.refunds:
            uow.ledger.record_refund(refund.id, purchase.id, refund.amount.amount,
                                     refund.amount.currency, now)
            record_refund(uow, services, purchase.payment_intent_id, refund, now)
        # Partial refunds keep access (and a pack's credits); once the refunds add up to
        # the price, access goes, and so do the pack's unspent credits.
        refunded = max(uow.ledger.refunded_total(purchase.id),
                       event.amount_refunded.amount if event.amount_refunded else 0)
        if refunded >= purchase.amount.amount and purchase.refund(now, purchase.refund_reason):
            if purchase.content_id is not None:
                uow.grants.revoke(user_id=purchase.customer_id,
                                  content_id=purchase.content_id, access_type="purchased")
                uow.ledger.add_purchase_count(purchase.content_id, -1)
            elif purchase.pack is not None:
                withdraw_pack_credits(uow, services, purchase)
        outcome = "applied"
    uow.commit()
    return Applied(outcome, purchase)


def _record_sale(uow: UnitOfWork, services: Services, purchase: Purchase, now: datetime
                 ) -> None:
    """A creator's item sold: into the earnings ledger, as the purchase split it and as
    the charge was made (to the account kept on the purchase), never as things are now."""
    seller = purchase.seller_id or seller_of(uow, content_id=purchase.content_id,
                                             series_id=purchase.series_id)
    if seller is None or purchase.payment_intent_id is None:
        return
    record_sale(uow, services, seller_id=seller, source=SourceType.PURCHASE,
                source_id=purchase.id,
                item=ItemRef(content_id=purchase.content_id, series_id=purchase.series_id),
                payment_ref=purchase.payment_intent_id,
                split=RevenueSplit(purchase.amount, purchase.platform_fee,
                                   purchase.creator_payout),
                destination=purchase.payout_account, at=now)
