"""Bodies of the API-key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.identity.api_keys import NAME_MAX, SCOPES_MAX, Scope
from entrypoints.http.schemas.common import Strict

ScopeName = Annotated[str, Meta(max_length=50, description=(
    "One of " + ", ".join(s.value for s in Scope)))]


class ApiKeyBody(Strict):
    name: Annotated[str, Meta(min_length=1, max_length=NAME_MAX)]
    scopes: Annotated[list[ScopeName], Meta(min_length=1, max_length=SCOPES_MAX)]
    expires_at: Annotated[datetime, Meta(tz=True, description=(
        "When the key stops working; none: until revoked"))] | None = None


class ApiKeyOut(msgspec.Struct):
    id: UUID
    user_id: UUID
    name: str
    prefix: Annotated[str, Meta(description="The key's first characters, to tell keys apart")]
    scopes: list[str]
    status: Annotated[str, Meta(description="active, expired or revoked")]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(msgspec.Struct):
    key: Annotated[str, Meta(description=(
        "The secret: shown this once, never again. Send it as `Authorization: Bearer <key>`"))]
    api_key: ApiKeyOut
