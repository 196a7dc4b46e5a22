"""What every area's bodies share: strict request bodies, problem details, field types."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta

EmailText = Annotated[str, Meta(min_length=3, max_length=254, description="Email address")]
PasswordText = Annotated[str, Meta(max_length=1024, description="At least 8 characters")]
Token = Annotated[str, Meta(min_length=1, max_length=256)]
Name = Annotated[str, Meta(min_length=1, max_length=255)]
Bio = Annotated[str, Meta(max_length=5000)]
UrlText = Annotated[str, Meta(max_length=2048)]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Request bodies refuse unknown fields: a client cannot slip in role or owner."""


def set_fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually carried (explicit nulls included)."""
    return {
        name: getattr(struct, name)
        for name in struct.__struct_fields__
        if getattr(struct, name) is not UNSET
    }


class ProblemField(msgspec.Struct):
    field: str | None
    message: str
    code: str | None = None


class Problem(msgspec.Struct):
    """RFC 9457 problem details; ``code`` is stable and meant for machines."""

    type: str
    title: str
    status: int
    code: str
    instance: str
    detail: str | None = None
    errors: list[ProblemField] | None = None
    request_id: Annotated[str | None, Meta(description=(
        "This request's id (also the X-Request-ID response header): quote it to support"
    ))] = None


PriceText = Annotated[str, Meta(pattern=r"^\d{1,8}(\.\d{1,2})?$",
                                description="Decimal amount as a string, e.g. \"9.99\"")]
Currency = Annotated[str, Meta(pattern="^[A-Za-z]{3}$")]
