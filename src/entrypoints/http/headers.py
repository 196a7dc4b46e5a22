"""Security headers on every response, decided once for the whole app.

- `nosniff`, no referrer, no framing anywhere (`X-Frame-Options` and CSP
  `frame-ancestors`);
- a CSP that allows nothing for API and media responses, and only same-origin
  scripts and styles for the docs UI (its inline start-up script included);
- HSTS when the public URL is https;
- `Cache-Control: no-store` on responses to authenticated requests and on the auth
  routes, unless a handler chose its own caching.

A `before_send` hook rather than a middleware: it sees every response, the router's
own 404 and 405 answers included.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
DOCS_CDN_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https:; "
                "style-src 'self' 'unsafe-inline' https:; img-src 'self' data: https:; "
                "font-src 'self' https:; connect-src 'self' https:; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
_ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY"}
_PRIVATE_PREFIXES = ("/api/v1/auth", "/api/v1/me")


def _raw(name: str, value: str) -> tuple[bytes, bytes]:
    return name.lower().encode("latin-1"), value.encode("latin-1")


def security_headers(*, https: bool, docs_cdn: bool = False) -> Any:
    # Every response passes here: the headers are encoded once, and the response's
    # raw header list is read once (a header a handler set itself is kept).
    always = [_raw(name, value) for name, value in _ALWAYS.items()]
    api_csp = _raw("Content-Security-Policy", API_CSP)
    docs_csp = _raw("Content-Security-Policy", DOCS_CDN_CSP if docs_cdn else DOCS_CSP)
    hsts = _raw("Strict-Transport-Security", HSTS)
    no_store = _raw("Cache-Control", "no-store")

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        if scope.get("method") == "OPTIONS":
            headers = MutableScopeHeaders.from_message(message)
            if "Allow" in headers:
                _correct_allow(headers, scope)
        raw = header_list(message)
        present = {name.lower() for name, _ in raw}
        raw.extend(pair for pair in always if pair[0] not in present)
        path: str = scope.get("path", "")
        if b"content-security-policy" not in present:
            raw.append(docs_csp if path.startswith("/schema") else api_csp)
        if https:
            raw[:] = [pair for pair in raw if pair[0].lower() != hsts[0]]
            raw.append(hsts)
        if b"cache-control" not in present and (path.startswith(_PRIVATE_PREFIXES) or any(
                name == b"authorization" for name, _ in scope.get("headers", ()))):
            raw.append(no_store)

    return add_headers


def header_list(message: Message) -> list[tuple[bytes, bytes]]:
    """The response's headers as the list ASGI servers read, ready to extend."""
    found: Any = message.get("headers")
    if isinstance(found, list):
        return found
    raw: list[tuple[bytes, bytes]] = list(found or ())
    message["headers"] = raw  # type: ignore[typeddict-unknown-key]
    return raw


def _correct_allow(headers: MutableScopeHeaders, scope: Scope) -> None:
    # Litestar 2.25 answers OPTIONS with the methods of the first handler registered on a
    # path when a controller has several; list every method the path really serves.
    app = scope["litestar_app"]
    served = app.state.get(_ALLOW_KEY)
    if served is None:
        # Templates in the scope carry no ":uuid"-style types; the handler map's do.
        served = app.state[_ALLOW_KEY] = {
            _UNTYPED.sub("}", path): frozenset(methods)
            for path, methods in app.route_handler_method_map.items()}
    methods = served.get(scope.get("path_template") or "")
    if methods:
        headers["Allow"] = ", ".join(sorted({*methods, "OPTIONS"}))


_UNTYPED = re.compile(r":\w+}")
_ALLOW_KEY = "patronage_allow_by_path"
