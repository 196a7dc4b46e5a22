"""/api/v1/me/api-keys (your keys) and /api/v1/admin/api-keys (everyone's)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from application.identity.api_keys import (
    ApiKeyView,
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
)
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App
from entrypoints.http.openapi import AUTHENTICATED, MAX_OFFSET, OWNER
from entrypoints.http.schemas.api_keys import ApiKeyBody, ApiKeyOut, NewApiKeyOut

NO_STORE = {"Cache-Control": "private, no-store"}


def key_out(v: ApiKeyView) -> ApiKeyOut:
    return ApiKeyOut(id=v.id, user_id=v.user_id, name=v.name, prefix=v.prefix,
                     scopes=list(v.scopes), status=v.status, created_at=v.created_at,
                     expires_at=v.expires_at, last_used_at=v.last_used_at,
                     revoked_at=v.revoked_at)


class MyApiKeysController(Controller):
    path = "/api/v1/me/api-keys"
    tags = ["api keys"]
    security = SECURED

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=AUTHENTICATED)
    def create(self, data: JSONBody[ApiKeyBody], actor: Actor, patronage: App
               ) -> Response[NewApiKeyOut]:
        """A key for programs, acting as you on the routes of its `scopes` only, and
        never beyond what your account may do (403 `api_key.scope_not_yours` for a scope
        your role does not hold). The secret is in this answer only; keep it. Signed-in
        sessions only: a key cannot make keys."""
        made = patronage.handle(CreateApiKey(actor=actor, name=data.name,
                                             scopes=tuple(data.scopes),
                                             expires_at=data.expires_at))
        return Response(NewApiKeyOut(key=made.secret, api_key=key_out(made.view)),
                        status_code=HTTP_201_CREATED, headers=NO_STORE)

    @get("/", sync_to_thread=True, responses=AUTHENTICATED)
    def list_keys(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 100,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[ApiKeyOut]:
        """Your keys, newest first, with when each was last used (to the minute)."""
        return [key_out(v) for v in patronage.handle(ListApiKeys(actor=actor, limit=limit,
                                                                 offset=offset))]

    @delete("/{key_id:uuid}", status_code=200, sync_to_thread=True, responses=AUTHENTICATED)
    def revoke(self, key_id: FromPath[UUID], actor: Actor, patronage: App) -> ApiKeyOut:
        """Revoke one of your keys: it stops working at once (401 from then on)."""
        return key_out(patronage.handle(RevokeApiKey(actor=actor, key_id=key_id)))


class AdminApiKeysController(Controller):
    path = "/api/v1/admin/api-keys"
    tags = ["admin"]
    security = SECURED

    @get("/", sync_to_thread=True, responses=OWNER)
    def list_keys(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 100,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[ApiKeyOut]:
        """Everyone's keys (owners only), newest first; never a secret."""
        return [key_out(v) for v in patronage.handle(ListApiKeys(
            actor=actor, everyone=True, limit=limit, offset=offset))]

    @delete("/{key_id:uuid}", status_code=200, sync_to_thread=True, responses=OWNER)
    def revoke(self, key_id: FromPath[UUID], actor: Actor, patronage: App) -> ApiKeyOut:
        """Revoke anyone's key (owners only)."""
        return key_out(patronage.handle(RevokeApiKey(actor=actor, key_id=key_id)))
