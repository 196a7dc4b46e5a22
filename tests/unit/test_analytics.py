"""Analytics: periods and roll-ups, dimensions and ranges, a day's rows built from its
facts (a hypothesis property: every dimension balances), the journal's entries, and
the aggregation and report use cases on the fakes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.analytics.aggregation import SETTLE, AggregateAnalytics
from application.analytics.journal import journal_entries, viewed, watched
from application.analytics.reports import AnalyticsByItem, AnalyticsSeries
from application.analytics.retention import PruneViews
from application.catalog.authoring import CreateContent
from application.principal import Principal
from domain.analytics.daily import (
    ActivityFact,
    CreditsFact,
    DayFacts,
    Flow,
    MembersFact,
    MoneyFact,
    build_rows,
    monthly_value,
)
from domain.analytics.journal import EventType, SubjectType
from domain.analytics.metrics import (
    MAX_RANGE_DAYS,
    TOTAL,
    DayRange,
    Grouping,
    Metric,
    Point,
    Source,
    Unit,
    by_item,
    by_seller,
    by_source,
    parse_dimension,
    rate_points,
    roll_up,
    total_of,
)
from domain.catalog.rules import ContentType
from domain.commerce.events import PurchaseCompleted
from domain.errors import Conflict, Forbidden, NotFound, ValidationError
from domain.identity.events import PasswordChanged
from domain.identity.roles import Role
from domain.offerings.events import BookingAttended
from tests.unit.fakes.app import FakeApp

D = date(2026, 12, 1)  # a Tuesday
SYSTEM = Principal.system()


# -- periods, ranges and dimensions ---------------------------------------------------------


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert Grouping.WEEK.period_of(D) == date(2026, 11, 30)
    assert Grouping.MONTH.period_of(date(2026, 12, 31)) == D
    assert Grouping.DAY.period_of(D) == D
    assert Grouping.WEEK.periods(D, date(2026, 12, 8)) == [date(2026, 11, 30),
                                                            date(2026, 12, 7)]
    assert Grouping.MONTH.periods(date(2026, 11, 30), D) == [date(2026, 11, 1), D]


def test_flows_add_up_and_levels_keep_their_last_day() -> None:
    span = DayRange(D, date(2026, 12, 8))
    daily = {D: Decimal(3), date(2026, 12, 2): Decimal(4), date(2026, 12, 8): Decimal(5)}
    views = roll_up(Metric.VIEWS, daily, span, Grouping.WEEK)
    assert views == [Point(date(2026, 11, 30), Decimal(7)), Point(date(2026, 12, 7), Decimal(5))]
    assert total_of(Metric.VIEWS, views) == 12
    members = roll_up(Metric.ACTIVE_MEMBERS, daily, span, Grouping.WEEK)
    # The first week ends on Sunday the 6th, which had none.
    assert members == [Point(date(2026, 11, 30), Decimal(0)),
                       Point(date(2026, 12, 7), Decimal(5))]
    assert total_of(Metric.ACTIVE_MEMBERS, members) == 5
    assert len(roll_up(Metric.VIEWS, {}, span, Grouping.DAY)) == 8
    rates = rate_points([Point(D, Decimal(1))], [Point(D, Decimal(0))])
    assert rates == [Point(D, Decimal(0))]  # no plays: a rate of zero, never a crash


def test_units_print_money_to_the_cent_counts_whole_and_ratios_short() -> None:
    assert Unit.MONEY.text(Decimal("57")) == "57.00"
    assert Unit.MONEY.text(Decimal("-6.5")) == "-6.50"
    assert Unit.COUNT.text(Decimal("3.00")) == "3"
    assert Unit.RATIO.text(Decimal("0.5000")) == "0.5"
    assert Unit.RATIO.text(Decimal("0")) == "0"
    assert Metric.MRR.unit is Unit.MONEY and Metric.COMPLETION_RATE.unit is Unit.RATIO


def test_ranges_default_to_thirty_days_and_refuse_backwards_or_huge_ones() -> None:
    assert DayRange.of(None, None, today=D) == DayRange(date(2026, 11, 2), D)
    assert DayRange.of(D, None, today=D).days() == [D]
    assert DayRange.of(None, date(2000, 1, 3), today=D).first == date(2000, 1, 1)
    for first, last in ((date(2026, 12, 2), D), (D - timedelta(days=MAX_RANGE_DAYS), D),
                        (date(1, 1, 1), date(1, 1, 2)), (None, date(1, 1, 1)),
                        (date(9999, 12, 30), date(9999, 12, 31))):
        with pytest.raises(ValidationError) as refused:
            DayRange.of(first, last, today=D)
        assert refused.value.code == "analytics.range"


@pytest.mark.parametrize("raw", ["", None, "source:pack", "SELLER:" + str(UUID(int=1)),
                                 f"item:{UUID(int=5)}", f" tier:{UUID(int=7)} "])
def test_dimensions_that_are_accepted(raw: str | None) -> None:
    assert parse_dimension(raw) == (raw or "").strip().lower()


@pytest.mark.parametrize("raw", ["source:books", "item:5", "seller", "item:" + "0" * 36,
                                 "' OR 1=1 --", f"item:{UUID(int=5)}x"])
def test_dimensions_that_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_dimension(raw)
    assert refused.value.code == "analytics.dimension"


# -- a day's rows -----------------------------------------------------------------------------

SELLERS = [UUID(int=1), UUID(int=2)]
ITEMS = [UUID(int=10), UUID(int=11), UUID(int=12)]
cents = st.integers(min_value=1, max_value=100_000).map(lambda n: Decimal(n) / 100)


@st.composite
def money_facts(draw: st.DrawFn) -> MoneyFact:
    amount = draw(cents)
    fee = (amount * draw(st.sampled_from([Decimal(0), Decimal("0.3")]))).quantize(
        Decimal("0.01"))
    return MoneyFact(flow=draw(st.sampled_from(list(Flow))),
                     source=draw(st.sampled_from(list(Source))), amount=amount, fee=fee,
                     seller_id=draw(st.sampled_from([None, *SELLERS])),
                     item_id=draw(st.sampled_from([None, *ITEMS])))


@given(st.lists(money_facts(), max_size=12), st.randoms())
def test_every_dimension_balances_and_the_total_is_the_sum_of_sources(
        facts: list[MoneyFact], rnd: Random) -> None:
    rows = build_rows(DayFacts(D, money=tuple(facts)))
    values: dict[tuple[Metric, str], Decimal] = {(r.metric, r.dimension): r.value
                                                 for r in rows}

    def value(metric: Metric, dimension: str) -> Decimal:
        return values.get((metric, dimension), Decimal(0))

    dimensions = {dimension for _, dimension in values}
    for dimension in dimensions:
        assert value(Metric.REVENUE_FEES, dimension) + value(Metric.REVENUE_NET, dimension) \
            == value(Metric.REVENUE_GROSS, dimension) - value(Metric.REVENUE_REFUNDS,
                                                              dimension)
    for metric in (Metric.REVENUE_GROSS, Metric.REVENUE_REFUNDS, Metric.REVENUE_FEES,
                   Metric.REVENUE_NET):
        assert value(metric, TOTAL) == sum((value(metric, by_source(s)) for s in Source),
                                           Decimal(0))
    assert all(r.value != 0 for r in rows)
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    assert build_rows(DayFacts(D, money=tuple(shuffled))) == rows


def test_members_credits_and_activity_rows() -> None:
    tier, seller, item = uuid4(), SELLERS[0], ITEMS[0]
    rows = build_rows(DayFacts(
        D, members=(MembersFact(tier, active=3, mrr=Decimal("36.00"), started=1, ended=0),),
        credits=CreditsFact(issued=8, spent=2, expired=0, adjusted=-1),
        activity=(ActivityFact(Metric.VIEWS, item, seller, 5),
                  ActivityFact(Metric.VIEWS, ITEMS[1], None, 2))))
    found = {(r.metric, r.dimension): r.value for r in rows}
    assert found[(Metric.ACTIVE_MEMBERS, TOTAL)] == 3
    assert found[(Metric.MRR, f"tier:{tier}")] == Decimal("36.00")
    assert (Metric.CHURNED_MEMBERS, TOTAL) not in found  # zero: not written
    assert found[(Metric.CREDITS_ADJUSTED, TOTAL)] == -1
    assert found[(Metric.VIEWS, TOTAL)] == 7
    assert found[(Metric.VIEWS, by_item(item))] == 5
    assert found[(Metric.VIEWS, by_seller(seller))] == 5


# -- the journal ----------------------------------------------------------------------------


def test_the_journal_keeps_what_it_names_once_per_subject() -> None:
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    purchase, customer, booking = uuid4(), uuid4(), uuid4()
    counter = iter(range(1, 100))
    entries = journal_entries([PurchaseCompleted(purchase, customer), PasswordChanged(customer),
                               BookingAttended(booking, customer)], now,
                              lambda: UUID(int=next(counter)))
    assert [(e.event_type, e.subject_type, e.subject_id, e.user_id, e.source_key)
            for e in entries] == [
        (EventType.PURCHASE_COMPLETED, SubjectType.PURCHASE, purchase, customer,
         f"purchase.completed:{purchase}"),
        # A mark may be corrected: each one is kept.
        (EventType.BOOKING_ATTENDED, SubjectType.BOOKING, booking, customer, None)]
    assert all(e.occurred_at == now and e.properties == {} for e in entries)
    played, done = watched(ITEMS[0], customer, True, now, uuid4)
    assert played.source_key == f"content.played:{customer}:{ITEMS[0]}"
    assert done.source_key == f"content.completed:{customer}:{ITEMS[0]}"
    assert len(watched(ITEMS[0], customer, False, now, uuid4)) == 1
    # What the stored position already shows is not journaled again.
    assert watched(ITEMS[0], customer, False, now, uuid4, played_before=True) == []
    finished = watched(ITEMS[0], customer, True, now, uuid4, played_before=True)
    assert [e.source_key for e in finished] == [done.source_key]
    assert watched(ITEMS[0], customer, True, now, uuid4, played_before=True,
                   finished_before=True) == []
    assert viewed(ITEMS[0], None, now, uuid4).source_key is None  # a visitor: no id kept


# -- the use cases on the fakes -------------------------------------------------------------


def sale(amount: str, seller: UUID | None = None, item: UUID | None = None) -> MoneyFact:
    return MoneyFact(Flow.SALE, Source.CONTENT, Decimal(amount), seller_id=seller,
                     item_id=item)


def test_the_first_run_builds_the_history_and_later_runs_only_what_changed() -> None:
    app = FakeApp()
    app.clock.current = datetime(2026, 12, 5, 12, tzinfo=UTC)
    app.store.analytics_facts[D] = DayFacts(D, money=(sale("10.00"),))
    first = app.handle(AggregateAnalytics(actor=SYSTEM))
    assert first.days == tuple(D + timedelta(days=n) for n in range(5))
    assert app.store.analytics_rows[(D, Metric.REVENUE_GROSS, TOTAL)] == Decimal("10.00")
    assert app.store.analytics_watermarks["daily"] == app.clock.now() - SETTLE

    app.clock.advance(hours=1)
    assert app.handle(AggregateAnalytics(actor=SYSTEM)).days == (date(2026, 12, 4),
                                                                 date(2026, 12, 5))
    # A late journal entry for the 2nd re-opens that day.
    with app.uow_factory() as uow:
        uow.journal.record([viewed(ITEMS[0], None, datetime(2026, 12, 2, 8, tzinfo=UTC),
                                   uuid4)], app.clock.now())
        uow.commit()
    assert date(2026, 12, 2) in app.handle(AggregateAnalytics(actor=SYSTEM)).days


def test_rebuilding_a_day_replaces_its_rows() -> None:
    app = FakeApp()
    app.clock.current = datetime(2026, 12, 5, 12, tzinfo=UTC)
    app.store.analytics_facts[D] = DayFacts(D, money=(sale("10.00", item=ITEMS[0]),))
    app.handle(AggregateAnalytics(actor=SYSTEM, first=D))
    before = dict(app.store.analytics_rows)
    app.handle(AggregateAnalytics(actor=SYSTEM, first=D, last=D))
    assert app.store.analytics_rows == before
    app.store.analytics_facts[D] = DayFacts(D, money=(sale("4.00"),))
    app.handle(AggregateAnalytics(actor=SYSTEM, first=D))
    assert (D, Metric.REVENUE_GROSS, by_item(ITEMS[0])) not in app.store.analytics_rows
    assert app.store.analytics_rows[(D, Metric.REVENUE_GROSS, TOTAL)] == Decimal("4.00")
    assert app.store.analytics_locks >= 3  # every day is rebuilt under the lock


def test_only_owners_run_or_read_the_platform_and_creators_only_their_own() -> None:
    app = FakeApp()
    app.clock.current = datetime(2026, 12, 5, 12, tzinfo=UTC)
    customer = app.person("ann@example.com")
    creator = app.person("host@example.com", Role.PLATFORM_CREATOR)
    other = app.person("maya@example.com", Role.MEDIA_OWNER)
    mine = app.handle(CreateContent(actor=creator.principal, title="Host's essay",
                                    content_type=ContentType.WRITTEN, price="10.00",
                                    body_html="<p>x</p>")).id
    theirs = app.handle(CreateContent(actor=other.principal, title="Maya's notes",
                                      content_type=ContentType.WRITTEN, price="7.00",
                                      body_html="<p>y</p>")).id
    app.store.analytics_facts[D] = DayFacts(D, money=(
        sale("10.00", creator.id, mine), sale("7.00", other.id, theirs)))
    app.handle(AggregateAnalytics(actor=SYSTEM, first=D))

    with pytest.raises(Forbidden):
        app.handle(AggregateAnalytics(actor=creator.principal))
    with pytest.raises(Forbidden) as refused:
        app.handle(AnalyticsSeries(actor=creator.principal, metric="views"))
    assert refused.value.code == "auth.owner_only"
    with pytest.raises(Forbidden) as refused:
        app.handle(AnalyticsSeries(actor=customer.principal, metric="views", mine=True))
    assert refused.value.code == "auth.creators_only"

    own = app.handle(AnalyticsSeries(actor=creator.principal, metric="revenue_gross",
                                     first=D, last=D, mine=True))
    assert (own.dimension, own.total) == (by_seller(creator.id), Decimal("10.00"))
    everyone = app.handle(AnalyticsSeries(actor=SYSTEM, metric="revenue_gross", first=D,
                                          last=D))
    assert everyone.total == Decimal("17.00")
    with pytest.raises(NotFound):  # another creator's item, or an unknown one
        app.handle(AnalyticsSeries(actor=creator.principal, metric="views",
                                   dimension=f"item:{theirs}", mine=True))
    with pytest.raises(Forbidden) as refused:
        app.handle(AnalyticsSeries(actor=creator.principal, metric="credits_issued",
                                   mine=True))
    assert refused.value.code == "analytics.platform_metric"
    lines = app.handle(AnalyticsByItem(actor=creator.principal, first=D, mine=True)).lines
    assert [(x.item_id, x.title, x.values[Metric.REVENUE_GROSS]) for x in lines] == [
        (mine, "Host's essay", Decimal("10.00"))]
    everyone_items = app.handle(AnalyticsByItem(actor=SYSTEM, first=D)).lines
    assert [x.title for x in everyone_items] == ["Host's essay", "Maya's notes"]


def test_pruned_views_leave_the_journal_and_rebuilt_days_keep_their_counts() -> None:
    app = FakeApp()
    app.clock.current = datetime(2027, 1, 20, 12, tzinfo=UTC)
    with pytest.raises(Conflict) as early:
        app.handle(PruneViews(actor=SYSTEM, before=D))
    assert early.value.code == "analytics.not_aggregated"
    with app.uow_factory() as uow:
        uow.journal.record([viewed(ITEMS[0], None, datetime(2026, 12, 1, 8, tzinfo=UTC),
                                   uuid4),
                            *watched(ITEMS[0], uuid4(), False,
                                     datetime(2026, 12, 1, 9, tzinfo=UTC), uuid4)],
                           app.clock.now())
        uow.commit()
    app.store.analytics_facts[D] = DayFacts(D, activity=(
        ActivityFact(Metric.VIEWS, ITEMS[0], None, 1),))
    app.handle(AggregateAnalytics(actor=SYSTEM))
    with pytest.raises(ValidationError) as recent:
        app.handle(PruneViews(actor=SYSTEM, before=date(2027, 1, 1)))
    assert recent.value.code == "analytics.prune_too_recent"

    assert app.handle(PruneViews(actor=SYSTEM, before=date(2026, 12, 2))) == 1
    assert [e.event_type for e, _ in app.store.journal] == [EventType.CONTENT_PLAYED]
    # The records no longer hold the view; the rebuilt day keeps the count it had.
    app.store.analytics_facts[D] = DayFacts(D, money=(sale("3.00"),))
    app.handle(AggregateAnalytics(actor=SYSTEM, first=D))
    assert app.store.analytics_rows[(D, Metric.VIEWS, TOTAL)] == 1
    assert app.store.analytics_rows[(D, Metric.REVENUE_GROSS, TOTAL)] == Decimal("3.00")


def test_the_credit_ledgers_sums_and_a_subscriptions_monthly_value() -> None:
    fact = CreditsFact.from_totals({"earned_subscription": 4, "earned_purchase": 10,
                                    "spent_offering": -6, "refunded_offering": 2,
                                    "expired": -3, "adjustment": -1})
    assert fact == CreditsFact(issued=14, spent=4, expired=3, adjusted=-1)
    assert CreditsFact.from_totals({}) == CreditsFact()
    assert monthly_value("monthly", Decimal("12.00"), Decimal("120.00")) == Decimal("12.00")
    assert monthly_value("yearly", Decimal("12.00"), Decimal("100.00")) == Decimal("8.33")
