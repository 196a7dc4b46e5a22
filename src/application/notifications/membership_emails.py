"""Event handlers that email members about their membership."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.credits.views import summary
from application.notifications.branding import site_url
from application.notifications.delivery import deliver
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.identity.user import User
from domain.memberships.events import (
    MembershipCancellationScheduled,
    MembershipEnded,
    MembershipPaymentFailed,
    MembershipRenewed,
    MembershipStarted,
)
from domain.memberships.subscription import Subscription
from domain.memberships.tier import SubscriptionTier


def _facts(uow: UnitOfWork, subscription_id: UUID, customer_id: UUID
           ) -> tuple[Subscription, SubscriptionTier, User] | None:
    subscription = uow.subscriptions.get(subscription_id)
    user = uow.users.get(customer_id)
    tier = uow.tiers.get(subscription.tier_id) if subscription else None
    if subscription is None or user is None or tier is None:
        return None
    return subscription, tier, user


def _day(moment: datetime | None) -> str:
    return moment.strftime("%d %B %Y") if moment else "soon"


def _send(uow: UnitOfWork, services: Services, user: User, kind: str, subject: str,
          body: str) -> None:
    link = f"{site_url(uow, services)}/account/membership"
    deliver(uow, services, to=user.email.value, user_id=user.id, email_type=kind,
            subject=subject,
            text=f"Hello {user.full_name},\n\n{body}\n\nYour membership: {link}\n")


def send_welcome(event: MembershipStarted, uow: UnitOfWork, services: Services) -> None:
    found = _facts(uow, event.subscription_id, event.customer_id)
    if found is None:
        return
    subscription, tier, user = found
    trial = (f"Your trial runs until {_day(subscription.trial_end)}; the first charge is then."
             if subscription.trial_end and subscription.trial_end > services.clock.now()
             else f"It renews on {_day(subscription.current_period_end)}.")
    credits = (f" Each month brings {tier.monthly_credits} credits."
               if tier.monthly_credits else "")
    _send(uow, services, user, "membership_welcome", f"Welcome to {tier.name}",
          f"You are now a member of {tier.name} ({subscription.billing_period.value}). "
          f"{trial}{credits}")


def send_renewal_receipt(event: MembershipRenewed, uow: UnitOfWork, services: Services
                         ) -> None:
    found = _facts(uow, event.subscription_id, event.customer_id)
    if found is None:
        return
    subscription, tier, user = found
    price = tier.price_for(subscription.billing_period)
    credits = summary(uow, services, user.id)
    _send(uow, services, user, "membership_renewal", f"Receipt: {tier.name}",
          f"Your {tier.name} membership renewed: {price} ({subscription.billing_period.value})"
          f", invoice {event.invoice_id}. It runs until "
          f"{_day(subscription.current_period_end)}. Credits: {credits.available}.")


def send_payment_failed(event: MembershipPaymentFailed, uow: UnitOfWork, services: Services
                        ) -> None:
    found = _facts(uow, event.subscription_id, event.customer_id)
    if found is None:
        return
    _, tier, user = found
    _send(uow, services, user, "membership_payment_failed",
          f"Payment failed: {tier.name}",
          f"We could not charge your card for {tier.name}. You keep access until "
          f"{_day(event.grace_until)} while the payment is retried; update your card "
          "before then to keep your membership. After that, access pauses until a "
          "payment succeeds.")


def send_cancellation(event: MembershipCancellationScheduled, uow: UnitOfWork,
                      services: Services) -> None:
    found = _facts(uow, event.subscription_id, event.customer_id)
    if found is None:
        return
    _, tier, user = found
    _send(uow, services, user, "membership_canceled", f"Cancelled: {tier.name}",
          f"Your {tier.name} membership is cancelled and will not renew. You keep access "
          f"until {_day(event.ends_at)}; you can resume it before then.")


def send_ended(event: MembershipEnded, uow: UnitOfWork, services: Services) -> None:
    found = _facts(uow, event.subscription_id, event.customer_id)
    if found is None:
        return
    _, tier, user = found
    _send(uow, services, user, "membership_ended", f"Your {tier.name} membership ended",
          f"Your {tier.name} membership has ended and its members-only content is closed "
          "to you. Credits you hold stay until they expire. You are welcome back any time.")
