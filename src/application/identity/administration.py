"""Operator use cases on accounts: list, change role, disable, enable."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from application.identity.views import UserView
from application.messagebus import Query
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, Forbidden, NotFound
from domain.identity.permissions import Permission
from domain.identity.roles import Role
from domain.identity.user import User
from domain.values import Email


def _by_email(uow: UnitOfWork, email: str) -> User:
    user = uow.users.get_by_email(Email(email).value)
    if user is None:
        raise NotFound(f"No account with email {email}.", code="user.not_found")
    return user


@attrs.frozen
class ListUsers(Query):
    actor: Principal
    role: Role | None = None
    limit: int = 100
    offset: int = 0


def list_users(cmd: ListUsers, uow: UnitOfWork, services: Services) -> Sequence[UserView]:
    cmd.actor.require(Permission.USERS_MANAGE)
    limit = max(1, min(cmd.limit, 1000))
    return [UserView.of(u) for u in uow.users.list(role=cmd.role, limit=limit,
                                                   offset=max(0, cmd.offset))]


def _not_yourself(actor: Principal, user: User, what: str) -> None:
    # Changing your own role or switching yourself off is how a stolen session or a
    # careless click escalates or locks everyone out; another owner must do it.
    if actor.user_id is not None and actor.user_id == user.id:
        raise Forbidden(f"Nobody may {what} their own account; ask another platform owner.",
                        code="user.own_account")


def _keep_an_owner(uow: UnitOfWork, user: User) -> None:
    if (
        user.role is Role.PLATFORM_OWNER
        and user.is_active
        and uow.users.count_by_role(Role.PLATFORM_OWNER) <= 1
    ):
        raise Conflict("The platform must keep at least one active platform owner.",
                       code="user.last_owner")


@attrs.frozen
class SetRole:
    actor: Principal
    email: str
    role: Role


def set_role(cmd: SetRole, uow: UnitOfWork, services: Services) -> UserView:
    cmd.actor.require(Permission.USERS_MANAGE)
    user = _by_email(uow, cmd.email)
    cmd.actor.require_session_for_owners(user.role, cmd.role)
    _not_yourself(cmd.actor, user, "change the role of")
    if cmd.role is not user.role:
        _keep_an_owner(uow, user)
    user.change_role(cmd.role, services.clock.now())
    uow.commit()
    return UserView.of(user)


@attrs.frozen
class DisableUser:
    actor: Principal
    email: str


def disable_user(cmd: DisableUser, uow: UnitOfWork, services: Services) -> UserView:
    cmd.actor.require(Permission.USERS_MANAGE)
    user = _by_email(uow, cmd.email)
    cmd.actor.require_session_for_owners(user.role)
    _not_yourself(cmd.actor, user, "disable")
    if user.disabled_at is None:
        _keep_an_owner(uow, user)
    now = services.clock.now()
    user.disable(now)
    uow.sessions.revoke_all_for_user(user.id, now)
    uow.commit()
    return UserView.of(user)


@attrs.frozen
class EnableUser:
    actor: Principal
    email: str


def enable_user(cmd: EnableUser, uow: UnitOfWork, services: Services) -> UserView:
    cmd.actor.require(Permission.USERS_MANAGE)
    user = _by_email(uow, cmd.email)
    user.enable(services.clock.now())
    uow.commit()
    return UserView.of(user)


@attrs.frozen
class ActAs(Query):
    """The operator at the CLI acting on behalf of an account (imports, support)."""

    actor: Principal
    email: str


def act_as(cmd: ActAs, uow: UnitOfWork, services: Services) -> Principal:
    if not cmd.actor.is_system:
        raise Forbidden("Only the operator may act on behalf of another account.",
                        code="auth.system_only")
    user = _by_email(uow, cmd.email)
    user.ensure_active()
    return Principal(user_id=user.id, role=user.role, email_verified=user.is_verified)
