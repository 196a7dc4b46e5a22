"""The change tracker's locked re-read: the row read under the lock becomes the truth,
and nothing the earlier copy changed or recorded is lost."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import attrs
import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.repositories.tracking import Tracker
from domain.events import Aggregate, DomainEvent

metadata = sa.MetaData()
things = sa.Table("things", metadata, sa.Column("id", sa.Uuid, primary_key=True),
                  sa.Column("name", sa.String(50)))


@attrs.frozen
class Renamed(DomainEvent):
    thing_id: UUID


@attrs.define
class Thing(Aggregate):
    id: UUID
    name: str

    def rename(self, name: str) -> None:
        self.name = name
        self.record(Renamed(self.id))


def from_row(row: sa.RowMapping) -> Thing:
    return Thing(id=row["id"], name=row["name"])


def to_row(thing: Thing) -> dict[str, Any]:
    return {"id": thing.id, "name": thing.name}


def test_a_locked_reread_keeps_the_earlier_copys_changes_and_events() -> None:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    thing_id = uuid4()
    with engine.begin() as conn:
        conn.execute(things.insert().values(id=thing_id, name="first"))
        tracker: Tracker[Thing] = Tracker(Executor(conn), things, to_row)

        def read(locked: bool) -> Thing | None:
            if locked:
                tracker.flush()
            return tracker.load(conn.execute(sa.select(things)).mappings().first(),
                                from_row, locked=locked)

        earlier = read(locked=False)
        assert earlier is not None
        assert read(locked=False) is earlier  # one object per id
        earlier.rename("second")
        fresh = read(locked=True)
        assert fresh is not None and fresh is not earlier
        assert fresh.name == "second"  # the change was written before the read
        assert fresh.events == [Renamed(thing_id)]  # and its event moved over
        assert list(tracker.aggregates()) == [fresh]
        assert read(locked=False) is fresh
        assert read(locked=True) is not None
        assert conn.execute(sa.select(things.c.name)).scalar_one() == "second"
