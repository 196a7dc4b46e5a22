"""The outbox event codec and the UUIDv7 id generator."""

from __future__ import annotations

import inspect
import itertools
import json
import time
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import domain.identity.events as identity_events
from adapters.system.ids import UUIDv7Generator
from application.event_codec import decode, encode
from domain.events import DomainEvent

IDENTITY_EVENTS: list[type[DomainEvent]] = sorted(
    (
        cls
        for _, cls in inspect.getmembers(identity_events, inspect.isclass)
        if issubclass(cls, DomainEvent) and cls.__module__ == identity_events.__name__
    ),
    key=lambda cls: cls.__name__,
)

_FIELD_STRATEGIES: dict[Any, st.SearchStrategy[Any]] = {
    uuid.UUID: st.uuids(),
    str: st.text(),
}


def event_strategy(cls: type[DomainEvent]) -> st.SearchStrategy[DomainEvent]:
    attrs.resolve_types(cls)
    fields = {f.name: _FIELD_STRATEGIES[f.type] for f in attrs.fields(cls)}
    return st.builds(cls, **fields)


def test_every_identity_event_is_covered() -> None:
    names = {cls.__name__ for cls in IDENTITY_EVENTS}
    assert {
        "UserRegistered", "EmailVerificationRequested", "EmailVerified",
        "RegistrationAttemptedForExistingEmail", "PasswordResetRequested", "PasswordChanged",
        "UserDisabled", "AccountDeleted", "RoleChanged",
    } <= names
    for cls in IDENTITY_EVENTS:
        assert cls.name == cls.__name__


@pytest.mark.parametrize("cls", IDENTITY_EVENTS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_event_round_trips_through_json(cls: type[DomainEvent], data: st.DataObject) -> None:
    event = data.draw(event_strategy(cls))
    payload = encode(event)
    text = json.dumps(payload)
    assert set(payload) == {f.name for f in attrs.fields(cls)}
    assert decode(event.name, payload) == event
    decoded = decode(event.name, json.loads(text))
    assert decoded == event
    assert type(decoded) is cls


def test_role_changed_payload_shape() -> None:
    user_id = uuid.UUID("0190c0de-0000-7000-8000-000000000001")
    event = identity_events.RoleChanged(user_id=user_id, old_role="customer",
                                        new_role="media_owner")
    payload = encode(event)
    assert payload == {"user_id": str(user_id), "old_role": "customer",
                       "new_role": "media_owner"}
    assert decode("RoleChanged", payload) == event


@pytest.mark.parametrize("name", ["NoSuchEvent", "", "userregistered"])
def test_decode_unknown_event_raises_lookup_error(name: str) -> None:
    with pytest.raises(LookupError):
        decode(name, {"user_id": str(uuid.uuid4())})


# -- UUIDv7Generator ---------------------------------------------------------------------


def _timestamp_ms(value: uuid.UUID) -> int:
    return value.int >> 80


def test_uuid7_version_and_variant() -> None:
    generator = UUIDv7Generator()
    for _ in range(100):
        value = generator.new_id()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert (value.int >> 76) & 0xF == 7
        assert (value.int >> 62) & 0b11 == 0b10


def test_uuid7_strictly_increasing_and_unique() -> None:
    generator = UUIDv7Generator()
    ids = [generator.new_id() for _ in range(10_000)]
    ints = [value.int for value in ids]
    assert all(a < b for a, b in itertools.pairwise(ints))
    assert len(set(ids)) == len(ids)
    # Fixed-width hex, so the text form sorts the same way (index locality for text keys).
    assert [str(v) for v in ids] == sorted(str(v) for v in ids)


def test_uuid7_timestamp_is_current() -> None:
    generator = UUIDv7Generator()
    before = time.time()
    ids = [generator.new_id() for _ in range(1_000)]
    after = time.time()
    for value in (ids[0], ids[-1]):
        seconds = _timestamp_ms(value) / 1000
        assert before - 1 <= seconds <= after + 1


def test_uuid7_generators_are_independent_but_time_ordered() -> None:
    first = UUIDv7Generator().new_id()
    time.sleep(0.005)
    second = UUIDv7Generator().new_id()
    assert _timestamp_ms(first) < _timestamp_ms(second)
    assert first.int < second.int
