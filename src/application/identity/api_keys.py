"""Creating, listing and revoking API keys. The secret is shown once, when it is made;
only its SHA-256 is kept."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs

from application.messagebus import Query
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, Forbidden, NotFound, ValidationError
from domain.identity.api_keys import KEY_PREFIX, ApiKey, key_name, scopes_for
from domain.identity.permissions import Permission
from domain.values import Email

SECRET_BYTES = 32
# Each key has its own rate limit: without a cap, more keys would be more requests.
ACTIVE_KEYS_MAX = 20
LONGEST = timedelta(days=3660)
PREFIX_LENGTH = len(KEY_PREFIX) + 8


@attrs.frozen
class ApiKeyView:
    id: UUID
    user_id: UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    status: str  # active, expired, revoked
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, now: datetime) -> ApiKeyView:
        return cls(key.id, key.user_id, key.name, key.prefix,
                   tuple(sorted(s.value for s in key.scopes)), key.status(now),
                   key.created_at, key.expires_at, key.last_used_at, key.revoked_at)


@attrs.frozen(repr=False)
class NewApiKey:
    view: ApiKeyView
    secret: str  # shown once

    def __repr__(self) -> str:
        return f"NewApiKey(id={self.view.id})"


@attrs.frozen
class CreateApiKey:
    actor: Principal
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime | None = None
    # The operator at the command line makes keys for an account, by its email.
    for_email: str | None = None


def create_api_key(cmd: CreateApiKey, uow: UnitOfWork, services: Services) -> NewApiKey:
    """A key for the caller's own account, within what that account may do."""
    cmd.actor.require_session()
    now = services.clock.now()
    if cmd.for_email is not None:
        cmd.actor.require(Permission.USERS_MANAGE)
        owner = uow.users.get_by_email(Email(cmd.for_email).value)
        if owner is None:
            raise NotFound("No account has this email address.", code="user.not_found")
    else:
        found = uow.users.get(cmd.actor.require_user())
        if found is None:
            raise NotFound("No such user.", code="user.not_found")
        owner = found
    if not owner.is_active:
        raise Forbidden("This account is disabled.", code="user.disabled")
    scopes = scopes_for(owner.role, cmd.scopes)
    expires_at = _expiry(cmd.expires_at, now)
    if uow.api_keys.active_count(owner.id, now) >= ACTIVE_KEYS_MAX:
        raise Conflict(f"An account holds at most {ACTIVE_KEYS_MAX} active keys; revoke one.",
                       code="api_key.too_many")
    # The prefix names the key in listings and logs; the rest is the secret.
    secret = f"{KEY_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(SECRET_BYTES)}"
    key = ApiKey(id=services.ids.new_id(), user_id=owner.id, name=key_name(cmd.name),
                 prefix=secret[:PREFIX_LENGTH], key_hash=hash_token(secret), scopes=scopes,
                 created_at=now, expires_at=expires_at)
    uow.api_keys.add(key)
    uow.commit()
    return NewApiKey(ApiKeyView.of(key, now), secret)


def _expiry(value: datetime | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        moment = None
    if moment is None or not now < moment <= now + LONGEST:
        raise ValidationError("expires_at must be in the future, within ten years.",
                              code="api_key.expiry", field="expires_at")
    return moment


@attrs.frozen
class ListApiKeys(Query):
    actor: Principal
    # Owners: everyone's keys, or (with for_email) one account's.
    everyone: bool = False
    for_email: str | None = None
    limit: int = 100
    offset: int = 0


def list_api_keys(cmd: ListApiKeys, uow: UnitOfWork, services: Services
                  ) -> Sequence[ApiKeyView]:
    """Your keys (owners: everyone's), newest first; never a secret."""
    cmd.actor.require_session()
    owner: UUID | None
    if cmd.everyone or cmd.for_email is not None:
        cmd.actor.require(Permission.USERS_MANAGE)
        owner = None
        if cmd.for_email is not None:
            found = uow.users.get_by_email(Email(cmd.for_email).value)
            if found is None:
                raise NotFound("No account has this email address.", code="user.not_found")
            owner = found.id
    else:
        owner = cmd.actor.require_user()
    now = services.clock.now()
    return [ApiKeyView.of(k, now) for k in
            uow.api_keys.list(user_id=owner, limit=cmd.limit, offset=cmd.offset)]


@attrs.frozen
class RevokeApiKey:
    actor: Principal
    key_id: UUID


def revoke_api_key(cmd: RevokeApiKey, uow: UnitOfWork, services: Services) -> ApiKeyView:
    """Stops working at once. Your own keys; owners anyone's. Revoking twice is fine."""
    cmd.actor.require_session()
    key = uow.api_keys.get(cmd.key_id)
    # Someone else's key does not exist for you.
    if key is None or not (key.user_id == cmd.actor.user_id
                           or cmd.actor.can(Permission.USERS_MANAGE)):
        raise NotFound("No such API key.", code="api_key.not_found")
    now = services.clock.now()
    uow.api_keys.revoke(key.id, now)
    uow.commit()
    key.revoke(now)
    return ApiKeyView.of(key, now)
