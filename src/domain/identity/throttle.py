"""Login throttling: how many failures a key may have before it must wait."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import attrs


@attrs.frozen
class ThrottlePolicy:
    """Failures allowed per key within a fixed window that starts at the first failure."""

    max_failures: int
    window: timedelta

    def window_start(self, now: datetime) -> datetime:
        return now - self.window

    def retry_after(self, failures: int, window_started_at: datetime, now: datetime) -> int:
        """Seconds to wait, or 0 when another attempt is allowed."""
        if failures < self.max_failures:
            return 0
        remaining = (window_started_at + self.window) - now
        return max(0, int(remaining.total_seconds()) + 1) if remaining > timedelta(0) else 0


def api_key_key(key_id: UUID) -> str:
    return f"api_key:{key_id}"


def account_key(email: str) -> str:
    return f"account:{email}"


def address_key(address: str) -> str:
    return f"address:{address}"


def mail_key(email: str) -> str:
    """Requests that send mail to this address (registration, reset, verification)."""
    return f"mail:{email}"


def sender_key(address: str) -> str:
    """Anonymous mail-sending requests from this client address."""
    return f"sender:{address}"
