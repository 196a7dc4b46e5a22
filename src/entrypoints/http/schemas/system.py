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


class ReadyOut(msgspec.Struct):
    status: str
    database: str
    migrations: Annotated[str, Meta(description="The database's migration revision")]
    payments: Annotated[str, Meta(description="`sandbox` or `stripe`")]
    storage: Annotated[str, Meta(description="`local` or `r2`")]
    mailer: Annotated[str, Meta(description="`file` or `smtp`")]
