"""OpenAPI descriptions of the problem responses every operation can return."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Reference, Schema

from entrypoints.http.problems import PROBLEM_JSON
from entrypoints.http.schemas.common import Problem, Strict

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
    413: "The request body is larger than this route accepts",
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


def _strict_bodies() -> list[type[Strict]]:
    found: list[type[Strict]] = []
    pending = list(Strict.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _lower_bound(field_schema: dict[str, Any]) -> Any:
    for option in [field_schema, *field_schema.get("anyOf", [])]:
        if "minimum" in option:
            return option["minimum"]
    return None


def mark_closed_bodies(app: Litestar) -> None:
    """Say in the schema what the server enforces on request bodies.

    They refuse unknown fields (``additionalProperties: false``), their lower bounds
    hold for optional fields too (Litestar 2.25 drops a ``minimum`` of 0 there; msgspec's
    own schema of the same body has it), and any route that takes a body may answer 413.
    """
    schema = app.openapi_schema
    too_large = OpenAPIResponse(description=_MEANING[413], content={
        PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))})
    for item in (schema.paths or {}).values():
        for operation in (item.post, item.put, item.patch, item.delete):
            if operation is not None and operation.request_body is not None:
                operation.responses = {**(operation.responses or {}), "413": too_large}
    components = schema.components.schemas if schema.components else None
    bodies = _strict_bodies()
    _, reference = msgspec.json.schema_components(bodies)
    for cls in bodies:
        component = (components or {}).get(cls.__name__)
        if component is None:
            continue
        component.additional_properties = False
        expected = reference.get(cls.__name__, {}).get("properties", {})
        for name, prop in (component.properties or {}).items():
            bound = _lower_bound(expected.get(name, {}))
            if bound is not None and isinstance(prop, Schema) and prop.minimum is None:
                prop.minimum = bound
