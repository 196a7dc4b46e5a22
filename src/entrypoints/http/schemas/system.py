"""Bodies of the health route."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class HealthOut(msgspec.Struct):
    status: str
    database: str
    payments: Annotated[str, Meta(description=(
        "`sandbox` (test cards, no real money) or `stripe`"))]
