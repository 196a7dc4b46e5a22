"""Registering accounts: self-service customers, and users created by an operator."""

from __future__ import annotations

import attrs

from application.identity.safeguards import choose_password, limit_mail
from application.identity.views import UserView
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict
from domain.identity.events import RegistrationAttemptedForExistingEmail
from domain.identity.permissions import Permission
from domain.identity.roles import Role
from domain.identity.user import User
from domain.values import Email


@attrs.frozen(repr=False)
class RegisterCustomer:
    email: str
    password: str
    full_name: str
    client_address: str | None = None


def register_customer(cmd: RegisterCustomer, uow: UnitOfWork, services: Services) -> None:
    """Answers the same whether or not the address already has an account.

    A new address gets an account and a verification email; a known one gets an
    email telling its owner someone tried to register. The password is hashed in
    both cases so the response time does not tell them apart either.
    """
    email = Email(cmd.email)
    password = choose_password(services, cmd.password, email=email.value,
                               full_name=cmd.full_name)
    limit_mail(uow, services, email.value, cmd.client_address)
    password_hash = services.hasher.hash(password.value)
    existing = uow.users.get_by_email(email.value)
    if existing is not None:
        existing.record(RegistrationAttemptedForExistingEmail(user_id=existing.id))
        uow.commit()
        return
    user = User.register(
        id=services.ids.new_id(), email=email, password_hash=password_hash,
        full_name=cmd.full_name, role=Role.CUSTOMER, now=services.clock.now(),
    )
    try:
        uow.users.add(user)
        uow.commit()
    except Conflict:
        # A concurrent registration of the same address won the race; answer alike.
        uow.rollback()


@attrs.frozen(repr=False)
class CreateUser:
    actor: Principal
    email: str
    password: str
    full_name: str
    role: Role
    verified: bool = True


def create_user(cmd: CreateUser, uow: UnitOfWork, services: Services) -> UserView:
    """An operator creates an account of any role; a taken address is a 409 here."""
    cmd.actor.require(Permission.USERS_MANAGE)
    cmd.actor.require_session_for_owners(cmd.role)
    email = Email(cmd.email)
    password = choose_password(services, cmd.password, email=email.value,
                               full_name=cmd.full_name)
    if uow.users.get_by_email(email.value) is not None:
        raise Conflict("An account with this email already exists.", code="user.email_taken",
                       field="email")
    uow.rollback()  # no transaction (nor SQLite's write lock) while hashing
    password_hash = services.hasher.hash(password.value)
    # A parallel creation of the same address meets the unique index: user.email_taken.
    user = User.register(
        id=services.ids.new_id(), email=email, password_hash=password_hash,
        full_name=cmd.full_name, role=cmd.role, now=services.clock.now(), verified=cmd.verified,
    )
    uow.users.add(user)
    uow.commit()
    return UserView.of(user)
