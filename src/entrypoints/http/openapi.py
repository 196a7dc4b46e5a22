"""OpenAPI descriptions of the problem responses every operation can return."""

from __future__ import annotations

from litestar.openapi import ResponseSpec

from entrypoints.http.problems import PROBLEM_JSON
from entrypoints.http.schemas.common import Problem

# Deepest page a listing serves by offset; past it, narrow the query. Keeps every integer
# parameter inside a documented range (and far inside a 64-bit column).
MAX_OFFSET = 1_000_000

_MEANING = {
    400: "Malformed request: bad JSON, wrong types, unknown or over-long fields",
    401: "Missing, invalid or expired session token; wrong credentials",
    402: "The payment was declined",
    403: "Authenticated but not allowed",
    404: "No such resource",
    409: "Conflicts with existing data",
    422: "Well-formed but invalid values",
    429: "Too many attempts; see Retry-After",
    503: "Temporarily unavailable; safe to retry (see Retry-After)",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_MEANING[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


PUBLIC = problems(400, 422, 429, 503)
AUTHENTICATED = problems(400, 401, 403, 404, 422, 503)
OWNER = problems(400, 401, 403, 404, 409, 422, 503)
