"""Counting what happens, for the operators' monitoring (Prometheus in production)."""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    def payment(self, outcome: str) -> None:
        """A payment event applied: succeeded, failed or refunded."""
        ...

    def email(self, outcome: str) -> None:
        """An email handed to the mailer: sent or failed."""
        ...

    def webhook(self, event_type: str, outcome: str) -> None:
        """A provider's webhook delivery: applied, duplicate, ignored, mismatch or
        rejected (a bad signature or payload)."""
        ...


class NoMetrics:
    """Counts nothing (metrics off, and the tests' default)."""

    def payment(self, outcome: str) -> None:
        return None

    def email(self, outcome: str) -> None:
        return None

    def webhook(self, event_type: str, outcome: str) -> None:
        return None
