"""Time and identifiers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class TravellingClock(Clock, Protocol):
    """The sandbox's clock, which operators may move forward to see renewals, grace
    periods and expiries happen (never with a real payment provider)."""

    def advance(self, by: timedelta) -> datetime:
        """Move every process's clock forward by ``by``; returns the new now."""
        ...
