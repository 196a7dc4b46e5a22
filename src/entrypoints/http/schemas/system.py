"""Bodies of the health route."""

from __future__ import annotations

import msgspec


class HealthOut(msgspec.Struct):
    status: str
    database: str
