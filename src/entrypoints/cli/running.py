"""Running one use case from a CLI command: wire, handle, release."""

from __future__ import annotations

from typing import Any

from entrypoints.bootstrap import bootstrap
from entrypoints.config import Settings


def run(message: object) -> Any:
    """Handle one command or query with a freshly wired core, then close it."""
    patronage = bootstrap(Settings.from_env())
    try:
        return patronage.handle(message)
    finally:
        patronage.close()
