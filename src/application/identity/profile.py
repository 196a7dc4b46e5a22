"""The signed-in user's own account: read, edit, delete."""

from __future__ import annotations

import attrs

from application.identity.safeguards import take_attempt
from application.identity.views import UserView
from application.messagebus import Query
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, Unauthenticated
from domain.identity.throttle import account_key
from domain.identity.user import User


def _own_account(actor: Principal, uow: UnitOfWork) -> User:
    user = uow.users.get(actor.require_user())
    if user is None:
        raise NotFound("No such user.", code="user.not_found")
    return user


@attrs.frozen
class GetMe(Query):
    actor: Principal


def get_me(cmd: GetMe, uow: UnitOfWork, services: Services) -> UserView:
    return UserView.of(_own_account(cmd.actor, uow))


@attrs.frozen
class UpdateProfile:
    actor: Principal
    full_name: str | None = None
    bio: str | None = None
    profile_image_url: str | None = None
    clear: frozenset[str] = frozenset()


def update_profile(cmd: UpdateProfile, uow: UnitOfWork, services: Services) -> UserView:
    user = _own_account(cmd.actor, uow)
    user.update_profile(
        services.clock.now(), full_name=cmd.full_name, bio=cmd.bio,
        profile_image_url=cmd.profile_image_url, clear=cmd.clear,
    )
    uow.commit()
    return UserView.of(user)


@attrs.frozen(repr=False)
class DeleteAccount:
    actor: Principal
    password: str


def delete_account(cmd: DeleteAccount, uow: UnitOfWork, services: Services) -> None:
    """Soft delete: the row stays for the audit trail, every read path stops seeing it."""
    user = _own_account(cmd.actor, uow)
    # Counted with failed logins, like a password change (a stolen session is no oracle).
    take_attempt(uow, services, [(account_key(user.email.value),
                                  services.config.account_throttle)],
                 code="auth.too_many_attempts", message="Too many failed attempts. Try later.")
    if not services.hasher.verify(user.password_hash, cmd.password):
        raise Unauthenticated("The password is incorrect.", code="auth.invalid_credentials")
    now = services.clock.now()
    uow.throttle.clear(account_key(user.email.value))
    user.soft_delete(now)
    uow.sessions.revoke_all_for_user(user.id, now)
    uow.commit()
