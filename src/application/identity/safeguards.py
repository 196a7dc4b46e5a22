"""Guards shared by the identity use cases: attempt counting and password choice."""

from __future__ import annotations

from collections.abc import Sequence

from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import RateLimited, ValidationError
from domain.identity.passwords import NewPassword
from domain.identity.throttle import ThrottlePolicy, mail_key, sender_key


def take_attempt(uow: UnitOfWork, services: Services,
                 keys: Sequence[tuple[str, ThrottlePolicy]], *, code: str,
                 message: str) -> None:
    """Count this attempt against every key and commit, before any work is done.

    The count is one atomic upsert per key, so parallel attempts each get their own
    number: of 20 simultaneous guesses only the first few (up to each policy's limit)
    go on to a password check; the rest are refused here. A refused attempt still
    counts. Callers give a successful attempt back with `ThrottleRepository.release`
    (or clear the key).
    """
    now = services.clock.now()
    wait = 0
    for key, policy in keys:
        state = uow.throttle.record_failure(key, now, policy.window)
        # The attempts before this one decide whether this one may go ahead.
        wait = max(wait, policy.retry_after(state.failures - 1, state.window_started_at, now))
    uow.commit()
    if wait:
        raise RateLimited(message, retry_after_seconds=wait, code=code)


def choose_password(services: Services, password: str, *, email: str,
                    full_name: str | None = None, field: str = "password") -> NewPassword:
    """A new password that is long enough and not easy to guess (ASVS 2.1.7)."""
    try:
        chosen = NewPassword(password)
    except ValidationError as error:
        # The length rules name "password"; say which field of this request it is.
        raise ValidationError(error.message, code=error.code, field=field) from None
    inputs = [email, email.split("@")[0], *(full_name or "").split()]
    weakness = services.strength.weakness(chosen.value, user_inputs=inputs)
    if weakness:
        raise ValidationError(f"Choose a password that is harder to guess. {weakness}",
                              code="validation.password_weak", field=field)
    return chosen


def limit_mail(uow: UnitOfWork, services: Services, email: str,
               client_address: str | None) -> None:
    """Count a request that may send mail to ``email``: per target and per sender.

    Counted whether or not the address has an account, so a 429 tells nothing.
    """
    config = services.config
    keys = [(mail_key(email), config.mail_throttle)]
    if client_address:
        keys.append((sender_key(client_address), config.sender_throttle))
    take_attempt(uow, services, keys, code="auth.too_many_requests",
                 message="Too many requests for this address. Try again later.")
