"""Analytics end to end on PostgreSQL and on SQLite: a week of sales, refunds, a
membership, credits, bookings with attendance, views and plays goes through the journal
into analytics_daily, and the admin and studio routes read it back. The totals reconcile
with purchases, refunds, bookings and the credit ledger; re-running a day changes
nothing; a late event re-opens its day; two creators see only their own; parallel runs
agree."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy import migrate
from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.tables import (
    analytics_daily,
    content,
    credit_transactions,
    events,
    offering_bookings,
    purchase_refunds,
    purchases,
)
from application.analytics.aggregation import AggregateAnalytics, AggregationReport
from application.analytics.journal import viewed
from application.analytics.retention import PruneViews
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.errors import Conflict, ValidationError
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers
from tests.integration.conftest import FAST_ARGON2
from tests.unit.fakes.system import FrozenClock

Client = TestClient[Litestar]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
DAY1, DAY2, SESSION_DAY = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 8)
WEEK = "from=2026-12-01&to=2026-12-08"
CARD = "4242424242424242"
CLASS = {
    "title": "Tuesday strength class", "offering_type": "recurring_fixed",
    "schedule": {"pattern": "weekly", "day": "tuesday", "time": "18:00",
                 "duration_minutes": 60, "start_date": "2026-12-08", "count": 4},
    "capacity_type": "small_group", "max_participants": 5, "delivery_method": "online",
    "join_url": "https://meet.example.com/strength", "price": "15.00", "credit_cost": 2,
    "timezone": "UTC", "payment_options": {"pay_per_session": True},
}


class Platform:
    def __init__(self, patronage: Patronage, client: Client, clock: FrozenClock) -> None:
        self.patronage, self.client, self.clock = patronage, client, clock
        self._tokens: dict[str, Headers] = {}
        for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                            ("host@example.com", Role.PLATFORM_CREATOR),
                            ("maya@example.com", Role.MEDIA_OWNER),
                            ("ann@example.com", Role.CUSTOMER),
                            ("bob@example.com", Role.CUSTOMER),
                            ("cat@example.com", Role.CUSTOMER)):
            patronage.handle(CreateUser(actor=Principal.system(), email=email,
                                        password=PASSWORD, role=role, verified=True,
                                        full_name=email.split("@")[0].title()))

    def auth(self, who: str) -> Headers:
        if who not in self._tokens:
            response = self.client.post("/api/v1/auth/login", json={
                "email": f"{who}@example.com", "password": PASSWORD})
            assert response.status_code == 200, response.text
            self._tokens[who] = {"Authorization": f"Bearer {response.json()['token']}"}
        return dict(self._tokens[who])

    def move_to(self, when: datetime) -> None:
        self.clock.advance(seconds=(when - self.clock.now()).total_seconds())
        self._tokens.clear()

    def post(self, path: str, who: str | None, body: Any = None) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.auth(who) if who else {})

    def get(self, path: str, who: str | None) -> httpx.Response:
        return self.client.get(path, headers=self.auth(who) if who else {})

    def ok(self, response: httpx.Response, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    def item(self, who: str, title: str, *, price: str | None = "10.00",
             kind: str = "written") -> dict[str, Any]:
        fields: dict[str, Any] = {"title": title, "content_type": kind}
        if kind == "written":
            fields |= {"visibility": "purchased_only", "price": price,
                       "body_html": "<p>The whole essay.</p>"}
        else:
            fields |= {"visibility": "public"}
        made = self.ok(self.post("/api/v1/studio/content", who, fields), 201)
        if kind != "written":
            with self.patronage.engine.begin() as conn:  # as if its file were uploaded
                conn.execute(sa.update(content).where(content.c.id == UUID(made["id"]))
                             .values(media_url="videos/talk.mp4", media_duration_seconds=100))
        return self.ok(self.post(f"/api/v1/studio/content/{made['id']}/publish", who))

    def aggregate(self, first: date | None = None, last: date | None = None
                  ) -> AggregationReport:
        report: AggregationReport = self.patronage.handle(
            AggregateAnalytics(actor=Principal.system(), first=first, last=last))
        return report

    def series(self, metric: str, query: str = WEEK, who: str = "owner",
               studio: bool = False) -> dict[str, Any]:
        where = "studio" if studio else "admin"
        return self.ok(self.get(f"/api/v1/{where}/analytics?metric={metric}&{query}", who))

    def by_day(self, metric: str, query: str = WEEK, **kwargs: Any) -> dict[str, str]:
        return {p["period"]: p["value"] for p in self.series(metric, query, **kwargs)["points"]
                if Decimal(p["value"]) != 0}

    def rows(self) -> list[tuple[date, str, str, Decimal]]:
        with self.patronage.engine.connect() as conn:
            return [(r.day, r.metric, r.dimension, Decimal(r.value)) for r in conn.execute(
                sa.select(analytics_daily).order_by(analytics_daily.c.day,
                                                    analytics_daily.c.metric,
                                                    analytics_daily.c.dimension))]

    def scalar(self, statement: sa.Executable) -> Any:
        with self.patronage.engine.connect() as conn:
            return conn.execute(statement).scalar_one()


@pytest.fixture(params=["postgresql", "sqlite"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    """The same story on both databases: the embedded default must add up the same."""
    if request.param == "postgresql":
        settings: Settings = request.getfixturevalue("settings")
        engine: sa.Engine = request.getfixturevalue("clean_db")
    else:
        url = f"sqlite:///{tmp_path}/patronage.db"
        migrate.upgrade(url)
        engine = create_engine(url)
        settings = Settings(data_dir=tmp_path / "var", database_url=url,
                            public_url="https://studio.example.com")
    clock = FrozenClock(T0)
    app = bootstrap(settings, engine=engine, hasher=Argon2PasswordHasher(**FAST_ARGON2),
                    clock=clock)
    with TestClient(app=create_app(app)) as client:
        yield Platform(app, client, clock)
    app.dispatcher.close()
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture
def week(platform: Platform) -> dict[str, Any]:
    """Day 1: two sales (one a media owner's), two views, three plays and a completion,
    a membership with its credits, two bookings (card, credits). Day 2: a partial and a
    full refund. Session day: one attended, one no-show."""
    p = platform
    essay = p.item("owner", "The owner's essay", price="10.00")
    p.ok(p.post("/api/v1/studio/payouts/onboarding", "maya"))
    notes = p.item("maya", "Maya's field notes", price="20.00")
    talk = p.item("owner", "A free talk", price=None, kind="video")
    bought_essay = p.ok(p.post("/api/v1/purchases", "ann", {
        "content_id": essay["id"], "payment_method": CARD}), 201)
    bought_notes = p.ok(p.post("/api/v1/purchases", "bob", {
        "content_id": notes["id"], "payment_method": CARD}), 201)
    assert {bought_essay["status"], bought_notes["status"]} == {"completed"}
    p.ok(p.get(f"/api/v1/content/{essay['slug']}", None))  # a visitor
    p.ok(p.get(f"/api/v1/content/{essay['slug']}", "ann"))
    p.ok(p.get(f"/api/v1/content/{essay['slug']}", "ann"))  # same hour: one view
    for who, at in (("ann", 10), ("ann", 50), ("ann", 99), ("bob", 10), ("bob", 20)):
        p.ok(p.client.put(f"/api/v1/content/{talk['id']}/progress",
                          json={"position_seconds": at}, headers=p.auth(who)))
    tier = p.ok(p.post("/api/v1/admin/tiers", "owner", {
        "name": "Gold", "price_monthly": "12.00", "monthly_credits": 4}), 201)
    p.ok(p.post("/api/v1/subscriptions", "cat", {"tier_id": tier["id"],
                                                 "billing_period": "monthly",
                                                 "payment_method": CARD}), 201)
    made = p.ok(p.post("/api/v1/studio/offerings", "host", CLASS), 201)["offering"]
    p.ok(p.post(f"/api/v1/studio/offerings/{made['id']}/publish", "host"))
    session = p.ok(p.get(f"/api/v1/offerings/{made['slug']}/sessions", None)
                   )["sessions"][0]["starts_at"]
    by_card = p.ok(p.post("/api/v1/bookings", "ann", {
        "offering_id": made["id"], "payment_method": "purchase", "starts_at": session,
        "card": CARD}), 201)
    by_credits = p.ok(p.post("/api/v1/bookings", "cat", {
        "offering_id": made["id"], "payment_method": "credits", "starts_at": session}), 201)
    p.patronage.wait_for_events()

    p.move_to(T0 + timedelta(days=1))
    for purchase, amount in ((bought_essay, "4.00"), (bought_notes, None)):
        body = {"reason": "Asked for it"} | ({"amount": amount} if amount else {})
        p.ok(p.post(f"/api/v1/admin/purchases/{purchase['purchase_id']}/refund", "owner",
                    body))

    p.move_to(datetime(2026, 12, 8, 19, 30, tzinfo=UTC))
    for booking, status in ((by_card, "completed"), (by_credits, "no_show")):
        p.ok(p.post(f"/api/v1/bookings/{booking['id']}/mark", "host", {"status": status}))
    p.patronage.wait_for_events()
    return {"essay": essay, "notes": notes, "talk": talk, "tier": tier, "klass": made,
            "by_card": by_card, "by_credits": by_credits}


def test_a_week_adds_up_by_day_source_seller_and_item(platform: Platform,
                                                      week: dict[str, Any]) -> None:
    p = platform
    report = p.aggregate()
    assert report.days[0] == DAY1 and report.days[-1] == SESSION_DAY and report.rows > 0

    assert p.by_day("revenue_gross") == {"2026-12-01": "57.00"}  # 10 + 20 + 12 + 15
    assert p.by_day("revenue_refunds") == {"2026-12-02": "24.00"}
    assert p.by_day("revenue_fees") == {"2026-12-01": "6.00", "2026-12-02": "-6.00"}  # 30 % of 20
    assert p.by_day("revenue_net") == {"2026-12-01": "51.00", "2026-12-02": "-18.00"}
    by_source = {source: p.series("revenue_gross", f"{WEEK}&dimension=source:{source}"
                                  )["total"]
                 for source in ("content", "series", "pack", "membership", "offering")}
    assert by_source == {"content": "30.00", "series": "0.00", "pack": "0.00",
                         "membership": "12.00", "offering": "15.00"}
    notes = f"{WEEK}&dimension=item:{week['notes']['id']}"
    assert [p.series(m, notes)["total"] for m in
            ("revenue_gross", "revenue_refunds", "revenue_fees", "revenue_net")] == \
        ["20.00", "20.00", "0.00", "0.00"]
    for dimension in ("", "&dimension=source:content", f"&dimension=item:{week['essay']['id']}"):
        gross, refunds, fees, net = (
            [Decimal(x["value"]) for x in p.series(m, WEEK + dimension)["points"]]
            for m in ("revenue_gross", "revenue_refunds", "revenue_fees", "revenue_net"))
        assert all(f + n == g - r for g, r, f, n in zip(gross, refunds, fees, net,
                                                        strict=True)), dimension

    # Members: a level holds from the day it starts; a week shows its last day.
    assert p.by_day("new_members") == {"2026-12-01": "1"}
    assert set(p.by_day("active_members").values()) == {"1"}
    assert len(p.by_day("active_members")) == 8
    assert set(p.by_day("mrr").values()) == {"12.00"}
    weekly = p.series("mrr", f"{WEEK}&group=week")
    assert [(x["period"], x["value"]) for x in weekly["points"]] == [
        ("2026-11-30", "12.00"), ("2026-12-07", "12.00")]
    assert weekly["total"] == "12.00" and weekly["unit"] == "money"
    assert p.series("new_members", f"{WEEK}&group=month")["points"] == [
        {"period": "2026-12-01", "value": "1"}]

    assert p.by_day("credits_issued") == {"2026-12-01": "4"}
    assert p.by_day("credits_spent") == {"2026-12-01": "2"}
    assert p.by_day("bookings") == {"2026-12-01": "2"}
    assert p.by_day("attended") == {"2026-12-08": "1"}
    assert p.by_day("no_shows") == {"2026-12-08": "1"}

    talk = f"{WEEK}&dimension=item:{week['talk']['id']}"
    assert p.by_day("views", f"{WEEK}&dimension=item:{week['essay']['id']}") == {
        "2026-12-01": "2"}
    assert p.by_day("plays", talk) == {"2026-12-01": "2"}  # two viewers started it
    assert p.by_day("completions", talk) == {"2026-12-01": "1"}
    rate = p.series("completion_rate", talk)
    assert (rate["total"], rate["unit"]) == ("0.5", "ratio")

    items = {i["title"]: i for i in p.ok(p.get(f"/api/v1/admin/analytics/items?{WEEK}",
                                               "owner"))["items"]}
    assert items["Maya's field notes"]["revenue_gross"] == "20.00"
    assert items["The owner's essay"]["views"] == 2
    assert (items["A free talk"]["plays"], items["A free talk"]["completion_rate"]) == (2, "0.5")
    klass = items["Tuesday strength class"]
    assert (klass["kind"], klass["bookings"], klass["attended"], klass["revenue_gross"]) == (
        "offering", 2, 1, "15.00")
    assert next(iter(items)) == "Maya's field notes"  # best-selling first


def test_totals_reconcile_with_purchases_refunds_bookings_and_the_credit_ledger(
        platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.aggregate()
    long = "from=2026-11-01&to=2026-12-31"

    def total(metric: str, dimension: str = "") -> Decimal:
        query = f"{long}&dimension={dimension}" if dimension else long
        return Decimal(p.series(metric, query)["total"])

    sold = p.scalar(sa.select(sa.func.sum(purchases.c.amount_paid)).where(
        purchases.c.status.in_(("completed", "refunded")), purchases.c.credit_pack_id.is_(None)))
    refunded = p.scalar(sa.select(sa.func.sum(purchase_refunds.c.amount)))
    assert total("revenue_gross", "source:content") + total("revenue_gross",
                                                            "source:series") == sold
    assert total("revenue_refunds", "source:content") == refunded
    booked = p.scalar(sa.select(sa.func.sum(offering_bookings.c.amount_paid)))
    assert total("revenue_gross", "source:offering") == booked
    assert total("revenue_gross") == sold + booked + total("revenue_gross",
                                                           "source:membership")
    ledger = p.scalar(sa.select(sa.func.sum(credit_transactions.c.amount)))
    assert total("credits_issued") - total("credits_spent") - total("credits_expired") \
        + total("credits_adjusted") == ledger
    assert total("revenue_fees") + total("revenue_net") == \
        total("revenue_gross") - total("revenue_refunds")


def test_rerunning_changes_nothing_and_a_late_event_reopens_its_day(
        platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.aggregate()
    first = p.rows()
    p.aggregate()  # incremental: today and yesterday again
    assert p.rows() == first
    p.aggregate(DAY1, SESSION_DAY)  # by hand, the whole week
    assert p.rows() == first

    # A view that happened on day 1 reaches the journal only now.
    with p.patronage.services.uow_factory() as uow:
        uow.journal.record([viewed(UUID(week["essay"]["id"]), None, T0 + timedelta(hours=3),
                                   p.patronage.services.ids.new_id)], p.clock.now())
        uow.commit()
    essay = f"{WEEK}&dimension=item:{week['essay']['id']}"
    assert p.by_day("views", essay) == {"2026-12-01": "2"}
    report = p.aggregate()
    assert DAY1 in report.days and DAY2 not in report.days
    assert p.by_day("views", essay) == {"2026-12-01": "3"}
    # Each run looks again at what was written since the previous run's watermark, which
    # trails that run by five minutes (a transaction may still commit late). Once runs
    # have moved past the late write, only today and yesterday are rebuilt.
    assert DAY1 in p.aggregate().days
    p.clock.advance(minutes=10)
    p.aggregate()
    assert p.aggregate().days == (SESSION_DAY - timedelta(days=1), SESSION_DAY)
    assert p.by_day("views", essay) == {"2026-12-01": "3"}


def test_old_views_leave_the_journal_and_their_days_keep_their_counts(
        platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.move_to(datetime(2027, 1, 10, 9, tzinfo=UTC))
    with pytest.raises(Conflict) as early:  # nothing aggregated yet: the views would be lost
        p.patronage.handle(PruneViews(actor=Principal.system(), before=DAY1))
    assert early.value.code == "analytics.not_aggregated"
    p.aggregate()
    kept = [r for r in p.rows() if r[0] <= SESSION_DAY]
    with pytest.raises(ValidationError) as recent:
        p.patronage.handle(PruneViews(actor=Principal.system(), before=date(2026, 12, 20)))
    assert recent.value.code == "analytics.prune_too_recent"

    gone = p.patronage.handle(PruneViews(actor=Principal.system(), before=date(2026, 12, 5)))
    assert gone == 2
    viewed_left = events.c.event_type == "content.viewed"
    assert p.scalar(sa.select(sa.func.count()).select_from(events).where(viewed_left)) == 0
    played = events.c.event_type == "content.played"
    assert p.scalar(sa.select(sa.func.count()).select_from(events).where(played)) == 2
    # Rebuilt after the pruning, the week is what it was, views included.
    p.aggregate(DAY1, SESSION_DAY)
    assert [r for r in p.rows() if r[0] <= SESSION_DAY] == kept
    assert p.by_day("views", f"{WEEK}&dimension=item:{week['essay']['id']}") == {
        "2026-12-01": "2"}
    assert p.patronage.handle(PruneViews(actor=Principal.system(),
                                         before=date(2026, 12, 5))) == 0


def test_a_corrected_mark_moves_attendance_on_the_sessions_day(
        platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.move_to(datetime(2026, 12, 20, 9, tzinfo=UTC))
    query = "from=2026-12-01&to=2026-12-20"
    # The host changes their mind twice; each mark re-opens the 8th.
    for status, attended, missed in (("no_show", {}, "2"), ("completed", {"2026-12-08": "1"},
                                                            "1")):
        p.clock.advance(minutes=10)
        p.aggregate()
        p.aggregate()  # past the settling window: the 8th is not rebuilt by itself
        assert SESSION_DAY not in p.aggregate().days
        p.ok(p.post(f"/api/v1/bookings/{week['by_card']['id']}/mark", "host",
                    {"status": status}))
        assert SESSION_DAY in p.aggregate().days
        assert p.by_day("attended", query) == attended
        assert p.by_day("no_shows", query) == {"2026-12-08": missed}


def test_parallel_runs_agree(platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.aggregate(DAY1, SESSION_DAY)
    expected = p.rows()
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda _: p.aggregate(DAY1, SESSION_DAY), range(4)))
    assert {r.rows for r in reports} == {len(expected)}
    assert p.rows() == expected


def test_creators_see_only_their_own(platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.aggregate()
    assert [p.series(m, who="maya", studio=True)["total"] for m in
            ("revenue_gross", "revenue_refunds", "revenue_fees", "revenue_net")] == \
        ["20.00", "20.00", "0.00", "0.00"]
    assert p.series("revenue_gross", who="host", studio=True)["total"] == "15.00"
    assert p.series("attended", who="host", studio=True)["total"] == "1"
    assert p.series("views", who="maya", studio=True)["total"] == "0"
    mine = p.ok(p.get(f"/api/v1/studio/analytics/items?{WEEK}", "maya"))["items"]
    assert [i["title"] for i in mine] == ["Maya's field notes"]
    hosts = p.ok(p.get(f"/api/v1/studio/analytics/items?{WEEK}", "host"))["items"]
    assert [(i["title"], i["bookings"]) for i in hosts] == [("Tuesday strength class", 2)]

    def refused(response: httpx.Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code

    studio = "/api/v1/studio/analytics"
    refused(p.get(f"{studio}?metric=views&dimension=item:{week['essay']['id']}", "maya"),
            404, "analytics.item_not_found")
    refused(p.get(f"{studio}?metric=mrr", "maya"), 403, "analytics.platform_metric")
    refused(p.get(f"{studio}?metric=views&dimension=source:content", "maya"), 422,
            "analytics.dimension")
    refused(p.get(f"{studio}?metric=views", "ann"), 403, "auth.creators_only")
    # Refused before the input is read: a bad metric is no different.
    refused(p.get(f"{studio}?metric=bogus&group=year", "ann"), 403, "auth.creators_only")
    refused(p.get("/api/v1/admin/analytics?metric=bogus", "host"), 403, "auth.owner_only")
    refused(p.get("/api/v1/admin/analytics?metric=views", "maya"), 403, "auth.owner_only")
    refused(p.get("/api/v1/admin/analytics/items", "host"), 403, "auth.owner_only")


def test_bad_parameters_get_stable_codes(platform: Platform) -> None:
    p = platform
    admin = "/api/v1/admin/analytics"
    for query, code in (("metric=bogus", "analytics.metric"),
                        ("metric=views&group=year", "analytics.group"),
                        ("metric=views&dimension=nope", "analytics.dimension"),
                        ("metric=views&dimension=item:123", "analytics.dimension"),
                        ("metric=views&from=2026-12-08&to=2026-12-01", "analytics.range"),
                        ("metric=views&from=2020-01-01&to=2026-12-01", "analytics.range"),
                        ("metric=views&to=0001-01-01", "analytics.range"),
                        ("metric=views&from=9999-12-30&to=9999-12-31", "analytics.range")):
        response = p.get(f"{admin}?{query}", "owner")
        assert response.status_code == 422, (query, response.text)
        assert response.json()["code"] == code, query
    assert p.get(f"{admin}?from=2026-12-01", "owner").status_code == 400  # no metric
    assert p.get(f"{admin}?metric=views&from=2026-13-01", "owner").status_code == 400
    assert p.get(f"{admin}?metric=views", None).status_code == 401
    # Nothing aggregated yet: zeros, one point per day of the default 30.
    empty = p.series("views", "")
    assert len(empty["points"]) == 30 and empty["total"] == "0"
    assert empty["end"] == "2026-12-01" and empty["start"] == "2026-11-02"


def test_csv_exports(platform: Platform, week: dict[str, Any]) -> None:
    p = platform
    p.aggregate()
    response = p.get(f"/api/v1/admin/analytics.csv?metric=revenue_net&{WEEK}", "owner")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["period", "revenue_net"] and len(rows) == 9
    assert rows[1:3] == [["2026-12-01", "51.00"], ["2026-12-02", "-18.00"]]
    items = list(csv.DictReader(io.StringIO(p.get(
        f"/api/v1/studio/analytics/items.csv?{WEEK}", "maya").text)))
    assert [(i["title"], i["revenue_gross"], i["revenue_net"]) for i in items] == [
        ("Maya's field notes", "20.00", "0.00")]
    everything = list(csv.DictReader(io.StringIO(p.get(
        f"/api/v1/admin/analytics/items.csv?{WEEK}", "owner").text)))
    assert {i["title"]: (i["kind"], i["views"], i["plays"], i["completion_rate"])
            for i in everything} == {
        "Maya's field notes": ("content", "0", "0", "0"),
        "Tuesday strength class": ("offering", "0", "0", "0"),
        "The owner's essay": ("content", "2", "0", "0"),
        "A free talk": ("content", "0", "2", "0.5")}
    weekly = list(csv.reader(io.StringIO(p.get(
        f"/api/v1/studio/analytics.csv?metric=revenue_gross&group=week&{WEEK}", "maya").text)))
    assert weekly == [["period", "revenue_gross"], ["2026-11-30", "20.00"],
                      ["2026-12-07", "0.00"]]


def test_api_keys_read_analytics_with_their_scope_only(platform: Platform,
                                                       week: dict[str, Any]) -> None:
    p = platform
    p.aggregate()

    def key(who: str, scopes: list[str]) -> Headers:
        made = p.ok(p.post("/api/v1/me/api-keys", who, {"name": "dash", "scopes": scopes}), 201)
        return {"Authorization": f"Bearer {made['key']}"}

    reader = key("owner", ["analytics:read"])
    other = key("owner", ["catalog:read"])
    answer = p.client.get(f"/api/v1/admin/analytics?metric=revenue_gross&{WEEK}",
                          headers=reader)
    assert answer.status_code == 200 and answer.json()["total"] == "57.00"
    refused = p.client.get(f"/api/v1/admin/analytics?metric=revenue_gross&{WEEK}",
                           headers=other)
    assert (refused.status_code, refused.json()["code"]) == (403, "api_key.scope_missing")
    mayas = key("maya", ["analytics:read"])
    assert p.client.get(f"/api/v1/studio/analytics?metric=revenue_gross&{WEEK}",
                        headers=mayas).json()["total"] == "20.00"
    assert p.client.get("/api/v1/admin/analytics?metric=views", headers=mayas
                        ).status_code == 403
