"""The platform settings repository."""

from __future__ import annotations

from domain.platform.settings import PlatformSettings
from tests.unit.fakes.store import Store


class FakeSettingsRepository:
    def __init__(self, staged: Store) -> None:
        self._staged = staged

    def get(self) -> PlatformSettings:
        return self._staged.settings

    def answers(self) -> bool:
        return True
