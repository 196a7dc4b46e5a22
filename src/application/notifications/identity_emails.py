"""Event handlers that email users about their account."""

from __future__ import annotations

from urllib.parse import quote

from application.notifications.branding import site_url
from application.notifications.delivery import deliver
from application.security import hash_token, new_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.identity.events import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    RegistrationAttemptedForExistingEmail,
)


def _link(uow: UnitOfWork, services: Services, path: str, token: str) -> str:
    return f"{site_url(uow, services)}{path}?token={quote(token)}"


def send_verification_email(
    event: EmailVerificationRequested, uow: UnitOfWork, services: Services
) -> None:
    """Issues the token here, at send time: only its hash is ever stored."""
    user = uow.users.get(event.user_id)
    if user is None or user.is_verified or not user.is_active:
        return
    token = new_token()
    now = services.clock.now()
    user.issue_verification_token(hash_token(token), now, services.config.verification_ttl)
    hours = int(services.config.verification_ttl.total_seconds() // 3600)
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="email_verification",
        subject="Confirm your email address",
        text=(
            f"Hello {user.full_name},\n\n"
            f"Please confirm your email address by opening this link:\n\n"
            f"{_link(uow, services, '/verify-email', token)}\n\n"
            f"The link works once and expires in {hours} hours.\n"
        ),
    )


def send_password_reset_email(
    event: PasswordResetRequested, uow: UnitOfWork, services: Services
) -> None:
    user = uow.users.get(event.user_id)
    if user is None or not user.is_active:
        return
    token = new_token()
    now = services.clock.now()
    user.issue_password_reset_token(hash_token(token), now, services.config.reset_ttl)
    minutes = int(services.config.reset_ttl.total_seconds() // 60)
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="password_reset",
        subject="Reset your password",
        text=(
            f"Hello {user.full_name},\n\n"
            f"Someone asked to reset the password of your account. If it was you, "
            f"open this link within {minutes} minutes:\n\n"
            f"{_link(uow, services, '/reset-password', token)}\n\n"
            "If it was not you, ignore this email; your password stays as it is.\n"
        ),
    )


def send_existing_account_notice(
    event: RegistrationAttemptedForExistingEmail, uow: UnitOfWork, services: Services
) -> None:
    user = uow.users.get(event.user_id)
    if user is None:
        return
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="registration_existing",
        subject="You already have an account",
        text=(
            f"Hello {user.full_name},\n\n"
            "Someone tried to create an account with this email address, which already "
            "has one. If it was you, log in instead, or reset your password at "
            f"{site_url(uow, services)}/forgot-password.\n"
        ),
    )


def send_password_changed_notice(
    event: PasswordChanged, uow: UnitOfWork, services: Services
) -> None:
    user = uow.users.get(event.user_id)
    if user is None:
        return
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="password_changed",
        subject="Your password was changed",
        text=(
            f"Hello {user.full_name},\n\n"
            "The password of your account was just changed and your other sessions were "
            "signed out. If this was not you, reset your password now.\n"
        ),
    )
