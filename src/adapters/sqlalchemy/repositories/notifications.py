"""Notifications: an inbox per person, unread first, and their channel per kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.statements import OncePerDialect, params
from adapters.sqlalchemy.tables import notification_preferences, notifications
from application.ports.notifications import InboxCursor
from domain.notifications.kinds import Channel, Kind, Notification

n = notifications
_UNREAD = sa.case((n.c.read_at.is_(None), 1), else_=0)


def _note(r: sa.RowMapping) -> Notification:
    return Notification(id=r["id"], user_id=r["user_id"], kind=Kind(r["type"]),
                        title=r["title"], message=r["message"], created_at=r["created_at"],
                        source_key=r["source_key"] or "", action_url=r["action_url"],
                        action_label=r["action_label"], read_at=r["read_at"])


def _add(execute: Executor) -> Statement:
    # Keyed by what made it: an event handled twice leaves one notification.
    return (execute.insert(n).values(**params(
        n, "id", "user_id", "type", "title", "message", "action_url", "action_label",
        "created_at", "source_key"))
        .on_conflict_do_nothing(index_elements=[n.c.source_key]).returning(n.c.id))


# Every purchase, booking and membership change writes one, after reading the person's
# channels: both built once (decision 9).
_ADD = OncePerDialect(_add)
_PREFERENCES = sa.select(notification_preferences.c.kind,
                         notification_preferences.c.channel).where(
    notification_preferences.c.user_id == sa.bindparam(
        "user_id", type_=notification_preferences.c.user_id.type))


class SqlNotificationRepository:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def add(self, note: Notification) -> bool:
        return bool(self._execute.rows(_ADD(self._execute), {
            "id": note.id, "user_id": note.user_id, "type": note.kind.value,
            "title": note.title, "message": note.message, "action_url": note.action_url,
            "action_label": note.action_label, "created_at": note.created_at,
            "source_key": note.source_key}))

    def inbox(self, user_id: UUID, *, after: InboxCursor | None, limit: int
              ) -> Sequence[Notification]:
        query = (sa.select(n).where(n.c.user_id == user_id, n.c.type.in_([k.value for k in Kind]))
                 .order_by(_UNREAD.desc(), n.c.created_at.desc(), n.c.id.desc()).limit(limit))
        if after is not None:
            older = sa.tuple_(n.c.created_at, n.c.id) < sa.tuple_(
                sa.literal(after.created_at, n.c.created_at.type),
                sa.literal(after.id, n.c.id.type))
            # Past an unread one: the older unread ones, then every read one.
            query = query.where(sa.or_(sa.and_(n.c.read_at.is_(None), older),
                                       n.c.read_at.is_not(None)) if after.unread
                                else sa.and_(n.c.read_at.is_not(None), older))
        return [_note(r) for r in self._execute(query).mappings()]

    def unread_count(self, user_id: UUID) -> int:
        return int(self._execute(sa.select(sa.func.count()).select_from(n).where(
            n.c.user_id == user_id, n.c.read_at.is_(None),
            n.c.type.in_([k.value for k in Kind]))).scalar_one())

    def mark_read(self, user_id: UUID, notification_id: UUID, now: datetime) -> bool | None:
        found = self._execute(sa.select(n.c.read_at).where(
            n.c.id == notification_id, n.c.user_id == user_id)).first()
        if found is None:
            return None
        if found.read_at is not None:
            return False
        done = self._execute(sa.update(n).where(n.c.id == notification_id,
                                                n.c.read_at.is_(None))
                             .values(read_at=now).returning(n.c.id)).first()
        return done is not None

    def mark_all_read(self, user_id: UUID, now: datetime) -> int:
        return len(self._execute(sa.update(n).where(n.c.user_id == user_id,
                                                    n.c.read_at.is_(None))
                                 .values(read_at=now).returning(n.c.id)).all())

    def preferences(self, user_id: UUID) -> Mapping[Kind, Channel]:
        known = {k.value for k in Kind}
        return {Kind(r["kind"]): Channel(r["channel"])
                for r in self._execute.rows(_PREFERENCES, {"user_id": user_id})
                if r["kind"] in known}

    def set_preferences(self, user_id: UUID, chosen: Mapping[Kind, Channel],
                        now: datetime) -> None:
        p = notification_preferences
        for kind, channel in chosen.items():
            insert = self._execute.insert(p).values(user_id=user_id, kind=kind.value,
                                                    channel=channel.value, updated_at=now)
            self._execute(insert.on_conflict_do_update(
                index_elements=[p.c.user_id, p.c.kind],
                set_={"channel": insert.excluded.channel, "updated_at": now}))
