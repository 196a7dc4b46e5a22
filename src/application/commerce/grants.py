"""Complimentary (and other manual) access grants, by the platform's owners."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.values import Email

MANUAL_TYPES = ("complimentary", "preview")


@attrs.frozen
class GrantResult:
    user_id: UUID
    content_id: UUID
    access_type: str
    expires_at: datetime | None
    created: bool


def _target(uow: UnitOfWork, email: str, content_id: UUID | None, slug: str | None
            ) -> tuple[UUID, UUID]:
    user = uow.users.get_by_email(Email(email).value)
    if user is None:
        raise NotFound(f"No account with email {email}.", code="user.not_found")
    if content_id is None and slug is not None:
        content_id = uow.content.id_for_slug(slug)
    if content_id is None or not uow.content.existing_ids([content_id]):
        raise NotFound("No such content item.", code="content.not_found")
    return user.id, content_id


@attrs.frozen
class GrantAccess:
    actor: Principal
    email: str
    content_id: UUID | None = None
    slug: str | None = None
    access_type: str = "complimentary"
    expires_at: datetime | None = None


def grant_access(cmd: GrantAccess, uow: UnitOfWork, services: Services) -> GrantResult:
    cmd.actor.require(Permission.GRANTS_MANAGE)
    if cmd.access_type not in MANUAL_TYPES:
        raise ValidationError("Manual grants are complimentary or preview.",
                              code="grant.type", field="access_type")
    now = services.clock.now()
    if cmd.expires_at is not None and (cmd.expires_at.tzinfo is None or cmd.expires_at <= now):
        raise ValidationError("expires_at must be a future time with a time zone.",
                              code="grant.expiry", field="expires_at")
    user_id, content_id = _target(uow, cmd.email, cmd.content_id, cmd.slug)
    created = uow.grants.grant(grant_id=services.ids.new_id(), user_id=user_id,
                               content_id=content_id, access_type=cmd.access_type,
                               expires_at=cmd.expires_at, now=now)
    uow.commit()
    return GrantResult(user_id, content_id, cmd.access_type, cmd.expires_at, created)


@attrs.frozen
class RevokeAccess:
    actor: Principal
    email: str
    content_id: UUID | None = None
    slug: str | None = None
    access_type: str = "complimentary"


def revoke_access(cmd: RevokeAccess, uow: UnitOfWork, services: Services) -> None:
    """Remove one manual grant; other sources of access (a purchase) are untouched."""
    cmd.actor.require(Permission.GRANTS_MANAGE)
    if cmd.access_type not in MANUAL_TYPES:
        raise ValidationError("Only manual grants are revoked by hand; refund a purchase.",
                              code="grant.type", field="access_type")
    user_id, content_id = _target(uow, cmd.email, cmd.content_id, cmd.slug)
    if not uow.grants.revoke(user_id=user_id, content_id=content_id,
                             access_type=cmd.access_type):
        raise NotFound("There was no such grant.", code="grant.not_found")
    uow.commit()
