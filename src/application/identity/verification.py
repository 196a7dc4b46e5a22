"""Email verification: proving control of the address an account was registered with."""

from __future__ import annotations

import attrs

from application.identity.safeguards import limit_mail
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound
from domain.identity.user import InvalidToken


@attrs.frozen(repr=False)
class VerifyEmail:
    token: str


def verify_email(cmd: VerifyEmail, uow: UnitOfWork, services: Services) -> None:
    token_hash = hash_token(cmd.token)
    user = uow.users.get_by_verification_token(token_hash)
    if user is None:
        raise InvalidToken("The verification link is invalid or has expired.")
    user.verify_email(token_hash, services.clock.now())
    uow.commit()


@attrs.frozen
class ResendVerification:
    actor: Principal


def resend_verification(cmd: ResendVerification, uow: UnitOfWork, services: Services) -> None:
    user = uow.users.get(cmd.actor.require_user())
    if user is None:
        raise NotFound("No such user.", code="user.not_found")
    limit_mail(uow, services, user.email.value, None)
    user.request_verification()
    uow.commit()
