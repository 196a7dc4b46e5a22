"""Applying the payment provider's subscription and invoice events.

An event is a trigger, never the truth: for Stripe the subscription is read again
from the API, so ``updated`` before ``created`` or a stale ``updated`` after
``deleted`` cannot leave a wrong state; the sandbox's events carry the state they
left. Either way the state is applied only if it is newer than the one we hold
(``Subscription.apply``), under a row lock, in the transaction that records the
event id, so a redelivery changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

import attrs

from application.analytics.journal import membership_paid
from application.credits.ledger import grant_due_months
from application.ports.billing import InvoiceFacts
from application.ports.payments import BillingChange, PaymentEvent
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound
from domain.memberships.subscription import BillingState, Subscription

log = logging.getLogger("patronage.memberships")

INVOICE_PAID = "invoice.paid"
INVOICE_FAILED = "invoice.payment_failed"


@attrs.frozen
class HandleBillingEvent:
    event: PaymentEvent


def grace_period(uow: UnitOfWork) -> timedelta:
    return timedelta(days=uow.settings.get().membership_grace_days)


def apply_state(uow: UnitOfWork, services: Services, subscription: Subscription,
                state: BillingState, invoice: InvoiceFacts | None = None) -> bool:
    """Bring our copy up to the provider's state and, for a paid invoice that opens a
    period, note it and grant that period's credits. Returns whether anything changed."""
    now = services.clock.now()
    changed = subscription.apply(state, grace=grace_period(uow), now=now)
    if invoice is not None and invoice.grants_credits and subscription.is_live:
        if subscription.invoice_paid(invoice.id, renewal=invoice.renewal, now=now):
            changed = True
        tier = uow.tiers.get(subscription.tier_id)
        if tier is not None:
            grant_due_months(uow, services, subscription, tier)
    return changed


def _find(uow: UnitOfWork, services: Services, provider_id: str, state: BillingState
          ) -> Subscription | None:
    found = uow.subscriptions.get_by_provider(provider_id, lock=True)
    if found is not None:
        return found
    # The webhook beat our own request to storing the provider's id: the provider
    # knows our id from the metadata we sent.
    if state.subscription_id is not None:
        ours = uow.subscriptions.get(state.subscription_id, lock=True)
        if ours is not None:
            ours.attach(provider_id, services.clock.now())
            return ours
    return None


def handle_billing_event(cmd: HandleBillingEvent, uow: UnitOfWork, services: Services) -> str:
    """Returns what happened: applied, unchanged, duplicate or ignored."""
    event = cmd.event
    provider_id = event.subscription_ref
    # Ask the provider first, before any transaction: its answer may take a while, and
    # asking again for a redelivered event costs only the call.
    state = (event.billing or services.payments.fetch_subscription(provider_id)
             if provider_id is not None else None)
    if not uow.ledger.record_event(event.id, services.payments.name, event.type,
                                   services.clock.now()):
        uow.rollback()
        return "duplicate"
    if provider_id is None or state is None:
        uow.commit()
        return "ignored"
    subscription = _find(uow, services, provider_id, state)
    if subscription is None:
        log.warning("%s for unknown subscription %s: not ours, ignored", event.type,
                    provider_id)
        uow.commit()
        return "ignored"
    invoice = event.invoice if event.type == INVOICE_PAID else None
    changed = apply_state(uow, services, subscription, state, invoice)
    if invoice is not None and invoice.amount_paid is not None \
            and not invoice.amount_paid.is_zero:
        # The membership's revenue: kept once per invoice, whichever event brought it.
        uow.journal.record([membership_paid(
            invoice_id=invoice.id, subscription_id=subscription.id,
            customer_id=subscription.customer_id, tier_id=subscription.tier_id,
            amount=str(invoice.amount_paid.amount), currency=invoice.amount_paid.currency,
            now=services.clock.now(), new_id=services.ids.new_id)], services.clock.now())
    uow.commit()
    return "applied" if changed else "unchanged"


def apply_change(services: Services, subscription_id: UUID, change: BillingChange) -> None:
    """Record what a provider call returned; an inline gateway's events go through the
    webhook handler (they also carry the state)."""
    if change.events:
        for event in change.events:
            with services.uow_factory() as uow:
                handle_billing_event(HandleBillingEvent(event), uow, services)
            services.dispatch(uow.committed_outbox_ids)
        return
    with services.uow_factory() as uow:
        subscription = uow.subscriptions.get(subscription_id, lock=True)
        if subscription is None:
            raise NotFound("No such subscription.", code="subscription.not_found")
        apply_state(uow, services, subscription, change.state)
        uow.commit()
    services.dispatch(uow.committed_outbox_ids)
