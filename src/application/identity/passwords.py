"""Password reset by email, and password change by a logged-in user."""

from __future__ import annotations

import attrs

from application.identity.safeguards import choose_password, limit_mail, take_attempt
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, NotFound, Unauthenticated, ValidationError
from domain.identity.throttle import account_key
from domain.identity.user import InvalidToken
from domain.values import Email


@attrs.frozen(repr=False)
class RequestPasswordReset:
    email: str
    client_address: str | None = None


def request_password_reset(
    cmd: RequestPasswordReset, uow: UnitOfWork, services: Services
) -> None:
    """Same answer for known and unknown addresses; only a known one gets mail."""
    try:
        email = Email(cmd.email).value
    except ValidationError:
        return
    limit_mail(uow, services, email, cmd.client_address)
    user = uow.users.get_by_email(email)
    if user is not None:
        user.request_password_reset()
        uow.commit()


@attrs.frozen(repr=False)
class ResetPassword:
    token: str
    new_password: str


def reset_password(cmd: ResetPassword, uow: UnitOfWork, services: Services) -> None:
    token_hash = hash_token(cmd.token)
    holder = uow.users.get_by_reset_token(token_hash)
    if holder is None:
        raise InvalidToken("The reset link is invalid or has expired.")
    uow.rollback()  # no transaction (nor SQLite's write lock) while hashing
    password = choose_password(services, cmd.new_password, email=holder.email.value,
                               full_name=holder.full_name, field="new_password")
    new_hash = services.hasher.hash(password.value)
    # Now spend the token under a row lock: of several parallel confirmations, the first
    # to lock the row wins and the others find the token gone when they get the row.
    user = uow.users.get_by_reset_token(token_hash, lock=True)
    if user is None:
        raise InvalidToken("The reset link is invalid or has expired.")
    now = services.clock.now()
    user.reset_password(token_hash, new_hash, now)
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
    password = choose_password(services, cmd.new_password, email=user.email.value,
                               full_name=user.full_name, field="new_password")
    # A stolen session must not become a password oracle: these checks count against
    # the same budget as failed logins.
    take_attempt(uow, services, [(account_key(user.email.value),
                                  services.config.account_throttle)],
                 code="auth.too_many_attempts", message="Too many failed attempts. Try later.")
    if not services.hasher.verify(user.password_hash, cmd.current_password):
        raise Unauthenticated("The current password is incorrect.",
                              code="auth.invalid_credentials")
    new_hash = services.hasher.hash(password.value)  # before the next transaction opens
    now = services.clock.now()
    current = uow.users.get(user.id, lock=True)
    if current is None or current.password_hash != user.password_hash:
        raise Conflict("The password changed while this request was checked; try again.",
                       code="user.password_changed")
    uow.throttle.clear(account_key(user.email.value))
    current.change_password(new_hash, now)
    uow.sessions.revoke_all_for_user(user.id, now, keep=cmd.actor.session_id)
    uow.commit()
