"""Who is acting: the authenticated caller every use case receives."""

from __future__ import annotations

from uuid import UUID

import attrs

from domain.errors import Forbidden
from domain.identity.roles import Role


@attrs.frozen
class Principal:
    user_id: UUID | None
    role: Role
    session_id: UUID | None = None
    email_verified: bool = False
    is_system: bool = False

    @classmethod
    def system(cls) -> Principal:
        """The operator at the CLI: trusted with every administrative use case."""
        return cls(user_id=None, role=Role.PLATFORM_CREATOR, is_system=True, email_verified=True)

    @property
    def is_staff(self) -> bool:
        return self.is_system or self.role.is_staff

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("Only the platform's owners may do this.", code="auth.staff_only")

    def require_user(self) -> UUID:
        if self.user_id is None:
            raise Forbidden("This needs a user account.", code="auth.user_only")
        return self.user_id
