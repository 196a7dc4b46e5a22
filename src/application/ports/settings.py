"""The platform's settings row."""

from __future__ import annotations

from typing import Protocol

from domain.platform.settings import PlatformSettings


class SettingsRepository(Protocol):
    def get(self) -> PlatformSettings:
        """The one settings row (created by the first migration)."""
        ...
