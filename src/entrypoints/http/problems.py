"""RFC 9457 problem+json: the one mapping from errors to HTTP responses."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from domain.errors import DomainError, ErrorKind, RateLimited
from entrypoints.http.request_context import request_id_for, request_id_of

log = logging.getLogger("patronage.http")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.VALIDATION: 422,
    ErrorKind.MALFORMED: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.PAYMENT_REQUIRED: 402,
    ErrorKind.UNAVAILABLE: 503,
}

_HTTP_CODES = {
    400: "request.invalid",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "http.not_found",
    405: "http.method_not_allowed",
    406: "http.not_acceptable",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    429: "rate_limited",
}


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:patronage:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
        "instance": request.url.path,
    }
    request_id = request_id_of(request.scope)
    if request_id is None:
        # A routing error (no such path, a method the path does not take): Litestar
        # answers it before any middleware runs, so the id is given here.
        request_id = request.scope.setdefault("state", {})["request_id"] = request_id_for(
            request.scope)
        headers = {**(headers or {}), "X-Request-ID": request_id}
    body["request_id"] = request_id
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if extra:
        # Details add to a problem; they never overwrite its standard members.
        for name, value in extra.items():
            body.setdefault(name, value)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not isinstance(exc, DomainError):
        return internal_error(request, exc)
    status = STATUS_BY_KIND[exc.kind]
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    elif exc.kind is ErrorKind.UNAVAILABLE:
        headers["Retry-After"] = "1"
    elif exc.kind is ErrorKind.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = "Bearer"
    errors = None
    if exc.field:
        errors = [{"field": exc.field, "message": exc.message, "code": exc.code}]
    return problem(
        request,
        status=status,
        code=exc.code,
        title=exc.title,
        detail=exc.message,
        errors=errors,
        headers=headers,
        extra=exc.details or None,
    )


def validation_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not isinstance(exc, ValidationException):
        return internal_error(request, exc)
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {
                    "field": item.get("key") or None,
                    "message": str(item.get("message", "invalid")),
                    "source": item.get("source"),
                }
            )
    return problem(
        request,
        status=400,
        code="request.invalid",
        title="Invalid request",
        detail=_client_detail(exc.detail),
        errors=errors or None,
    )


def http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if not isinstance(exc, HTTPException):
        return internal_error(request, exc)
    status = exc.status_code
    if status >= 500:
        return internal_error(request, exc)
    code = _HTTP_CODES.get(status, f"http.{status}")
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = _client_detail(exc.detail)
    return problem(
        request,
        status=status,
        code=code,
        title=title,
        detail=detail if detail != title else None,
        headers=dict(exc.headers or {}),
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The client learns nothing about the internals; the log keeps the traceback.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        request,
        status=500,
        code="internal",
        title="Internal server error",
        detail="Something went wrong on our side. It has been logged.",
    )


def _client_detail(detail: str | None) -> str:
    text = (detail or "").strip()
    return text[:300]


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}
