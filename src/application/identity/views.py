"""Read models returned by identity use cases."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from domain.identity.user import User


@attrs.frozen
class UserView:
    id: UUID
    email: str
    full_name: str
    role: str
    email_verified: bool
    profile_image_url: str | None
    bio: str | None
    created_at: datetime
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            email=user.email.value,
            full_name=user.full_name,
            role=user.role.value,
            email_verified=user.is_verified,
            profile_image_url=user.profile_image_url,
            bio=user.bio,
            created_at=user.created_at,
            disabled=user.disabled_at is not None,
        )


@attrs.frozen(repr=False)
class LoginResult:
    token: str
    session_id: UUID
    user_id: UUID
    expires_at: datetime

    def __repr__(self) -> str:
        return f"LoginResult(session_id={self.session_id}, user_id={self.user_id})"
