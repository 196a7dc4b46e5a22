"""Who and what a log line is about: a request id for every request, the user once known.

The id comes from the client's `X-Request-ID` when it is a sane token (so a proxy's id
follows the request through), otherwise it is made here. It is echoed in the response
header and in problem+json bodies, and every log line written while the request runs
carries it (`entrypoints.logs`). With access logging on, one line per request records
method, route template (never the raw path), status, duration and user.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from entrypoints.http.headers import header_list
from entrypoints.logs import request_state_var

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("patronage.access")


def note_user(scope: Scope, user_id: str | None) -> None:
    scope.setdefault("state", {})["user_id"] = user_id


def request_id_of(scope: Scope) -> str | None:
    state: dict[str, Any] = scope.get("state") or {}
    found = state.get("request_id")
    return str(found) if found else None


def request_id_for(scope: Scope) -> str:
    """The client's `X-Request-ID` when it is a sane token, otherwise a new one."""
    sent = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
    # 32 random hex digits, as uuid4().hex without building the UUID.
    return sent if _SANE.match(sent) else os.urandom(16).hex()


def log_access(scope: HTTPScope, state: dict[str, Any], status: int, started: float) -> None:
    """The access log's line for one request (with access logging on)."""
    access_log.info(
        "%s %s %s", scope["method"], scope.get("path_template") or "-", status,
        extra={"route": scope.get("path_template"), "status": status,
               "user_id": state.get("user_id"),
               "method": scope["method"],
               "duration_ms": round((time.perf_counter() - started) * 1000, 2)})


def request_context(*, access: bool) -> Any:
    """Litestar middleware factory."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            # The hot routes' layer may have given it already, then handed the request on.
            request_id = state["request_id"] = request_id_of(scope) or request_id_for(scope)
            token = request_state_var.set(state)
            started = time.perf_counter()
            status = 500

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    header_list(message).append((b"x-request-id", request_id.encode()))
                await send(message)

            try:
                await app(scope, receive, send_with_id)
            finally:
                if access:
                    log_access(scope, state, status, started)
                request_state_var.reset(token)

        return wrapped

    return middleware
