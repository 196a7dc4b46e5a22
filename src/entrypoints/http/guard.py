"""Input no handler should see: NUL characters anywhere, JSON nested past any real body.

PostgreSQL text cannot hold U+0000, so a NUL that slipped through would surface as a
database error (a 500) far from the edge; here it is a 400 that names the field, on both
databases. Decoding the JSON body here costs nothing extra: Litestar keeps the decoded
value and the handler's own body parsing reuses it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException, SerializationException, ValidationException

NUL = "\x00"
# Handlers marked with this option read their body as bytes (uploads of any size, signed
# webhooks): the guard never decodes it.
RAW_BODY = "raw_body"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MESSAGE = "must not contain the NUL character (U+0000)"


def nul_path(value: Any) -> str | None:
    """Where in a decoded JSON value a NUL appears (``a.b[2]``), or None.

    A loop, not recursion: a document the decoder accepted can never exhaust the stack.
    """
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        current, path = pending.pop()
        if isinstance(current, str):
            if NUL in current:
                return path
        elif isinstance(current, dict):
            for key, item in reversed(current.items()):
                where = f"{path}.{key}" if path else str(key)
                if NUL in str(key):
                    return where
                pending.append((item, where))
        elif isinstance(current, list):
            pending.extend((item, f"{path}[{index}]")
                           for index, item in reversed(list(enumerate(current))))
    return None


def _refuse(field: str, source: str) -> ValidationException:
    return ValidationException(
        detail=f"{field} {_MESSAGE}",
        extra=[{"key": field, "message": _MESSAGE, "source": source}],
    )


async def refuse_unsafe_input(request: Request[Any, Any, Any]) -> None:
    # A path parameter with a NUL names nothing that can exist.
    if NUL in request.scope["path"]:
        raise NotFoundException()
    # The raw query string can only carry a NUL as "%00" or the byte itself: most
    # requests are passed without building the parsed parameters.
    raw_query = request.scope["query_string"]
    if b"%00" in raw_query or b"\x00" in raw_query:
        for key, value in request.query_params.multi_items():
            if NUL in key or NUL in value:
                raise _refuse(key.replace(NUL, "\\0"), "query")
    if request.method not in _BODY_METHODS or request.route_handler.opt.get(RAW_BODY):
        return
    if request.content_type[0] == "application/x-www-form-urlencoded":
        form = await request.form()
        for key, value in form.multi_items():
            if NUL in key or (isinstance(value, str) and NUL in value):
                raise _refuse(key.replace(NUL, "\\0"), "body")
        return
    if request.content_type[0] != "application/json":
        return
    try:
        data = await request.json()
    except RecursionError:
        raise ValidationException(detail="The JSON body is nested too deeply.") from None
    except SerializationException:
        return  # malformed JSON: the handler's own parsing reports it as usual
    where = nul_path(data)
    if where is not None:
        raise _refuse(where.replace(NUL, "\\0") or "body", "body")
