"""The User aggregate: an account, its credentials and its verification state."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from domain.errors import Conflict, Forbidden, ValidationError
from domain.events import Aggregate
from domain.identity.events import (
    AccountDeleted,
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
    RoleChanged,
    UserDisabled,
    UserRegistered,
)
from domain.identity.roles import Role
from domain.values import Email, Url

FULL_NAME_MAX_LENGTH = 255
BIO_MAX_LENGTH = 5000


class InvalidToken(ValidationError):
    code = "auth.invalid_token"
    title = "Invalid or expired token"


def _full_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("Full name is required.", code="validation.full_name",
                              field="full_name")
    value = value.strip()
    if len(value) > FULL_NAME_MAX_LENGTH:
        raise ValidationError("Full name is too long.", code="validation.full_name",
                              field="full_name")
    return value


@attrs.define
class User(Aggregate):
    id: UUID
    email: Email
    password_hash: str = attrs.field(repr=False)
    full_name: str = attrs.field(converter=_full_name)
    role: Role
    created_at: datetime
    updated_at: datetime
    profile_image_url: str | None = None
    bio: str | None = None
    email_verified_at: datetime | None = None
    email_verification_token_hash: str | None = attrs.field(default=None, repr=False)
    email_verification_expires_at: datetime | None = None
    password_reset_token_hash: str | None = attrs.field(default=None, repr=False)
    password_reset_expires_at: datetime | None = None
    stripe_customer_id: str | None = None
    stripe_connect_account_id: str | None = None
    disabled_at: datetime | None = None
    deleted_at: datetime | None = None

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        email: Email,
        password_hash: str,
        full_name: str,
        role: Role,
        now: datetime,
        verified: bool = False,
    ) -> User:
        user = cls(
            id=id,
            email=email,
            password_hash=password_hash,
            full_name=full_name,
            role=role,
            created_at=now,
            updated_at=now,
            email_verified_at=now if verified else None,
        )
        user.record(UserRegistered(user_id=id))
        if not verified:
            user.record(EmailVerificationRequested(user_id=id))
        return user

    # -- state --------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None and self.deleted_at is None

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def ensure_active(self) -> None:
        if not self.is_active:
            raise Forbidden("This account is disabled.", code="auth.account_disabled")

    # -- email verification -------------------------------------------------

    def request_verification(self) -> None:
        if self.is_verified:
            raise Conflict("Email address is already verified.", code="auth.already_verified")
        self.record(EmailVerificationRequested(user_id=self.id))

    def issue_verification_token(self, token_hash: str, now: datetime, ttl: timedelta) -> None:
        self.email_verification_token_hash = token_hash
        self.email_verification_expires_at = now + ttl
        self.updated_at = now

    def verify_email(self, token_hash: str, now: datetime) -> None:
        if not _token_matches(
            self.email_verification_token_hash, self.email_verification_expires_at,
            token_hash, now,
        ):
            raise InvalidToken("The verification link is invalid or has expired.")
        self.email_verified_at = now
        self.email_verification_token_hash = None
        self.email_verification_expires_at = None
        self.updated_at = now
        self.record(EmailVerified(user_id=self.id))

    # -- password -----------------------------------------------------------

    def request_password_reset(self) -> None:
        if self.is_active:
            self.record(PasswordResetRequested(user_id=self.id))

    def issue_password_reset_token(self, token_hash: str, now: datetime, ttl: timedelta) -> None:
        self.password_reset_token_hash = token_hash
        self.password_reset_expires_at = now + ttl
        self.updated_at = now

    def reset_password(self, token_hash: str, new_password_hash: str, now: datetime) -> None:
        if not self.is_active or not _token_matches(
            self.password_reset_token_hash, self.password_reset_expires_at, token_hash, now
        ):
            raise InvalidToken("The reset link is invalid or has expired.")
        # Following the emailed link proves control of the address.
        if self.email_verified_at is None:
            self.email_verified_at = now
        self._set_password(new_password_hash, now)

    def change_password(self, new_password_hash: str, now: datetime) -> None:
        self._set_password(new_password_hash, now)

    def rehash_password(self, new_password_hash: str, now: datetime) -> None:
        """Same password, stronger hash parameters: not a password change."""
        self.password_hash = new_password_hash
        self.updated_at = now

    def _set_password(self, new_password_hash: str, now: datetime) -> None:
        # However the password changes, a reset link sent earlier must stop working.
        self.password_reset_token_hash = None
        self.password_reset_expires_at = None
        self.password_hash = new_password_hash
        self.updated_at = now
        self.record(PasswordChanged(user_id=self.id))

    # -- profile and administration -----------------------------------------

    def update_profile(
        self,
        now: datetime,
        *,
        full_name: str | None = None,
        bio: str | None = None,
        profile_image_url: str | None = None,
        clear: frozenset[str] = frozenset(),
    ) -> None:
        # Validate everything before changing anything: never half an update.
        name = _full_name(full_name) if full_name is not None else self.full_name
        if bio is not None and len(bio) > BIO_MAX_LENGTH:
            raise ValidationError("Bio is too long.", code="validation.bio", field="bio")
        try:
            image = Url(profile_image_url).value if profile_image_url is not None else None
        except ValidationError as exc:
            exc.field = "profile_image_url"
            raise
        self.full_name = name
        if bio is not None:
            self.bio = bio
        if image is not None:
            self.profile_image_url = image
        if "bio" in clear:
            self.bio = None
        if "profile_image_url" in clear:
            self.profile_image_url = None
        self.updated_at = now

    def change_role(self, role: Role, now: datetime) -> None:
        if role is self.role:
            return
        old = self.role
        self.role = role
        self.updated_at = now
        self.record(RoleChanged(user_id=self.id, old_role=old.value, new_role=role.value))

    def disable(self, now: datetime) -> None:
        if self.disabled_at is not None:
            return
        self.disabled_at = now
        self.updated_at = now
        self.record(UserDisabled(user_id=self.id))

    def enable(self, now: datetime) -> None:
        self.disabled_at = None
        self.updated_at = now

    def soft_delete(self, now: datetime) -> None:
        if self.deleted_at is not None:
            return
        self.deleted_at = now
        self.updated_at = now
        # Outstanding links must die with the account.
        self.email_verification_token_hash = None
        self.password_reset_token_hash = None
        self.record(AccountDeleted(user_id=self.id))


def _token_matches(
    stored_hash: str | None, expires_at: datetime | None, presented_hash: str, now: datetime
) -> bool:
    if stored_hash is None or expires_at is None or now >= expires_at:
        return False
    return hmac.compare_digest(stored_hash, presented_hash)
