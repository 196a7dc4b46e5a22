"""Who is acting: the authenticated caller every use case receives."""

from __future__ import annotations

from uuid import UUID

import attrs

from domain.errors import Forbidden
from domain.identity.permissions import Permission, allows, may_manage
from domain.identity.roles import Role

# Stable codes of refusals, per permission family (clients and tests key on them).
_OWNER_ONLY = "auth.owner_only"
_CODES = {
    Permission.CONTENT_CREATE: "auth.creators_only",
    Permission.OFFERINGS_CREATE: "auth.creators_only",
    Permission.EARNINGS_VIEW_OWN: "auth.creators_only",
    Permission.ANALYTICS_VIEW_OWN: "auth.creators_only",
    Permission.PAYOUTS_ONBOARD: "auth.media_owners_only",
}


@attrs.frozen
class Principal:
    user_id: UUID | None
    role: Role
    session_id: UUID | None = None
    email_verified: bool = False
    is_system: bool = False
    # Acting through an API key: its id and scopes (None: a signed-in session).
    api_key_id: UUID | None = None
    scopes: frozenset[str] | None = None

    @property
    def by_key(self) -> bool:
        return self.api_key_id is not None

    @classmethod
    def system(cls) -> Principal:
        """The operator at the CLI: holds every permission of a platform owner."""
        return cls(user_id=None, role=Role.PLATFORM_OWNER, is_system=True, email_verified=True)

    @classmethod
    def visitor(cls) -> Principal:
        """Someone without an account: may see only what anyone may see."""
        return cls(user_id=None, role=Role.CUSTOMER)

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(
                "Only the platform's owners may do this." if permission not in _CODES
                else "Only media owners may do this." if permission is Permission.PAYOUTS_ONBOARD
                else "Only creators may do this.",
                code=_CODES.get(permission, _OWNER_ONLY),
                details={"permission": permission.value},
            )

    def may_manage(self, owner_id: UUID, *, own: Permission, any_: Permission) -> bool:
        return may_manage(self.role, own=own, any_=any_, actor_id=self.user_id,
                          owner_id=owner_id)

    def require_session(self) -> None:
        """Things only a person signed in does (managing keys, changing one's account)."""
        if self.by_key:
            raise Forbidden("An API key cannot do this; sign in.",
                            code="api_key.session_only")

    def require_session_for_owners(self, *roles: Role) -> None:
        """A key may manage accounts (users:write), but never make, promote, demote or
        disable a platform owner: that would turn one leaked key into every power."""
        if self.by_key and Role.PLATFORM_OWNER in roles:
            raise Forbidden("An API key cannot act on platform owners' accounts; sign in.",
                            code="api_key.session_only")

    def require_user(self) -> UUID:
        if self.user_id is None:
            raise Forbidden("This needs a user account.", code="auth.user_only")
        return self.user_id
