"""Domain events: facts that happened, recorded by aggregates, published after commit.

Each concrete event class registers itself by name so an outbox row can be turned
back into the event that produced it.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

_REGISTRY: dict[str, type[DomainEvent]] = {}


@attrs.frozen
class DomainEvent:
    name: ClassVar[str] = "DomainEvent"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__
        known = _REGISTRY.get(cls.__name__)
        # attrs rebuilds slotted classes, so the same class arrives twice.
        if known is not None and (known.__module__, known.__qualname__) != (
            cls.__module__, cls.__qualname__
        ):
            raise TypeError(f"duplicate domain event name {cls.__name__}")
        _REGISTRY[cls.__name__] = cls


def event_class(name: str) -> type[DomainEvent]:
    try:
        return _REGISTRY[name]
    except KeyError as exc:
        raise LookupError(f"unknown domain event {name!r}") from exc


@attrs.define
class Aggregate:
    """Base for aggregates: keeps the events they record until the unit of work takes them."""

    events: list[DomainEvent] = attrs.field(factory=list, init=False, eq=False, repr=False)

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)
