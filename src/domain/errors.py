"""One small error hierarchy with stable machine codes.

Every error a caller can cause or observe is a ``DomainError`` carrying a ``kind``
(what sort of failure, which the edges map once to an HTTP status and a CLI exit
code) and a ``code`` (which failure, stable across releases, for machines).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ErrorKind(enum.Enum):
    VALIDATION = "validation"
    MALFORMED = "malformed"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    PAYMENT_REQUIRED = "payment_required"
    UNAVAILABLE = "unavailable"


class DomainError(Exception):
    kind: ErrorKind = ErrorKind.VALIDATION
    code: str = "error"
    title: str = "Request failed"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.details: dict[str, Any] = dict(details or {})


class ValidationError(DomainError):
    kind = ErrorKind.VALIDATION
    code = "validation.invalid"
    title = "Invalid input"


class NotFound(DomainError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    kind = ErrorKind.CONFLICT
    code = "conflict"
    title = "Conflict"


class Unauthenticated(DomainError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "auth.unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    kind = ErrorKind.FORBIDDEN
    code = "auth.forbidden"
    title = "Forbidden"


class RateLimited(DomainError):
    kind = ErrorKind.RATE_LIMITED
    code = "rate_limited"
    title = "Too many attempts"

    def __init__(self, message: str, *, retry_after_seconds: int, code: str | None = None) -> None:
        super().__init__(message, code=code, details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class Unavailable(DomainError):
    """A dependency is down or a lock could not be taken in time; safe to retry."""

    kind = ErrorKind.UNAVAILABLE
    code = "service.unavailable"
    title = "Temporarily unavailable"


class ConcurrencyConflict(Unavailable):
    """A serialization failure or deadlock: the whole command may simply run again."""

    code = "service.concurrency_conflict"
