"""Password reset by email, and password change by a logged-in user."""

from __future__ import annotations

import attrs

from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, Unauthenticated, ValidationError
from domain.identity.passwords import NewPassword
from domain.identity.user import InvalidToken
from domain.values import Email


@attrs.frozen(repr=False)
class RequestPasswordReset:
    email: str


def request_password_reset(
    cmd: RequestPasswordReset, uow: UnitOfWork, services: Services
) -> None:
    """Same answer for known and unknown addresses; only a known one gets mail."""
    try:
        email = Email(cmd.email).value
    except ValidationError:
        return
    user = uow.users.get_by_email(email)
    if user is not None:
        user.request_password_reset()
        uow.commit()


@attrs.frozen(repr=False)
class ResetPassword:
    token: str
    new_password: str


def reset_password(cmd: ResetPassword, uow: UnitOfWork, services: Services) -> None:
    password = NewPassword(cmd.new_password)
    token_hash = hash_token(cmd.token)
    user = uow.users.get_by_reset_token(token_hash)
    if user is None:
        raise InvalidToken("The reset link is invalid or has expired.")
    now = services.clock.now()
    user.reset_password(token_hash, services.hasher.hash(password.value), now)
    # Whoever knew the old password must not stay logged in.
    uow.sessions.revoke_all_for_user(user.id, now)
    uow.commit()


@attrs.frozen(repr=False)
class ChangePassword:
    actor: Principal
    current_password: str
    new_password: str


def change_password(cmd: ChangePassword, uow: UnitOfWork, services: Services) -> None:
    user = uow.users.get(cmd.actor.require_user())
    if user is None:
        raise NotFound("No such user.", code="user.not_found")
    if not services.hasher.verify(user.password_hash, cmd.current_password):
        raise Unauthenticated("The current password is incorrect.",
                              code="auth.invalid_credentials")
    password = NewPassword(cmd.new_password)
    now = services.clock.now()
    user.change_password(services.hasher.hash(password.value), now)
    uow.sessions.revoke_all_for_user(user.id, now, keep=cmd.actor.session_id)
    uow.commit()
