"""Server-side login sessions identified by an opaque bearer token (stored hashed)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs


@attrs.define
class AuthSession:
    id: UUID
    user_id: UUID
    token_hash: str = attrs.field(repr=False)
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None = None
    revoked_at: datetime | None = None
    ip_address: str | None = None
    user_agent: str | None = None

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
