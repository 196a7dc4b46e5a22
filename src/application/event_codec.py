"""Turning domain events into JSON-safe payloads for the outbox, and back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from domain.events import DomainEvent, event_class


def _dump(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def _load(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    text = str(kind)
    if kind is UUID or text.startswith("uuid.UUID") or "UUID" in text:
        return UUID(value)
    if kind is datetime or "datetime" in text:
        return datetime.fromisoformat(value)
    if kind is Decimal or "Decimal" in text:
        return Decimal(value)
    return value


def encode(event: DomainEvent) -> dict[str, Any]:
    return {f.name: _dump(getattr(event, f.name)) for f in attrs.fields(type(event))}


def decode(name: str, payload: dict[str, Any]) -> DomainEvent:
    cls = event_class(name)
    attrs.resolve_types(cls)
    kwargs = {f.name: _load(f.type, payload.get(f.name)) for f in attrs.fields(cls)}
    return cls(**kwargs)
