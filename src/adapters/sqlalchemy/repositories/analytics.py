"""The event journal and ``analytics_daily``: a day's facts read from the records of each
kind, in grouped statements (never one row per event into Python)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sqlalchemy.executor import Executor
from adapters.sqlalchemy.prepared import Statement
from adapters.sqlalchemy.statements import OncePerCount, numbered, numbered_params
from adapters.sqlalchemy.tables import (
    analytics_daily,
    analytics_runs,
    content,
    content_series,
    credit_packs,
    credit_transactions,
    earnings_entries,
    events,
    offering_bookings,
    offerings,
    purchase_refunds,
    purchases,
    subscription_tiers,
    subscriptions,
)
from adapters.sqlalchemy.types import exact_cents
from domain.analytics.daily import (
    ActivityFact,
    CreditsFact,
    DayFacts,
    Flow,
    MembersFact,
    MoneyFact,
    Row,
    monthly_value,
)
from domain.analytics.journal import EventType, JournalEntry
from domain.analytics.metrics import Metric, Source
from domain.payouts.earnings import ItemRef

_ITEM_FIRST, _ITEM_AFTER = "item:", "item;"  # ';' sorts right after ':'
_ENGAGEMENT = {EventType.CONTENT_VIEWED.value: Metric.VIEWS,
               EventType.CONTENT_PLAYED.value: Metric.PLAYS,
               EventType.CONTENT_COMPLETED.value: Metric.COMPLETIONS}
_BOOKINGS = {EventType.BOOKING_CONFIRMED.value: Metric.BOOKINGS,
             EventType.BOOKING_CANCELED.value: Metric.BOOKINGS_CANCELED}
_ATTENDANCE = {"completed": Metric.ATTENDED, "no_show": Metric.NO_SHOWS}
_MARKS = (EventType.BOOKING_ATTENDED.value, EventType.BOOKING_MISSED.value)



def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


JOURNAL_COLUMNS = ("id", "user_id", "event_type", "event_data", "subject_type", "subject_id",
                   "source_key", "created_at", "recorded_at")


def journal_row(entry: JournalEntry, now: datetime) -> dict[str, Any]:
    return {"id": entry.id, "user_id": entry.user_id, "event_type": entry.event_type.value,
            "event_data": dict(entry.properties), "subject_type": entry.subject_type.value,
            "subject_id": entry.subject_id, "source_key": entry.source_key,
            "created_at": entry.occurred_at, "recorded_at": now}


def journal_insert(execute: Executor, count: int) -> postgresql.Insert | sqlite.Insert:
    return execute.insert(events).values(
        numbered_params(events, JOURNAL_COLUMNS, "j", count)
    ).on_conflict_do_nothing(index_elements=[events.c.source_key])


def _journal_record(execute: Executor, count: int) -> Statement:
    return journal_insert(execute, count).returning(events.c.id)


# Built once per entry count (a commit journals a few at most; more take the usual path).
_JOURNAL_RECORD = OncePerCount(_journal_record, most=8)


class SqlJournal:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    def record(self, entries: Sequence[JournalEntry], now: datetime) -> int:
        if not entries:
            return 0
        rows = [journal_row(entry, now) for entry in entries]
        statement = _JOURNAL_RECORD(self._execute, len(rows))
        if statement is not None:
            return len(self._execute.rows(statement, numbered("j", rows)))
        return self._record_slowly(rows)

    def hold(self, entries: Sequence[JournalEntry], now: datetime) -> None:
        """`record`, sent later with the rest of a commit (`Executor.hold`)."""
        if not entries:
            return
        rows = [journal_row(entry, now) for entry in entries]
        statement = _JOURNAL_RECORD(self._execute, len(rows))
        if statement is not None:
            self._execute.hold(statement, numbered("j", rows))
        else:
            self._record_slowly(rows)

    def _record_slowly(self, rows: list[dict[str, Any]]) -> int:
        insert = self._execute.insert(events).values(rows).on_conflict_do_nothing(
            index_elements=[events.c.source_key])
        return len(self._execute(insert.returning(events.c.id)).all())


class SqlAnalyticsStore:
    def __init__(self, execute: Executor) -> None:
        self._execute = execute

    # --- the run's lock and watermark ------------------------------------------------

    def lock_run(self, name: str) -> datetime | None:
        self._execute(self._execute.insert(analytics_runs).values(
            name=name, watermark=None).on_conflict_do_nothing())
        row = self._execute(
            sa.select(analytics_runs.c.watermark).where(analytics_runs.c.name == name)
            .with_for_update()).one()
        watermark: datetime | None = row.watermark
        return watermark

    def set_watermark(self, name: str, watermark: datetime, now: datetime) -> None:
        self._execute(sa.update(analytics_runs).where(analytics_runs.c.name == name)
                      .values(watermark=watermark, updated_at=now))

    def watermark(self, name: str) -> datetime | None:
        found: datetime | None = self._execute(
            sa.select(analytics_runs.c.watermark).where(analytics_runs.c.name == name)
        ).scalar()
        return found

    def prune_views(self, before: datetime, limit: int) -> int:
        batch = (sa.select(events.c.id)
                 .where(events.c.event_type == EventType.CONTENT_VIEWED.value,
                        events.c.created_at < before)
                 .limit(limit).scalar_subquery())
        return int(self._execute(sa.delete(events).where(events.c.id.in_(batch))).rowcount
                   or 0)

    def _day_of(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        if self._execute.dialect == "postgresql":
            return sa.func.date(sa.func.timezone("UTC", column))
        return sa.func.substr(column, 1, 10)  # stored as UTC ISO text

    def days_written_since(self, since: datetime) -> set[date]:
        happened = sa.select(self._day_of(events.c.created_at)).where(
            events.c.recorded_at >= since).distinct()
        # Attendance counts on the session's day, whenever the host marks it.
        sessions = (
            sa.select(self._day_of(offering_bookings.c.starts_at))
            .select_from(events.join(offering_bookings,
                                     offering_bookings.c.id == events.c.subject_id))
            .where(events.c.recorded_at >= since, events.c.event_type.in_(_MARKS),
                   offering_bookings.c.starts_at.is_not(None)).distinct())
        found = set()
        for statement in (happened, sessions):
            for (value,) in self._execute(statement):
                found.add(value if isinstance(value, date) else date.fromisoformat(value))
        return found

    def first_day(self) -> date | None:
        firsts = [self._execute(sa.select(sa.func.min(column))).scalar()
                  for column in (events.c.created_at, earnings_entries.c.occurred_at,
                                 purchases.c.created_at, credit_transactions.c.created_at)]
        known = [value for value in firsts if value is not None]
        return min(known).date() if known else None

    # --- one day's facts ---------------------------------------------------------------

    def facts(self, day: date) -> DayFacts:
        start, end = _bounds(day)
        return DayFacts(
            day=day,
            money=tuple(self._earnings(start, end) + self._packs(start, end)
                        + self._memberships(start, end)),
            members=tuple(self._members(start, end)),
            credits=self._credits(start, end),
            activity=tuple(self._engagement(start, end) + self._bookings(start, end)
                           + self._attendance(start, end)),
        )

    def _earnings(self, start: datetime, end: datetime) -> list[MoneyFact]:
        e = earnings_entries
        rows = self._execute(
            sa.select(e.c.entry_type, e.c.seller_id, e.c.content_id, e.c.series_id,
                      e.c.offering_id, sa.func.sum(e.c.amount).label("amount"),
                      sa.func.sum(e.c.platform_fee).label("fee"))
            .where(e.c.occurred_at >= start, e.c.occurred_at < end)
            .group_by(e.c.entry_type, e.c.seller_id, e.c.content_id, e.c.series_id,
                      e.c.offering_id))
        facts = []
        for r in rows:
            item = ItemRef(content_id=r.content_id, series_id=r.series_id,
                           offering_id=r.offering_id)
            facts.append(MoneyFact(
                flow=Flow.SALE if r.entry_type == "sale" else Flow.REFUND,
                source=Source(item.kind),
                amount=exact_cents(r.amount), fee=exact_cents(r.fee), seller_id=r.seller_id,
                item_id=r.content_id or r.series_id or r.offering_id))
        return facts

    def _packs(self, start: datetime, end: datetime) -> list[MoneyFact]:
        """Credit packs are the platform's own: no fee, no seller, not in the earnings
        ledger; their purchases and refunds are the record."""
        p, r = purchases, purchase_refunds
        sold = self._execute(
            sa.select(p.c.credit_pack_id, sa.func.sum(p.c.amount_paid).label("amount"))
            .where(p.c.credit_pack_id.is_not(None), p.c.purchased_at >= start,
                   p.c.purchased_at < end, p.c.status.in_(("completed", "refunded")))
            .group_by(p.c.credit_pack_id))
        back = self._execute(
            sa.select(p.c.credit_pack_id, sa.func.sum(r.c.amount).label("amount"))
            .select_from(r.join(p, p.c.id == r.c.purchase_id))
            .where(p.c.credit_pack_id.is_not(None), r.c.created_at >= start,
                   r.c.created_at < end,
                   sa.or_(r.c.status.is_(None), r.c.status.not_in(("failed", "canceled"))))
            .group_by(p.c.credit_pack_id))
        return ([MoneyFact(Flow.SALE, Source.PACK, exact_cents(row.amount),
                           item_id=row.credit_pack_id) for row in sold]
                + [MoneyFact(Flow.REFUND, Source.PACK, exact_cents(row.amount),
                             item_id=row.credit_pack_id) for row in back])

    def _memberships(self, start: datetime, end: datetime) -> list[MoneyFact]:
        paid: dict[UUID | None, Decimal] = defaultdict(Decimal)
        for (data,) in self._execute(
                sa.select(events.c.event_data)
                .where(events.c.event_type == EventType.MEMBERSHIP_PAID.value,
                       events.c.created_at >= start, events.c.created_at < end)):
            tier = data.get("tier_id")
            paid[UUID(tier) if tier else None] += exact_cents(data.get("amount"))
        return [MoneyFact(Flow.SALE, Source.MEMBERSHIP, amount, tier_id=tier)
                for tier, amount in paid.items()]

    def _members(self, start: datetime, end: datetime) -> list[MembersFact]:
        s, t = subscriptions, subscription_tiers
        ended = events.alias("ended")
        started = events.c.event_type == EventType.MEMBERSHIP_STARTED.value
        active = self._execute(
            sa.select(s.c.tier_id, s.c.billing_period, t.c.price_monthly, t.c.price_yearly,
                      sa.func.count().label("n"))
            .select_from(events.join(s, s.c.id == events.c.subject_id)
                         .join(t, t.c.id == s.c.tier_id))
            .where(started, events.c.created_at < end, ~sa.exists(
                sa.select(1).where(ended.c.event_type == EventType.MEMBERSHIP_ENDED.value,
                                   ended.c.subject_id == events.c.subject_id,
                                   ended.c.created_at < end)))
            .group_by(s.c.tier_id, s.c.billing_period, t.c.price_monthly, t.c.price_yearly))
        counts: dict[UUID, list[Any]] = defaultdict(lambda: [0, Decimal(0), 0, 0])
        for r in active:
            monthly = monthly_value(r.billing_period, exact_cents(r.price_monthly),
                                    exact_cents(r.price_yearly))
            counts[r.tier_id][0] += r.n
            counts[r.tier_id][1] += monthly * r.n
        joined_or_left = self._execute(
            sa.select(s.c.tier_id, events.c.event_type, sa.func.count().label("n"))
            .select_from(events.join(s, s.c.id == events.c.subject_id))
            .where(events.c.event_type.in_((EventType.MEMBERSHIP_STARTED.value,
                                            EventType.MEMBERSHIP_ENDED.value)),
                   events.c.created_at >= start, events.c.created_at < end)
            .group_by(s.c.tier_id, events.c.event_type))
        for r in joined_or_left:
            counts[r.tier_id][2 if r.event_type == EventType.MEMBERSHIP_STARTED.value
                              else 3] += r.n
        return [MembersFact(tier, active=v[0], mrr=v[1], started=v[2], ended=v[3])
                for tier, v in counts.items()]

    def _credits(self, start: datetime, end: datetime) -> CreditsFact:
        c = credit_transactions
        return CreditsFact.from_totals({r.type: int(r.total or 0) for r in self._execute(
            sa.select(c.c.type, sa.func.sum(c.c.amount).label("total"))
            .where(c.c.created_at >= start, c.c.created_at < end).group_by(c.c.type))})

    def _engagement(self, start: datetime, end: datetime) -> list[ActivityFact]:
        counted = (
            sa.select(events.c.event_type, events.c.subject_id, sa.func.count().label("n"))
            .where(events.c.event_type.in_(list(_ENGAGEMENT)), events.c.created_at >= start,
                   events.c.created_at < end)
            .group_by(events.c.event_type, events.c.subject_id).subquery())
        rows = self._execute(
            sa.select(counted.c.event_type, counted.c.subject_id, counted.c.n,
                      content.c.creator_id)
            .select_from(counted.outerjoin(content, content.c.id == counted.c.subject_id)))
        return [ActivityFact(_ENGAGEMENT[r.event_type], r.subject_id, r.creator_id, r.n)
                for r in rows]

    def _bookings(self, start: datetime, end: datetime) -> list[ActivityFact]:
        b, o = offering_bookings, offerings
        rows = self._execute(
            sa.select(events.c.event_type, b.c.offering_id, o.c.creator_id,
                      sa.func.count().label("n"))
            .select_from(events.join(b, b.c.id == events.c.subject_id)
                         .join(o, o.c.id == b.c.offering_id))
            .where(events.c.event_type.in_(list(_BOOKINGS)), events.c.created_at >= start,
                   events.c.created_at < end)
            .group_by(events.c.event_type, b.c.offering_id, o.c.creator_id))
        return [ActivityFact(_BOOKINGS[r.event_type], r.offering_id, r.creator_id, r.n)
                for r in rows]

    def _attendance(self, start: datetime, end: datetime) -> list[ActivityFact]:
        b, o = offering_bookings, offerings
        rows = self._execute(
            sa.select(b.c.status, b.c.offering_id, o.c.creator_id, sa.func.count().label("n"))
            .select_from(b.join(o, o.c.id == b.c.offering_id))
            .where(b.c.status.in_(list(_ATTENDANCE)), b.c.starts_at >= start,
                   b.c.starts_at < end)
            .group_by(b.c.status, b.c.offering_id, o.c.creator_id))
        return [ActivityFact(_ATTENDANCE[r.status], r.offering_id, r.creator_id, r.n)
                for r in rows]

    # --- writing and reading the daily rows -----------------------------------------------

    def replace_day(self, day: date, rows: Sequence[Row], now: datetime,
                    keep: frozenset[Metric] = frozenset()) -> None:
        kept = [m.value for m in keep]
        self._execute(sa.delete(analytics_daily).where(
            analytics_daily.c.day == day, analytics_daily.c.metric.not_in(kept)))
        written = [row for row in rows if row.metric not in keep]
        if written:
            self._execute(sa.insert(analytics_daily), [
                {"day": row.day, "metric": row.metric.value, "dimension": row.dimension,
                 "value": row.value, "updated_at": now} for row in written])

    def daily(self, metrics: Iterable[Metric], dimension: str, first: date, last: date
              ) -> Mapping[Metric, Mapping[date, Decimal]]:
        a = analytics_daily
        found: dict[Metric, dict[date, Decimal]] = defaultdict(dict)
        for r in self._execute(
                sa.select(a.c.metric, a.c.day, a.c.value)
                .where(a.c.metric.in_([m.value for m in metrics]),
                       a.c.dimension == dimension, a.c.day >= first, a.c.day <= last)):
            found[Metric(r.metric)][r.day] = exact_cents(r.value)
        return found

    def by_item(self, metrics: Iterable[Metric], first: date, last: date
                ) -> Mapping[UUID, Mapping[Metric, Decimal]]:
        a = analytics_daily
        found: dict[UUID, dict[Metric, Decimal]] = defaultdict(dict)
        for r in self._execute(
                sa.select(a.c.dimension, a.c.metric, sa.func.sum(a.c.value).label("total"))
                .where(a.c.metric.in_([m.value for m in metrics]),
                       a.c.dimension >= _ITEM_FIRST, a.c.dimension < _ITEM_AFTER,
                       a.c.day >= first, a.c.day <= last)
                .group_by(a.c.dimension, a.c.metric)):
            found[UUID(r.dimension[len(_ITEM_FIRST):])][Metric(r.metric)] = exact_cents(r.total)
        return found

    def items_of(self, seller_id: UUID) -> Mapping[UUID, tuple[str, str]]:
        return self._named(lambda table: table.c.creator_id == seller_id, packs=False)

    def titles(self, item_ids: Iterable[UUID]) -> Mapping[UUID, tuple[str, str]]:
        wanted = list(item_ids)
        if not wanted:
            return {}
        return self._named(lambda table: table.c.id.in_(wanted), packs=True)

    def _named(self, where: Any, *, packs: bool) -> dict[UUID, tuple[str, str]]:
        named: dict[UUID, tuple[str, str]] = {}
        kinds = [("content", content, content.c.title), ("series", content_series,
                                                          content_series.c.title),
                 ("offering", offerings, offerings.c.title)]
        if packs:
            kinds.append(("pack", credit_packs, credit_packs.c.name))
        for kind, table, title in kinds:
            for r in self._execute(sa.select(table.c.id, title.label("title"))
                                   .where(where(table))):
                named[r.id] = (kind, r.title)
        return named
