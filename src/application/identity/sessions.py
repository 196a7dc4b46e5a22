"""Session use cases: who holds this token, and ending sessions."""

from __future__ import annotations

import attrs

from application.messagebus import Query
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Unauthenticated

TOKEN_MAX_LENGTH = 256


@attrs.frozen(repr=False)
class Authenticate(Query):
    token: str


def authenticate(cmd: Authenticate, uow: UnitOfWork, services: Services) -> Principal:
    if not cmd.token or len(cmd.token) > TOKEN_MAX_LENGTH:
        raise Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    found = uow.sessions.principal_for(hash_token(cmd.token), services.clock.now())
    if found is None:
        raise Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    return Principal(user_id=found.user_id, role=found.role, session_id=found.session_id,
                     email_verified=found.email_verified)


@attrs.frozen
class Logout:
    actor: Principal


def logout(cmd: Logout, uow: UnitOfWork, services: Services) -> None:
    if cmd.actor.session_id is not None:
        uow.sessions.revoke(cmd.actor.session_id, services.clock.now())
        uow.commit()


@attrs.frozen
class LogoutEverywhere:
    actor: Principal


def logout_everywhere(cmd: LogoutEverywhere, uow: UnitOfWork, services: Services) -> int:
    revoked = uow.sessions.revoke_all_for_user(cmd.actor.require_user(), services.clock.now())
    uow.commit()
    return revoked
