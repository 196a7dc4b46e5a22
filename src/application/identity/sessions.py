"""Session use cases: who holds this token, and ending sessions."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from application.messagebus import Query
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import DomainError, RateLimited, Unauthenticated
from domain.identity.api_keys import KEY_PREFIX
from domain.identity.throttle import api_key_key

TOKEN_MAX_LENGTH = 256
# Activity is written at most this often per session (and at most every half idle
# period): the idle timeout needs minutes, not a write on every request.
ACTIVITY_INTERVAL = timedelta(minutes=5)
# An API key's last_used_at: accurate to the minute is enough to spot unused keys.
KEY_USE_INTERVAL = timedelta(minutes=1)
log = logging.getLogger("patronage.sessions")


def note_activity(uow: UnitOfWork, services: Services, session_id: UUID,
                  last_seen: datetime | None) -> None:
    """Move the session's last-seen time forward if it is older than a few minutes.

    A writing unit of work carries it in its own commit. A read-only one stays
    read-only: the write gets its own short transaction (a read-only unit of work holds
    no write lock, so this cannot wait on its caller). Best effort either way: a request
    never fails because of it, and the next one tries again.
    """
    now = services.clock.now()
    interval = min(ACTIVITY_INTERVAL, services.config.session_idle / 2)
    if last_seen is not None and now - last_seen < interval:
        return
    if not uow.read_only:
        uow.sessions.touch(session_id, now)
        return
    try:
        with services.uow_factory() as own:
            own.sessions.touch(session_id, now)
            own.commit()
    except DomainError as error:
        log.info("session activity not recorded (%s); the next request retries", error.code)


@attrs.frozen(repr=False)
class Authenticate(Query):
    token: str


def authenticate(cmd: Authenticate, uow: UnitOfWork, services: Services) -> Principal:
    if not cmd.token or len(cmd.token) > TOKEN_MAX_LENGTH:
        raise Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    now = services.clock.now()
    if cmd.token.startswith(KEY_PREFIX):
        keyed = _by_key(cmd.token, uow, services)
        if keyed is not None:
            return keyed
    found = uow.sessions.principal_for(hash_token(cmd.token), now,
                                       now - services.config.session_idle)
    if found is None and cmd.token.startswith(KEY_PREFIX):
        raise Unauthenticated("This API key is invalid, revoked or expired.",
                              code="auth.invalid_api_key")
    if found is None:
        raise Unauthenticated("Missing or invalid session token.", code="auth.invalid_session")
    note_activity(uow, services, found.session_id, found.last_seen_at)
    return Principal(user_id=found.user_id, role=found.role, session_id=found.session_id,
                     email_verified=found.email_verified)


def _by_key(token: str, uow: UnitOfWork, services: Services) -> Principal | None:
    """The key's owner, limited to its scopes; counted against the key's rate limit
    (a refused request counts too). None when no live key has this value."""
    now = services.clock.now()
    found = uow.api_keys.principal_for(hash_token(token), now)
    if found is None:
        return None
    policy = services.config.api_key_throttle
    with services.uow_factory() as own:
        state = own.throttle.record_failure(api_key_key(found.key_id), now, policy.window)
        if found.last_used_at is None or now - found.last_used_at >= KEY_USE_INTERVAL:
            own.api_keys.touch(found.key_id, now)
        own.commit()
    wait = policy.retry_after(state.failures - 1, state.window_started_at, now)
    if wait:
        raise RateLimited("This API key made too many requests; slow down.",
                          retry_after_seconds=wait, code="api_key.rate_limited")
    return Principal(user_id=found.user_id, role=found.role,
                     email_verified=found.email_verified, api_key_id=found.key_id,
                     scopes=frozenset(s.value for s in found.scopes))


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
