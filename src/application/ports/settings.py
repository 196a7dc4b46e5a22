"""The platform's settings row."""

from __future__ import annotations

from typing import Protocol

from domain.platform.settings import PlatformSettings


class SettingsRepository(Protocol):
    def get(self) -> PlatformSettings:
        """The one settings row (created by the first migration)."""
        ...

    def answers(self) -> bool:
        """Whether the settings row can be read at all: a check of the database that does
        not depend on any column added since the first migration."""
        ...
