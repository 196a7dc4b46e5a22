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

    def is_valid(self, now: datetime, idle_since: datetime | None = None) -> bool:
        """Not revoked, within its absolute lifetime, and (given ``idle_since``) used
        after that instant: the idle timeout."""
        seen = self.last_seen_at or self.created_at
        return (self.revoked_at is None and now < self.expires_at
                and (idle_since is None or seen > idle_since))

    def touch(self, now: datetime) -> None:
        self.last_seen_at = now

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now
