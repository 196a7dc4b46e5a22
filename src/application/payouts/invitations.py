"""Inviting media owners: an owner invites an address, its holder accepts by the
emailed link and sells on the platform from then on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from application.identity.safeguards import choose_password
from application.identity.views import UserView
from application.messagebus import Query
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, Forbidden, ValidationError
from domain.identity.permissions import Permission
from domain.identity.roles import Role
from domain.identity.user import User
from domain.payouts.invitations import InvalidInvitation, Invitation
from domain.values import Email


@attrs.frozen
class InvitationView:
    id: UUID
    email: str
    status: str  # pending, expired, accepted
    expires_at: datetime | None
    accepted_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, invitation: Invitation, now: datetime) -> InvitationView:
        if invitation.accepted:
            status = "accepted"
        elif invitation.expires_at is not None and invitation.expires_at <= now:
            status = "expired"
        else:
            status = "pending"
        return cls(invitation.id, invitation.email, status, invitation.expires_at,
                   invitation.accepted_at, invitation.created_at)


def _refuse_existing(uow: UnitOfWork, email: str) -> None:
    user = uow.users.get_by_email(email)
    if user is None or user.role is Role.CUSTOMER:
        return
    if user.role is Role.MEDIA_OWNER:
        raise Conflict("This address already belongs to a media owner.",
                       code="invitation.already_media_owner")
    raise Conflict("This address belongs to the platform's staff; change roles instead.",
                   code="invitation.staff_account", details={"role": user.role.value})


@attrs.frozen(repr=False)
class InviteMediaOwner:
    actor: Principal
    email: str

    def __repr__(self) -> str:
        return "InviteMediaOwner()"


def invite_media_owner(cmd: InviteMediaOwner, uow: UnitOfWork, services: Services
                       ) -> InvitationView:
    """Email an invitation; inviting an address again sends it a fresh link."""
    cmd.actor.require(Permission.MEDIA_OWNERS_INVITE)
    email = Email(cmd.email).value
    _refuse_existing(uow, email)
    now = services.clock.now()
    invitation = uow.invitations.open_for(email)
    if invitation is not None:
        invitation.resend(now)
    else:
        invitation = Invitation.create(id=services.ids.new_id(), email=email,
                                       invited_by=cmd.actor.user_id, now=now)
        try:
            uow.invitations.add(invitation)
        except Conflict:
            # A parallel invitation of the same address won: send theirs again.
            uow.rollback()
            invitation = uow.invitations.open_for(email)
            if invitation is None:
                raise
            invitation.resend(now)
    uow.commit()
    return InvitationView.of(invitation, now)


@attrs.frozen
class ListInvitations(Query):
    actor: Principal
    limit: int = 50
    offset: int = 0


def list_invitations(cmd: ListInvitations, uow: UnitOfWork, services: Services
                     ) -> Sequence[InvitationView]:
    cmd.actor.require(Permission.MEDIA_OWNERS_INVITE)
    now = services.clock.now()
    return [InvitationView.of(i, now)
            for i in uow.invitations.list(limit=cmd.limit, offset=cmd.offset)]


@attrs.frozen(repr=False)
class AcceptInvitation:
    token: str
    # Signed in: the account of the invited address becomes a media owner's. Not signed
    # in: a new account for the address, with this name and password.
    actor: Principal | None = None
    full_name: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return "AcceptInvitation()"


def accept_invitation(cmd: AcceptInvitation, uow: UnitOfWork, services: Services) -> UserView:
    if cmd.actor is not None:
        cmd.actor.require_session()
    token_hash = hash_token(cmd.token)
    invitation = uow.invitations.get_by_token(token_hash)
    now = services.clock.now()
    if invitation is None or invitation.accepted or invitation.expires_at is None \
            or invitation.expires_at <= now:
        raise InvalidInvitation("The invitation link is invalid or has expired.")
    existing = uow.users.get_by_email(invitation.email)
    newcomer = None
    if existing is not None:
        # The link proves the mailbox, not the account: the account's holder must be
        # signed in to turn it into a media owner's.
        if cmd.actor is None or cmd.actor.user_id != existing.id:
            raise Forbidden("Sign in as the invited address to accept this invitation.",
                            code="invitation.sign_in")
        _refuse_existing(uow, invitation.email)
    else:
        if not cmd.full_name or not cmd.password:
            raise ValidationError("A name and a password make the new account.",
                                  code="invitation.account_details", field="password")
        password = choose_password(services, cmd.password, email=invitation.email,
                                   full_name=cmd.full_name)
        uow.rollback()  # no transaction (nor SQLite's write lock) while hashing
        # The emailed link proves the address: verified from the start.
        newcomer = User.register(id=services.ids.new_id(), email=Email(invitation.email),
                                 password_hash=services.hasher.hash(password.value),
                                 full_name=cmd.full_name, role=Role.MEDIA_OWNER, now=now,
                                 verified=True)
    # Spent under a row lock: of parallel acceptances, one wins.
    invitation = uow.invitations.get_by_token(token_hash, lock=True)
    if invitation is None:
        raise InvalidInvitation("The invitation link is invalid or has expired.")
    if newcomer is not None:
        user = newcomer
        uow.users.add(user)  # user.email_taken if the address got an account meanwhile
    else:
        locked = uow.users.get(existing.id, lock=True) if existing else None
        if locked is None:
            raise InvalidInvitation("The invitation link is invalid or has expired.")
        user = locked
        user.change_role(Role.MEDIA_OWNER, now)
    invitation.accept(token_hash, user.id, now)
    uow.commit()
    return UserView.of(user)
