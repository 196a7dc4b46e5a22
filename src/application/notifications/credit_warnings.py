"""Telling holders of credits that expire within a week, once per grant."""

from __future__ import annotations

import logging
from datetime import timedelta

import attrs

from application.notifications.branding import site_url
from application.notifications.delivery import deliver
from application.notifications.in_app import notify, wants_email
from application.ports.credits import ExpiringGrant
from application.ports.mail import MailDeliveryError
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import DomainError
from domain.identity.permissions import Permission
from domain.notifications.kinds import Kind

BATCH = 200
WARN_BEFORE = timedelta(days=7)
log = logging.getLogger("patronage.credits")


def warn_expiring(services: Services) -> int:
    """Tell holders of credits that expire within a week, once per grant: the warning is
    noted with the notification and the email in one transaction, so a failed email is
    tried again on the next run and a sent one is never sent twice by another."""
    now = services.clock.now()
    warned = 0
    with services.uow_factory(read_only=True) as uow:
        due = list(uow.credits.expiring_unwarned(now, now + WARN_BEFORE, BATCH))
    for grant in due:
        try:
            with services.uow_factory() as uow:
                if uow.credits.mark_warned(grant.grant_id, grant.customer_id, now):
                    _warn(uow, services, grant)
                    uow.commit()
                    warned += 1
        except (DomainError, MailDeliveryError) as error:
            # This grant waits for the next run; the others are told now.
            log.warning("credits expiring for %s not told yet (%s); the next run tries again",
                        grant.customer_id, getattr(error, "code", type(error).__name__))
    return warned


def _warn(uow: UnitOfWork, services: Services, grant: ExpiringGrant) -> None:
    day = grant.expires_at.strftime("%d %B %Y")
    what = f"{grant.remaining} credit{'s' if grant.remaining != 1 else ''}"
    notify(uow, services, user_id=grant.customer_id, kind=Kind.CREDITS_EXPIRING,
           key=str(grant.grant_id), title=f"{what} expire on {day}",
           message="Book a class or session before then to use them.",
           action_url="/account/credits", action_label="Use them")
    user = uow.users.get(grant.customer_id)
    if user is None or not user.is_active or not wants_email(uow, user.id,
                                                              Kind.CREDITS_EXPIRING):
        return
    site = site_url(uow, services)
    deliver(uow, services, to=user.email.value, user_id=user.id, email_type="credits_expiring",
            subject=f"Your {what} expire on {day}",
            text=(f"Hello {user.full_name},\n\n{what} in your account expire on {day} "
                  f"(UTC). Book before then to use them: {site}/offerings\n\n"
                  f"Your credits: {site}/account/credits\n"))



@attrs.frozen
class WarnExpiringCredits:
    actor: Principal


def warn_expiring_credits(cmd: WarnExpiringCredits, uow: UnitOfWork, services: Services
                          ) -> int:
    """The worker runs this with the credit schedule; returns how many were told."""
    cmd.actor.require(Permission.CREDITS_ADJUST)
    uow.rollback()
    return warn_expiring(services)
