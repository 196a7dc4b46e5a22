from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.tables import content


class SqlContentLookup:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def published_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        wanted = list(ids)
        if not wanted:
            return set()
        rows = self._execute(
            sa.select(content.c.id).where(
                content.c.id.in_(wanted),
                content.c.status == "published",
                content.c.deleted_at.is_(None),
            )
        ).scalars()
        return set(rows)
