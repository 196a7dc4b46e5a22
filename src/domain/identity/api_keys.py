"""API keys: long-lived secrets for programs, limited to named scopes.

A key acts as the account that made it, and only on the routes of its scopes; the
permission matrix still decides what that account may do there. So a key never
reaches more than its owner can, and never reaches an action its scopes do not name.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

import attrs

from domain.errors import Forbidden, ValidationError
from domain.identity.permissions import Permission, allows
from domain.identity.roles import Role

# Every key starts so: the server tells a key from a session token without a lookup.
KEY_PREFIX = "pat_"
NAME_MAX = 255
SCOPES_MAX = 20


class Scope(enum.StrEnum):
    CATALOG_READ = "catalog:read"  # studio reads: one's items, series, offerings, bookings
    CONTENT_WRITE = "content:write"  # items, series, media uploads
    OFFERINGS_WRITE = "offerings:write"  # offerings, resources, marking bookings
    ANALYTICS_READ = "analytics:read"  # analytics, earnings and payouts
    MEMBERS_READ = "members:read"  # accounts, subscriptions, media owners (owners)
    USERS_WRITE = "users:write"  # create accounts, change roles, disable (owners)
    SETTINGS_WRITE = "settings:write"  # platform settings (owners)
    REFUNDS_WRITE = "refunds:write"  # refunds and access grants (owners)


# Who may put a scope on a key: whoever holds this permission.
SCOPE_PERMISSION: Mapping[Scope, Permission] = {
    Scope.CATALOG_READ: Permission.CONTENT_CREATE,
    Scope.CONTENT_WRITE: Permission.CONTENT_CREATE,
    Scope.OFFERINGS_WRITE: Permission.OFFERINGS_CREATE,
    Scope.ANALYTICS_READ: Permission.EARNINGS_VIEW_OWN,
    Scope.MEMBERS_READ: Permission.USERS_MANAGE,
    Scope.USERS_WRITE: Permission.USERS_MANAGE,
    Scope.SETTINGS_WRITE: Permission.SETTINGS_MANAGE,
    Scope.REFUNDS_WRITE: Permission.REFUNDS_ISSUE,
}


def scopes_for(role: Role, asked: Iterable[str]) -> frozenset[Scope]:
    """The scopes asked for, each one known and within what ``role`` may do."""
    wanted = list(asked)
    if not wanted or len(wanted) > SCOPES_MAX:
        raise ValidationError(f"Name 1 to {SCOPES_MAX} scopes.", code="api_key.scopes",
                              field="scopes")
    chosen = set()
    for name in wanted:
        try:
            scope = Scope(name)
        except ValueError:
            raise ValidationError(
                f"Unknown scope {name!r}; scopes are {', '.join(s.value for s in Scope)}.",
                code="api_key.scope_unknown", field="scopes") from None
        if not allows(role, SCOPE_PERMISSION[scope]):
            raise Forbidden(f"Your account cannot give a key the scope {scope.value}.",
                            code="api_key.scope_not_yours", details={"scope": scope.value})
        chosen.add(scope)
    return frozenset(chosen)


def key_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationError(f"Give the key a name (at most {NAME_MAX} characters).",
                              code="api_key.name", field="name")
    return name


@attrs.define
class ApiKey:
    id: UUID
    user_id: UUID
    name: str
    prefix: str  # the key's first characters: enough to tell keys apart, never to use one
    key_hash: str = attrs.field(repr=False)
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def revoke(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        return True

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.usable(now) else "expired"
