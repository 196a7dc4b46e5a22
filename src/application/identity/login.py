"""Logging in: password check, throttling, and a new server-side session."""

from __future__ import annotations

import attrs

from application.identity.safeguards import take_attempt
from application.identity.views import LoginResult
from application.security import hash_token, new_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Unauthenticated, ValidationError
from domain.identity.session import AuthSession
from domain.identity.throttle import ThrottlePolicy, account_key, address_key
from domain.values import Email

USER_AGENT_MAX = 500


@attrs.frozen(repr=False)
class Login:
    email: str
    password: str
    client_address: str | None = None
    user_agent: str | None = None


def _invalid() -> Unauthenticated:
    return Unauthenticated("Email or password is incorrect.", code="auth.invalid_credentials")


def login(cmd: Login, uow: UnitOfWork, services: Services) -> LoginResult:
    now = services.clock.now()
    config = services.config
    try:
        email = Email(cmd.email).value
    except ValidationError:
        # A malformed address cannot have an account; answer as for a wrong password.
        email = cmd.email.strip().lower()[:254]
    keys: list[tuple[str, ThrottlePolicy]] = [(account_key(email), config.account_throttle)]
    if cmd.client_address:
        keys.append((address_key(cmd.client_address), config.address_throttle))

    user = uow.users.get_by_email(email)
    take_attempt(uow, services, keys, code="auth.too_many_attempts",
                 message="Too many failed logins. Try again later.")
    # No transaction is open while the password is checked. Unknown emails are checked
    # against a hash made once, so both paths cost one argon2 verification.
    stored_hash = user.password_hash if user is not None else services.hasher.dummy_hash()
    password_ok = services.hasher.verify(stored_hash, cmd.password)  # on both paths
    if user is None or not password_ok:
        raise _invalid()  # the attempt stays counted as a failure
    rehashed = (services.hasher.hash(cmd.password)
                if services.hasher.needs_rehash(stored_hash) else None)

    # The check ran outside any transaction; the row may have changed meanwhile (a reset,
    # a password change, a disabled account). Lock it and make sure it is the same.
    current = uow.users.get(user.id, lock=True)
    if current is None or current.password_hash != stored_hash:
        raise _invalid()
    current.ensure_active()
    uow.throttle.clear(account_key(email))
    if cmd.client_address:
        uow.throttle.release(address_key(cmd.client_address))
    if rehashed is not None:
        current.rehash_password(rehashed, now)
    user = current
    token = new_token()
    session = AuthSession(
        id=services.ids.new_id(), user_id=user.id, token_hash=hash_token(token),
        created_at=now, expires_at=now + config.session_ttl, last_seen_at=now,
        ip_address=cmd.client_address,
        user_agent=(cmd.user_agent or None) and cmd.user_agent[:USER_AGENT_MAX],
    )
    uow.sessions.add(session)
    uow.commit()
    return LoginResult(token=token, session_id=session.id, user_id=user.id,
                       expires_at=session.expires_at)
