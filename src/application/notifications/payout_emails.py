"""Event handlers that email (future) media owners: their invitation, and the news that
they can be paid."""

from __future__ import annotations

from urllib.parse import quote

from application.notifications.branding import site_url
from application.notifications.delivery import deliver
from application.notifications.in_app import wants_email
from application.security import hash_token, new_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.notifications.kinds import Kind
from domain.payouts.accounts import PayoutsEnabled
from domain.payouts.invitations import INVITATION_TTL, MediaOwnerInvited


def send_invitation(event: MediaOwnerInvited, uow: UnitOfWork, services: Services) -> None:
    """Issues the token here, at send time: only its hash is ever stored, and a new
    email's link replaces the previous one."""
    invitation = uow.invitations.get(event.invitation_id, lock=True)
    if invitation is None or invitation.accepted:
        return
    token = new_token()
    invitation.issue_token(hash_token(token), services.clock.now())
    name = uow.settings.get().platform_name
    link = f"{site_url(uow, services)}/media-owners/accept?token={quote(token)}"
    deliver(
        uow, services, to=invitation.email, user_id=None, email_type="media_owner_invitation",
        subject=f"You are invited to sell on {name}",
        text=(
            f"Hello,\n\n{name} invites you to publish and sell your own content, programs "
            f"and sessions on the platform, and to be paid for them.\n\n"
            f"Accept the invitation here:\n\n{link}\n\n"
            f"The link works once and expires in {INVITATION_TTL.days} days. If you do not "
            f"want to sell on {name}, ignore this email.\n"
        ),
    )


def send_payouts_enabled(event: PayoutsEnabled, uow: UnitOfWork, services: Services) -> None:
    user = uow.users.get(event.user_id)
    if user is None or not user.is_active or not wants_email(uow, user.id,
                                                              Kind.PAYOUTS_ENABLED):
        return
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="payouts_enabled",
        subject="You can now be paid",
        text=(
            f"Hello {user.full_name},\n\n"
            "Your payout account is set up: your published items are for sale, and your "
            "share of each sale is paid out to your account.\n"
        ),
    )
