"""Request-scoped dependencies: the wired application and the authenticated caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency, Provide

from application.identity.sessions import Authenticate
from application.messagebus import Query, SingleStatementWrites
from application.principal import Principal
from domain.errors import Forbidden, Unauthenticated
from domain.identity.api_keys import Scope
from entrypoints.bootstrap import Patronage
from entrypoints.http.request_context import note_user

# Explicit markers: what a handler receives from DI, not from the request.
App = NamedDependency[Patronage]
Actor = NamedDependency[Principal]


def provide_patronage(patronage: Patronage) -> Provide:
    """The wired application for every handler that names it. It is the same object for
    the app's whole life: Litestar keeps the first answer instead of resolving the
    provider's own parameters on every request (14 us of a request's CPU)."""

    def patronage_() -> Patronage:
        return patronage

    return Provide(patronage_, sync_to_thread=False, use_cache=True)


async def handle_hot(patronage: Patronage, message: Query | SingleStatementWrites) -> Any:
    """A hot path's query: on PostgreSQL run here, on the event loop's thread and its
    own connection (decision 9), a resume position it saves going with the loop's other
    saves; elsewhere in the thread pool, like a sync handler."""
    if patronage.serves_inline:
        return await patronage.handle_on_loop(message)
    return await sync_to_thread(patronage.handle, message)


def bearer_of(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header's value; None if malformed."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_token(request: Request[Any, Any, Any]) -> str:
    token = bearer_of(request.headers.get("authorization", ""))
    if token is None:
        raise Unauthenticated(
            "Send the session token as 'Authorization: Bearer <token>'.", code="auth.missing_token"
        )
    return token


def optional_token(request: Request[Any, Any, Any]) -> str | None:
    """The bearer token if one was sent; a malformed header is still an error."""
    if "authorization" not in request.headers:
        return None
    return bearer_token(request)


# A route's `opt` names the API-key scope it takes; a route without one takes no key.
API_SCOPE = "api_scope"


def takes_key(scope: Scope) -> dict[str, str]:
    """The `opt` of a route an API key with ``scope`` may call."""
    return {API_SCOPE: scope.value}


def provide_actor(request: Request[Any, Any, Any], patronage: App) -> Principal:
    principal: Principal = patronage.handle(Authenticate(bearer_token(request)))
    note_user(request.scope, str(principal.user_id) if principal.user_id else None)
    if principal.scopes is not None:
        scope = request.route_handler.opt.get(API_SCOPE)
        if scope is None:
            raise Forbidden("API keys cannot be used here; sign in.",
                            code="api_key.not_accepted")
        if scope not in principal.scopes:
            raise Forbidden(f"This API key lacks the scope {scope}.",
                            code="api_key.scope_missing", details={"scope": scope})
    return principal


def client_address(request: Request[Any, Any, Any]) -> str | None:
    # The socket peer. Behind a reverse proxy, the proxy must be the one that
    # throttles by address (we do not trust X-Forwarded-For from anyone).
    return request.client.host if request.client else None
