from __future__ import annotations

from uuid import UUID

import attrs

from domain.events import DomainEvent


@attrs.frozen
class UserRegistered(DomainEvent):
    user_id: UUID


@attrs.frozen
class EmailVerificationRequested(DomainEvent):
    """Asks for a fresh verification token to be issued and mailed.

    The token itself is created by the handler that mails it, so no plaintext
    token ever sits in the outbox.
    """

    user_id: UUID


@attrs.frozen
class EmailVerified(DomainEvent):
    user_id: UUID


@attrs.frozen
class RegistrationAttemptedForExistingEmail(DomainEvent):
    """Someone tried to register an address that already has an account.

    The API answers exactly as for a new address; the owner of the address is
    told by email instead, so registration does not reveal who has an account.
    """

    user_id: UUID


@attrs.frozen
class PasswordResetRequested(DomainEvent):
    user_id: UUID


@attrs.frozen
class PasswordChanged(DomainEvent):
    user_id: UUID


@attrs.frozen
class UserDisabled(DomainEvent):
    user_id: UUID


@attrs.frozen
class AccountDeleted(DomainEvent):
    user_id: UUID


@attrs.frozen
class RoleChanged(DomainEvent):
    user_id: UUID
    old_role: str
    new_role: str
