"""Offering schedules, cancellation policy, portal bounds and the Offering's own validation.

Every expected instant below is written out in UTC by hand (from the published offsets of
New York and Berlin in 2027) rather than computed with the code under test, so a wrong
DST rule cannot agree with itself. Clocks are frozen: every ``now`` is a fixed datetime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.offerings.offering import (
    MAX_PARTICIPANTS,
    CapacityType,
    Offering,
    OfferingStateError,
    OfferingStatus,
)
from domain.offerings.policy import (
    CancellationPolicy,
    Outcome,
    PaymentOptions,
    PortalConfig,
    parse_payment_options,
    parse_portal_config,
)
from domain.offerings.schedules import (
    MAX_OCCURRENCES,
    WEEKDAYS,
    CohortCourse,
    MultiDayProgram,
    Occurrence,
    OfferingType,
    OneTimeEvent,
    Pattern,
    RecurringBookable,
    RecurringFixed,
    Retreat,
    parse_schedule,
    to_instant,
)
from domain.values import Money, Slug

UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
EVER_START = datetime(2000, 1, 1, tzinfo=UTC)
EVER_END = datetime(2100, 1, 1, tzinfo=UTC)
T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)

Raw = dict[str, Any]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def starts(found: Sequence[Occurrence]) -> list[datetime]:
    return [o.starts_at for o in found]


def without(raw: Mapping[str, Any], key: str) -> Raw:
    return {k: v for k, v in raw.items() if k != key}


# --- valid schedules of each type --------------------------------------------------------

EVENT: Raw = {"date": "2027-06-05", "start_time": "18:30", "duration_minutes": 90}
# Deliberately unsorted and straddling Berlin's fall-back night (2027-10-31 03:00 CEST).
PROGRAM: Raw = {"days": [
    {"date": "2027-11-01", "start_time": "09:00", "duration_minutes": 120},
    {"date": "2027-10-30", "start_time": "09:00", "duration_minutes": 120, "title": "Arrive"},
    {"date": "2027-10-31", "start_time": "09:00", "duration_minutes": 120},
]}
WEEKLY: Raw = {"pattern": "weekly", "day": "tuesday", "time": "18:00",
               "duration_minutes": 60, "start_date": "2027-03-02", "count": 4}
BOOKABLE: Raw = {
    "availability": {"monday": [{"start": "09:00", "end": "12:00"}],
                     "tuesday": [{"start": "13:00", "end": "14:00"}]},
    "session_minutes": 50, "buffer_minutes": 10, "minimum_notice_hours": 2,
    "booking_window_days": 14,
    "exceptions": [{"date": "2027-03-08", "windows": []},
                   {"date": "2027-03-10", "windows": [{"start": "08:00", "end": "09:00"}]}],
}
COHORTS: Raw = {
    "cohorts": [{"start_date": "2027-04-05"}, {"start_date": "2027-03-01"}],
    "sessions": [{"offset_days": 7, "start_time": "18:00", "duration_minutes": 60},
                 {"offset_days": 0, "start_time": "18:00", "duration_minutes": 60,
                  "title": "Kick-off"}],
}
RETREAT: Raw = {"start_date": "2027-07-01", "end_date": "2027-07-04",
                "location": "  Hof Lindenberg, Uckermark  "}

VALID: dict[OfferingType, tuple[Raw, type]] = {
    OfferingType.ONE_TIME_EVENT: (EVENT, OneTimeEvent),
    OfferingType.MULTI_DAY_PROGRAM: (PROGRAM, MultiDayProgram),
    OfferingType.RECURRING_FIXED: (WEEKLY, RecurringFixed),
    OfferingType.RECURRING_BOOKABLE: (BOOKABLE, RecurringBookable),
    OfferingType.COHORT_COURSE: (COHORTS, CohortCourse),
    OfferingType.RETREAT: (RETREAT, Retreat),
}


@pytest.mark.parametrize("offering_type", list(OfferingType))
def test_a_valid_schedule_parses_to_its_type_and_round_trips(offering_type: OfferingType
                                                            ) -> None:
    raw, kind = VALID[offering_type]
    schedule = parse_schedule(offering_type, raw)
    assert isinstance(schedule, kind)
    assert schedule.type is offering_type
    again = parse_schedule(offering_type, schedule.to_json())
    assert again == schedule
    # The stored form is canonical: writing it out twice gives the same document.
    assert again.to_json() == schedule.to_json()


def test_one_time_event_occurs_once_in_its_zone() -> None:
    event = parse_schedule(OfferingType.ONE_TIME_EVENT, EVENT)
    # 18:30 in Berlin in June is CEST, two hours ahead of UTC.
    expected = Occurrence(utc(2027, 6, 5, 16, 30), utc(2027, 6, 5, 18, 0),
                          "2027-06-05T16:30:00+00:00")
    assert event.occurrences(BERLIN, EVER_START, EVER_END) == [expected]
    assert event.span(BERLIN) == (expected.starts_at, expected.ends_at)
    # The range is half-open: a session starting exactly at its end is outside it.
    assert event.occurrences(BERLIN, EVER_START, expected.starts_at) == []
    assert event.occurrences(BERLIN, expected.starts_at, EVER_END) == [expected]


def test_multi_day_program_is_one_seat_pool_across_a_dst_change() -> None:
    program = parse_schedule(OfferingType.MULTI_DAY_PROGRAM, PROGRAM)
    found = program.occurrences(BERLIN, EVER_START, EVER_END)
    assert found == [
        Occurrence(utc(2027, 10, 30, 7), utc(2027, 10, 30, 9), "program", "Arrive"),
        Occurrence(utc(2027, 10, 31, 8), utc(2027, 10, 31, 10), "program"),
        Occurrence(utc(2027, 11, 1, 8), utc(2027, 11, 1, 10), "program"),
    ]
    assert program.span(BERLIN) == (utc(2027, 10, 30, 7), utc(2027, 11, 1, 10))
    assert starts(program.occurrences(BERLIN, utc(2027, 10, 31), utc(2027, 11, 1))) == [
        utc(2027, 10, 31, 8)]


def test_weekly_schedule_yields_its_count_in_order() -> None:
    weekly = parse_schedule(OfferingType.RECURRING_FIXED, WEEKLY)
    # 2027-03-02 and 03-09 are EST (UTC-5); 03-16 and 03-23 are EDT (UTC-4).
    assert weekly.occurrences(NEW_YORK, EVER_START, EVER_END) == [
        Occurrence(at, at + timedelta(hours=1), at.isoformat())
        for at in (utc(2027, 3, 2, 23), utc(2027, 3, 9, 23), utc(2027, 3, 16, 22),
                   utc(2027, 3, 23, 22))]
    assert weekly.span(NEW_YORK) == (utc(2027, 3, 2, 23), utc(2027, 3, 23, 23))


# Zones at the ends of the offsets' range, and one with DST, where a local day and its
# session's UTC day differ the most.
FAR_ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT+12", "America/New_York",
             "Asia/Kolkata")


@settings(max_examples=300, deadline=None)
@given(pattern=st.sampled_from(list(Pattern)), weekday=st.integers(0, 6),
       at=st.sampled_from([time(0, 0), time(0, 30), time(11, 0), time(23, 45)]),
       zone=st.sampled_from(FAR_ZONES), first=st.dates(date(2027, 1, 1), date(2027, 12, 31)),
       count=st.integers(1, 60), nth=st.integers(0, 59),
       offset_minutes=st.integers(-36 * 60, 36 * 60), width_hours=st.integers(1, 24 * 30))
def test_a_window_of_a_recurring_class_finds_what_walking_every_session_finds(
        pattern: Pattern, weekday: int, at: time, zone: str, first: date, count: int,
        nth: int, offset_minutes: int, width_hours: int) -> None:
    schedule = RecurringFixed(pattern, weekday, at, 90, first, count=count)
    where = ZoneInfo(zone)
    every = schedule.occurrences(where, EVER_START, EVER_END)
    assert len(every) == count
    # A window that opens near a session (up to a day and a half either side of it).
    start = every[nth % count].starts_at + timedelta(minutes=offset_minutes)
    end = start + timedelta(hours=width_hours)
    assert schedule.occurrences(where, start, end) == [
        o for o in every if start <= o.starts_at < end]


def test_bookable_occurrences_are_its_candidate_slots_with_exceptions() -> None:
    bookable = parse_schedule(OfferingType.RECURRING_BOOKABLE, BOOKABLE)
    found = bookable.occurrences(UTC_ZONE, utc(2027, 3, 1), utc(2027, 3, 17))
    assert starts(found) == [
        # Monday 03-01: a 50 minute session every hour (10 minute buffer) until noon.
        utc(2027, 3, 1, 9), utc(2027, 3, 1, 10), utc(2027, 3, 1, 11),
        utc(2027, 3, 2, 13),
        # Monday 03-08 is closed by its exception; Wednesday 03-10 opens by its own.
        utc(2027, 3, 9, 13), utc(2027, 3, 10, 8),
        utc(2027, 3, 15, 9), utc(2027, 3, 15, 10), utc(2027, 3, 15, 11),
        utc(2027, 3, 16, 13),
    ]
    assert all(o.ends_at - o.starts_at == timedelta(minutes=50) for o in found)
    assert bookable.span(UTC_ZONE) == (None, None)


def test_cohort_course_keys_every_session_by_its_cohort() -> None:
    course = parse_schedule(OfferingType.COHORT_COURSE, COHORTS)
    assert isinstance(course, CohortCourse)
    found = course.occurrences(NEW_YORK, EVER_START, EVER_END)
    assert [(o.starts_at, o.key, o.title) for o in found] == [
        (utc(2027, 3, 1, 23), "cohort:2027-03-01", "Kick-off"),
        (utc(2027, 3, 8, 23), "cohort:2027-03-01", None),
        (utc(2027, 4, 5, 22), "cohort:2027-04-05", "Kick-off"),
        (utc(2027, 4, 12, 22), "cohort:2027-04-05", None),
    ]
    assert starts(course.occurrences(NEW_YORK, utc(2027, 3, 5), utc(2027, 4, 10))) == [
        utc(2027, 3, 8, 23), utc(2027, 4, 5, 22)]
    assert course.cohort_span(date(2027, 4, 5), NEW_YORK) == (utc(2027, 4, 5, 22),
                                                               utc(2027, 4, 12, 23))
    assert course.span(NEW_YORK) == (utc(2027, 3, 1, 23), utc(2027, 4, 12, 23))


def test_retreat_is_one_stay_from_check_in_to_check_out() -> None:
    retreat = parse_schedule(OfferingType.RETREAT, RETREAT)
    assert isinstance(retreat, Retreat)
    assert retreat.location == "Hof Lindenberg, Uckermark"
    stay = Occurrence(utc(2027, 7, 1, 13), utc(2027, 7, 4, 9), "retreat")
    assert retreat.occurrences(BERLIN, EVER_START, EVER_END) == [stay]
    assert retreat.span(BERLIN) == (stay.starts_at, stay.ends_at)


# --- bad schedules name their field --------------------------------------------------------

LONG = "x" * 501
DAY: Raw = {"date": "2027-03-01", "start_time": "09:00", "duration_minutes": 60}
SESSION: Raw = {"offset_days": 0, "start_time": "18:00", "duration_minutes": 60}


def program(*days: Any) -> Raw:  # a day may be malformed on purpose
    return {"days": list(days)}


def bookable(**changes: Any) -> Raw:
    return {**BOOKABLE, **changes}


def monday(*windows: Any) -> Raw:
    return {"monday": list(windows)}


def cohorts(sessions: Any = (SESSION,), starting: Any = ("2027-03-01",)) -> Raw:
    return {"cohorts": [{"start_date": s} for s in starting], "sessions": list(sessions)}


BAD: list[tuple[OfferingType, Any, str, str]] = [
    # (type, raw schedule, field the error names, its code)
    (OfferingType.ONE_TIME_EVENT, "2027-06-05", "schedule", "schedule.invalid"),
    (OfferingType.ONE_TIME_EVENT, ["2027-06-05"], "schedule", "schedule.invalid"),
    (OfferingType.ONE_TIME_EVENT, without(EVENT, "date"), "schedule.date", "schedule.date"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "date": "2027-02-30"}, "schedule.date",
     "schedule.date"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "date": 20270605}, "schedule.date",
     "schedule.date"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "start_time": "9:00"}, "schedule.start_time",
     "schedule.time"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "start_time": "24:00"}, "schedule.start_time",
     "schedule.time"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "start_time": "18:30:00"}, "schedule.start_time",
     "schedule.time"),
    # "1830Z" is five characters and ISO 8601, but a time with its own zone would clash
    # with the offering's zone (and cannot be compared with the naive times beside it).
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "start_time": "1830Z"}, "schedule.start_time",
     "schedule.time"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "duration_minutes": 0},
     "schedule.duration_minutes", "schedule.number"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "duration_minutes": 24 * 60 * 14 + 1},
     "schedule.duration_minutes", "schedule.number"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "duration_minutes": "90"},
     "schedule.duration_minutes", "schedule.number"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "duration_minutes": True},
     "schedule.duration_minutes", "schedule.number"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "duration_minutes": 90.0},
     "schedule.duration_minutes", "schedule.number"),
    (OfferingType.ONE_TIME_EVENT, {**EVENT, "venue": "Hall"}, "schedule.venue",
     "schedule.unknown_field"),
    (OfferingType.MULTI_DAY_PROGRAM, {}, "schedule.days", "schedule.invalid"),
    (OfferingType.MULTI_DAY_PROGRAM, program(), "schedule.days", "schedule.invalid"),
    (OfferingType.MULTI_DAY_PROGRAM, {"days": "2027-03-01"}, "schedule.days",
     "schedule.invalid"),
    (OfferingType.MULTI_DAY_PROGRAM, program(DAY, "2027-03-02"), "schedule.days[1]",
     "schedule.invalid"),
    (OfferingType.MULTI_DAY_PROGRAM, program(DAY, {**DAY, "start_time": "25:00"}),
     "schedule.days[1].start_time", "schedule.time"),
    (OfferingType.MULTI_DAY_PROGRAM, program(DAY, {**DAY, "date": "03/02/2027"}),
     "schedule.days[1].date", "schedule.date"),
    (OfferingType.MULTI_DAY_PROGRAM, program({**DAY, "duration_minutes": 24 * 60 + 1}),
     "schedule.days[0].duration_minutes", "schedule.number"),
    (OfferingType.MULTI_DAY_PROGRAM, program({**DAY, "title": LONG}),
     "schedule.days[0].title", "schedule.invalid"),
    (OfferingType.MULTI_DAY_PROGRAM, program({**DAY, "title": 7}),
     "schedule.days[0].title", "schedule.invalid"),
    (OfferingType.MULTI_DAY_PROGRAM, program(DAY, {**DAY, "room": "B"}),
     "schedule.days[1].room", "schedule.unknown_field"),
    (OfferingType.MULTI_DAY_PROGRAM, program(DAY, {**DAY, "duration_minutes": 30}),
     "schedule.days", "schedule.duplicate"),
    (OfferingType.MULTI_DAY_PROGRAM, {**program(DAY), "location": "Hall"},
     "schedule.location", "schedule.unknown_field"),
    (OfferingType.MULTI_DAY_PROGRAM, program(*[{**DAY, "date": (
        date(2027, 1, 1) + timedelta(days=n)).isoformat()} for n in range(367)]),
     "schedule.days", "schedule.invalid"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "pattern": "daily"}, "schedule.pattern",
     "schedule.pattern"),
    (OfferingType.RECURRING_FIXED, without(WEEKLY, "pattern"), "schedule.pattern",
     "schedule.pattern"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "day": "Tuesday"}, "schedule.day",
     "schedule.weekday"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "day": 1}, "schedule.day", "schedule.weekday"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "time": "6pm"}, "schedule.time",
     "schedule.time"),
    (OfferingType.RECURRING_FIXED, without(WEEKLY, "time"), "schedule.time", "schedule.time"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "duration_minutes": 24 * 60 + 1},
     "schedule.duration_minutes", "schedule.number"),
    (OfferingType.RECURRING_FIXED, without(WEEKLY, "start_date"), "schedule.start_date",
     "schedule.date"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "count": None, "end_date": "2027-13-01"},
     "schedule.end_date", "schedule.date"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "count": None, "end_date": "2027-03-01"},
     "schedule.end_date", "schedule.date"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "end_date": "2027-04-01"}, "schedule.count",
     "schedule.invalid"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "count": 0}, "schedule.count",
     "schedule.number"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "count": MAX_OCCURRENCES + 1},
     "schedule.count", "schedule.number"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "count": "4"}, "schedule.count",
     "schedule.number"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "count": True}, "schedule.count",
     "schedule.number"),
    (OfferingType.RECURRING_FIXED, {**WEEKLY, "every": 2}, "schedule.every",
     "schedule.unknown_field"),
    (OfferingType.RECURRING_BOOKABLE, without(BOOKABLE, "availability"),
     "schedule.availability", "schedule.invalid"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability={}), "schedule.availability",
     "schedule.invalid"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday()),
     "schedule.availability", "schedule.invalid"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability={"moonday": []}),
     "schedule.availability.moonday", "schedule.weekday"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability={"monday": "09:00-12:00"}),
     "schedule.availability.monday", "schedule.invalid"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday(
        {"start": "12:00", "end": "09:00"})), "schedule.availability.monday[0].end",
     "schedule.window"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday(
        {"start": "09:00", "end": "09:00"})), "schedule.availability.monday[0].end",
     "schedule.window"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday(
        {"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "1pm"})),
     "schedule.availability.monday[1].end", "schedule.time"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday(
        {"start": "09:00", "end": "12:00"}, {"end": "14:00"})),
     "schedule.availability.monday[1].start", "schedule.time"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday(
        {"start": "09:00", "end": "12:00", "zone": "UTC"})),
     "schedule.availability.monday[0].zone", "schedule.unknown_field"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday(
        {"start": "0900Z", "end": "12:00"})), "schedule.availability.monday[0].start",
     "schedule.time"),
    (OfferingType.RECURRING_BOOKABLE, bookable(availability=monday("09:00")),
     "schedule.availability.monday[0]", "schedule.invalid"),
    (OfferingType.RECURRING_BOOKABLE, without(BOOKABLE, "session_minutes"),
     "schedule.session_minutes", "schedule.number"),
    (OfferingType.RECURRING_BOOKABLE, bookable(session_minutes=4),
     "schedule.session_minutes", "schedule.number"),
    (OfferingType.RECURRING_BOOKABLE, bookable(buffer_minutes=-1), "schedule.buffer_minutes",
     "schedule.number"),
    (OfferingType.RECURRING_BOOKABLE, bookable(minimum_notice_hours=24 * 90 + 1),
     "schedule.minimum_notice_hours", "schedule.number"),
    (OfferingType.RECURRING_BOOKABLE, bookable(booking_window_days=0),
     "schedule.booking_window_days", "schedule.number"),
    (OfferingType.RECURRING_BOOKABLE, bookable(booking_window_days=367),
     "schedule.booking_window_days", "schedule.number"),
    (OfferingType.RECURRING_BOOKABLE, bookable(exceptions={"2027-03-08": []}),
     "schedule.exceptions", "schedule.invalid"),
    (OfferingType.RECURRING_BOOKABLE, bookable(exceptions=[{"date": "2027-03-32"}]),
     "schedule.exceptions[0].date", "schedule.date"),
    (OfferingType.RECURRING_BOOKABLE, bookable(exceptions=[
        {"date": "2027-03-08"}, {"date": "2027-03-09", "windows": [
            {"start": "10:00", "end": "11:00"}, {"start": "14:00", "end": "13:00"}]}]),
     "schedule.exceptions[1].windows[1].end", "schedule.window"),
    (OfferingType.RECURRING_BOOKABLE, bookable(exceptions=[
        {"date": "2027-03-08", "closed": True}]), "schedule.exceptions[0].closed",
     "schedule.unknown_field"),
    (OfferingType.RECURRING_BOOKABLE, bookable(timezone="UTC"), "schedule.timezone",
     "schedule.unknown_field"),
    (OfferingType.COHORT_COURSE, without(COHORTS, "cohorts"), "schedule.cohorts",
     "schedule.invalid"),
    (OfferingType.COHORT_COURSE, cohorts(starting=()), "schedule.cohorts",
     "schedule.invalid"),
    (OfferingType.COHORT_COURSE, cohorts(starting=("2027-03-01", "2027-3-8")),
     "schedule.cohorts[1].start_date", "schedule.date"),
    (OfferingType.COHORT_COURSE, {**cohorts(), "cohorts": [{"start_date": "2027-03-01",
                                                            "seats": 4}]},
     "schedule.cohorts[0].seats", "schedule.unknown_field"),
    (OfferingType.COHORT_COURSE, cohorts(starting=("2027-03-01", "2027-03-01")),
     "schedule.cohorts", "schedule.duplicate"),
    (OfferingType.COHORT_COURSE, without(COHORTS, "sessions"), "schedule.sessions",
     "schedule.invalid"),
    (OfferingType.COHORT_COURSE, cohorts(sessions=[SESSION, {**SESSION, "offset_days": -1}]),
     "schedule.sessions[1].offset_days", "schedule.number"),
    (OfferingType.COHORT_COURSE, cohorts(sessions=[{**SESSION, "offset_days": 731}]),
     "schedule.sessions[0].offset_days", "schedule.number"),
    (OfferingType.COHORT_COURSE, cohorts(sessions=[{**SESSION, "start_time": "18h00"}]),
     "schedule.sessions[0].start_time", "schedule.time"),
    (OfferingType.COHORT_COURSE, cohorts(sessions=[{**SESSION, "duration_minutes": 0}]),
     "schedule.sessions[0].duration_minutes", "schedule.number"),
    (OfferingType.COHORT_COURSE, cohorts(sessions=[{**SESSION, "title": LONG}]),
     "schedule.sessions[0].title", "schedule.invalid"),
    (OfferingType.COHORT_COURSE, {**COHORTS, "weeks": 6}, "schedule.weeks",
     "schedule.unknown_field"),
    (OfferingType.RETREAT, without(RETREAT, "location"), "schedule.location",
     "schedule.invalid"),
    (OfferingType.RETREAT, {**RETREAT, "location": "   "}, "schedule.location",
     "schedule.invalid"),
    (OfferingType.RETREAT, {**RETREAT, "location": 5}, "schedule.location",
     "schedule.invalid"),
    (OfferingType.RETREAT, {**RETREAT, "location": "x" * 1001}, "schedule.location",
     "schedule.invalid"),
    (OfferingType.RETREAT, {**RETREAT, "end_date": "2027-06-30"}, "schedule.end_date",
     "schedule.date"),
    (OfferingType.RETREAT, without(RETREAT, "start_date"), "schedule.start_date",
     "schedule.date"),
    (OfferingType.RETREAT, {**RETREAT, "check_in": "3pm"}, "schedule.check_in",
     "schedule.time"),
    (OfferingType.RETREAT, {**RETREAT, "check_out": None}, "schedule.check_out",
     "schedule.time"),
    (OfferingType.RETREAT, {**RETREAT, "rooms": 12}, "schedule.rooms",
     "schedule.unknown_field"),
]


@pytest.mark.parametrize(("offering_type", "raw", "field", "code"), BAD,
                         ids=[f"{t.value}-{f}-{n}" for n, (t, _, f, _) in enumerate(BAD)])
def test_a_bad_schedule_is_refused_naming_its_field(offering_type: OfferingType, raw: Any,
                                                    field: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(offering_type, raw)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_a_recurring_schedule_with_no_session_before_its_end_date_is_refused() -> None:
    # Weekly on Fridays from Monday 03-01 to Tuesday 03-02 has no session at all; taking
    # it would leave an offering without a first session (span has nothing to return).
    with pytest.raises(ValidationError) as caught:
        parse_schedule(OfferingType.RECURRING_FIXED, {
            "pattern": "weekly", "day": "friday", "time": "10:00", "duration_minutes": 60,
            "start_date": "2027-03-01", "end_date": "2027-03-02"})
    assert caught.value.field == "schedule.end_date"


def test_a_same_day_retreat_that_checks_out_before_it_checks_in_is_refused() -> None:
    # The default check-in (15:00) is after the default check-out (11:00): a one-day
    # retreat with both defaults would end four hours before it begins.
    with pytest.raises(ValidationError) as caught:
        parse_schedule(OfferingType.RETREAT, {**RETREAT, "end_date": RETREAT["start_date"]})
    assert caught.value.field in {"schedule.check_out", "schedule.end_date"}


@pytest.mark.parametrize(("offering_type", "raw"), [
    (OfferingType.MULTI_DAY_PROGRAM, program({**DAY, "title": ""})),
    (OfferingType.COHORT_COURSE, cohorts(sessions=[{**SESSION, "title": ""}])),
])
def test_an_empty_title_survives_the_round_trip(offering_type: OfferingType, raw: Raw
                                                ) -> None:
    schedule = parse_schedule(offering_type, raw)
    assert parse_schedule(offering_type, schedule.to_json()) == schedule


def test_overlapping_availability_windows_never_offer_overlapping_slots() -> None:
    raw = bookable(availability=monday({"start": "09:00", "end": "11:00"},
                                       {"start": "10:00", "end": "12:00"}),
                   minimum_notice_hours=0, buffer_minutes=0, session_minutes=60)
    try:
        schedule = parse_schedule(OfferingType.RECURRING_BOOKABLE, raw)
    except ValidationError as refused:
        # Refusing the schedule is one correct answer, if it says where.
        assert (refused.field or "").startswith("schedule.availability.monday")
        return
    assert isinstance(schedule, RecurringBookable)
    slots = schedule.free_slots(UTC_ZONE, utc(2027, 3, 1), utc(2027, 3, 2), utc(2027, 2, 28),
                                [])
    assert slots, "merging the windows is the other correct answer; it still offers slots"
    for earlier, later in pairwise(slots):
        assert earlier.ends_at <= later.starts_at


# --- DST ----------------------------------------------------------------------------------


def test_a_local_time_that_does_not_exist_lands_where_the_wall_clock_shows_an_hour_later(
) -> None:
    at = to_instant(date(2027, 3, 14), time(2, 30), NEW_YORK)
    assert at == utc(2027, 3, 14, 7, 30)
    assert at.astimezone(NEW_YORK).time() == time(3, 30)
    at = to_instant(date(2027, 3, 28), time(2, 30), BERLIN)
    assert at == utc(2027, 3, 28, 1, 30)
    assert at.astimezone(BERLIN).time() == time(3, 30)


def test_a_local_time_that_happens_twice_is_its_first_occurrence() -> None:
    assert to_instant(date(2027, 11, 7), time(1, 30), NEW_YORK) == utc(2027, 11, 7, 5, 30)
    assert to_instant(date(2027, 10, 31), time(2, 30), BERLIN) == utc(2027, 10, 31, 0, 30)


@pytest.mark.parametrize(("zone", "first_sunday", "at", "expected"), [
    # Spring forward: the week before is standard time, the week after summer time.
    (NEW_YORK, "2027-03-07", "02:30",
     [utc(2027, 3, 7, 7, 30), utc(2027, 3, 14, 7, 30), utc(2027, 3, 21, 6, 30)]),
    (BERLIN, "2027-03-21", "02:30",
     [utc(2027, 3, 21, 1, 30), utc(2027, 3, 28, 1, 30), utc(2027, 4, 4, 0, 30)]),
    # Fall back: the repeated hour is taken the first time round, still in summer time.
    (NEW_YORK, "2027-10-31", "01:30",
     [utc(2027, 10, 31, 5, 30), utc(2027, 11, 7, 5, 30), utc(2027, 11, 14, 6, 30)]),
    (BERLIN, "2027-10-24", "02:30",
     [utc(2027, 10, 24, 0, 30), utc(2027, 10, 31, 0, 30), utc(2027, 11, 7, 1, 30)]),
], ids=["new-york-spring", "berlin-spring", "new-york-fall", "berlin-fall"])
def test_weekly_sessions_across_a_dst_change(zone: ZoneInfo, first_sunday: str, at: str,
                                             expected: list[datetime]) -> None:
    weekly = parse_schedule(OfferingType.RECURRING_FIXED, {
        "pattern": "weekly", "day": "sunday", "time": at, "duration_minutes": 60,
        "start_date": first_sunday, "count": 3})
    found = weekly.occurrences(zone, EVER_START, EVER_END)
    assert starts(found) == expected
    assert all(o.ends_at - o.starts_at == timedelta(hours=1) for o in found)
    wall = time.fromisoformat(at)
    before, _, after = found
    # The sessions either side of the change keep their wall time; the instant moves.
    assert before.starts_at.astimezone(zone).time() == wall
    assert after.starts_at.astimezone(zone).time() == wall
    assert abs(after.starts_at - before.starts_at - timedelta(weeks=2)) == timedelta(hours=1)


@pytest.mark.parametrize(("zone", "start", "end", "expected"), [
    (NEW_YORK, utc(2027, 3, 13), utc(2027, 3, 16),
     [utc(2027, 3, 13, 14), utc(2027, 3, 13, 15), utc(2027, 3, 14, 13),
      utc(2027, 3, 14, 14), utc(2027, 3, 15, 13), utc(2027, 3, 15, 14)]),
    (BERLIN, utc(2027, 10, 30), utc(2027, 11, 1),
     [utc(2027, 10, 30, 7), utc(2027, 10, 30, 8), utc(2027, 10, 31, 8),
      utc(2027, 10, 31, 9)]),
], ids=["new-york-spring", "berlin-fall"])
def test_bookable_slots_keep_their_local_window_times_across_a_dst_change(
        zone: ZoneInfo, start: datetime, end: datetime, expected: list[datetime]) -> None:
    daily = {name: [{"start": "09:00", "end": "11:00"}] for name in WEEKDAYS}
    schedule = parse_schedule(OfferingType.RECURRING_BOOKABLE,
                              {"availability": daily, "session_minutes": 60})
    assert isinstance(schedule, RecurringBookable)
    slots = schedule.free_slots(zone, start, end, start - timedelta(days=1), [])
    assert starts(slots) == expected
    assert {s.starts_at.astimezone(zone).time() for s in slots} == {time(9), time(10)}


def test_a_bookable_window_across_the_skipped_hour_only_offers_real_time() -> None:
    # 01:00-04:00 on 2027-03-14 in New York is two real hours: 02:00-03:00 never happens.
    schedule = parse_schedule(OfferingType.RECURRING_BOOKABLE, {
        "availability": {"sunday": [{"start": "01:00", "end": "04:00"}]},
        "session_minutes": 60})
    assert isinstance(schedule, RecurringBookable)
    slots = schedule.free_slots(NEW_YORK, utc(2027, 3, 14), utc(2027, 3, 15),
                                utc(2027, 3, 1), [])
    assert starts(slots) == [utc(2027, 3, 14, 6), utc(2027, 3, 14, 7)]
    assert [s.starts_at.astimezone(NEW_YORK).time() for s in slots] == [time(1), time(3)]


def test_a_bookable_window_opening_in_the_repeated_hour_opens_the_first_time_round() -> None:
    # 01:30-03:00 on 2027-11-07 in New York: it opens at the first 01:30 (EDT) and closes at
    # 03:00 EST, so the wall clock shows 01:30 twice, an hour apart, and both fit.
    schedule = parse_schedule(OfferingType.RECURRING_BOOKABLE, {
        "availability": {"sunday": [{"start": "01:30", "end": "03:00"}]},
        "session_minutes": 60})
    assert isinstance(schedule, RecurringBookable)
    slots = schedule.free_slots(NEW_YORK, utc(2027, 11, 7), utc(2027, 11, 8),
                                utc(2027, 11, 1), [])
    assert starts(slots) == [utc(2027, 11, 7, 5, 30), utc(2027, 11, 7, 6, 30)]
    assert [s.starts_at.astimezone(NEW_YORK).time() for s in slots] == [time(1, 30)] * 2


# --- RecurringFixed patterns and limits ----------------------------------------------------


def fixed(**changes: Any) -> RecurringFixed:
    raw = {"pattern": "weekly", "day": "tuesday", "time": "10:00", "duration_minutes": 45,
           "start_date": "2027-03-02", **changes}
    schedule = parse_schedule(OfferingType.RECURRING_FIXED,
                              {k: v for k, v in raw.items() if v is not None})
    assert isinstance(schedule, RecurringFixed)
    return schedule


def days_of(schedule: RecurringFixed, start: datetime = EVER_START,
            end: datetime = EVER_END) -> list[date]:
    return [o.starts_at.date() for o in schedule.occurrences(UTC_ZONE, start, end)]


def test_weekly_steps_a_week_and_biweekly_two() -> None:
    assert days_of(fixed(count=3)) == [date(2027, 3, 2), date(2027, 3, 9), date(2027, 3, 16)]
    assert days_of(fixed(pattern="biweekly", count=3)) == [
        date(2027, 3, 2), date(2027, 3, 16), date(2027, 3, 30)]


def test_monthly_keeps_the_week_of_the_month() -> None:
    # 2027-03-09 is the 2nd Tuesday of March.
    assert days_of(fixed(pattern="monthly", start_date="2027-03-09", count=4)) == [
        date(2027, 3, 9), date(2027, 4, 13), date(2027, 5, 11), date(2027, 6, 8)]


def test_monthly_on_a_fifth_weekday_skips_months_without_one() -> None:
    assert days_of(fixed(pattern="monthly", start_date="2027-03-30", count=4)) == [
        date(2027, 3, 30), date(2027, 6, 29), date(2027, 8, 31), date(2027, 11, 30)]


def test_a_start_date_off_the_weekday_begins_on_the_next_one() -> None:
    # Monday 2027-03-01 for a Thursday class: the first session is Thursday 03-04.
    assert days_of(fixed(day="thursday", start_date="2027-03-01", count=2)) == [
        date(2027, 3, 4), date(2027, 3, 11)]
    # Monday 2027-03-08 for a monthly Tuesday: the 2nd Tuesday, 03-09, sets the week.
    assert days_of(fixed(pattern="monthly", start_date="2027-03-08", count=2)) == [
        date(2027, 3, 9), date(2027, 4, 13)]


def test_end_date_is_inclusive_and_limits_the_span() -> None:
    schedule = fixed(end_date="2027-03-16")
    assert days_of(schedule) == [date(2027, 3, 2), date(2027, 3, 9), date(2027, 3, 16)]
    assert schedule.span(UTC_ZONE) == (utc(2027, 3, 2, 10), utc(2027, 3, 16, 10, 45))
    assert days_of(fixed(end_date="2027-03-15")) == [date(2027, 3, 2), date(2027, 3, 9)]


def test_count_limits_even_a_range_that_starts_later() -> None:
    schedule = fixed(count=3)
    # The count is of sessions since start_date, not of sessions in the range asked for.
    assert days_of(schedule, utc(2027, 3, 10)) == [date(2027, 3, 16)]
    assert schedule.span(UTC_ZONE) == (utc(2027, 3, 2, 10), utc(2027, 3, 16, 10, 45))


def test_an_open_schedule_has_no_end_and_a_listing_is_capped() -> None:
    schedule = fixed()
    assert schedule.span(UTC_ZONE) == (utc(2027, 3, 2, 10), None)
    assert len(schedule.occurrences(UTC_ZONE, EVER_START, EVER_END)) == MAX_OCCURRENCES
    assert days_of(schedule, utc(2027, 3, 3), utc(2027, 3, 17)) == [
        date(2027, 3, 9), date(2027, 3, 16)]


# --- free slots: properties ----------------------------------------------------------------

Window = tuple[int, int]  # minutes after local midnight: [start, end)


@attrs.frozen
class SlotCase:
    zone: ZoneInfo
    weekly: dict[str, list[Window]]
    exceptions: dict[date, list[Window]]
    schedule: RecurringBookable
    now: datetime
    start: datetime
    end: datetime
    taken: list[tuple[datetime, datetime]]


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def as_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def pairs(marks: list[int]) -> list[Window]:
    ordered = sorted(marks)
    # An odd last cut has no partner and is dropped.
    return list(zip(ordered[::2], ordered[1::2], strict=False))


# Sorted distinct cut points paired up: windows of one day never overlap (they may touch).
# Random cuts make short odd windows; a working day on quarter hours makes long ones.
disjoint_windows = st.one_of(
    st.lists(st.integers(0, 24 * 60 - 1), max_size=6, unique=True).map(pairs),
    st.tuples(st.integers(0, 14 * 4), st.integers(4, 9 * 4)).map(
        lambda quarters: [(quarters[0] * 15, (quarters[0] + quarters[1]) * 15)]),
)


# Each base sits a few days before a DST change in New York or Berlin, or in a quiet week.
BASES = (utc(2027, 3, 11), utc(2027, 3, 25), utc(2027, 10, 28), utc(2027, 11, 4),
         utc(2027, 6, 14))


@st.composite
def slot_cases(draw: st.DrawFn) -> SlotCase:
    zone = draw(st.sampled_from([UTC_ZONE, NEW_YORK, BERLIN]))
    per_day = st.fixed_dictionaries(dict.fromkeys(WEEKDAYS, disjoint_windows))
    every_day = disjoint_windows.map(lambda windows: dict.fromkeys(WEEKDAYS, windows))
    weekly = draw(st.one_of(per_day, every_day).filter(lambda days: any(days.values())))
    now = draw(st.sampled_from(BASES)) + timedelta(seconds=draw(st.integers(0, 5 * 86400)))
    exceptions = draw(st.dictionaries(
        st.integers(-1, 6).map(lambda n: now.date() + timedelta(days=n)), disjoint_windows,
        max_size=3))
    raw = {
        "availability": {name: [{"start": clock(a), "end": clock(b)} for a, b in windows]
                         for name, windows in weekly.items()},
        "session_minutes": draw(st.integers(5, 120)),
        "buffer_minutes": draw(st.integers(0, 60)),
        "minimum_notice_hours": draw(st.integers(0, 36)),
        "booking_window_days": draw(st.integers(1, 7)),
        "exceptions": [{"date": day.isoformat(),
                        "windows": [{"start": clock(a), "end": clock(b)} for a, b in windows]}
                       for day, windows in exceptions.items()],
    }
    schedule = parse_schedule(OfferingType.RECURRING_BOOKABLE, raw)
    assert isinstance(schedule, RecurringBookable)
    start = now + timedelta(minutes=draw(st.integers(-24 * 60, 24 * 60)))
    end = start + timedelta(minutes=draw(st.integers(24 * 60, 4 * 24 * 60)))
    # Some bookings sit exactly on offered slots, the rest anywhere near the range.
    offered = list(schedule.candidate_slots(zone, start - timedelta(days=1),
                                            end + timedelta(days=1)))
    on_slots = draw(st.lists(st.sampled_from(offered), max_size=6)) if offered else []
    anywhere = draw(st.lists(st.tuples(st.integers(-24 * 60, 5 * 24 * 60),
                                       st.integers(1, 300)), max_size=6))
    taken = [(o.starts_at, o.ends_at) for o in on_slots] + [
        (start + timedelta(minutes=at), start + timedelta(minutes=at + length))
        for at, length in anywhere]
    return SlotCase(zone, weekly, exceptions, schedule, now, start, end, taken)


def windows_of(case: SlotCase, day: date) -> list[Window]:
    if day in case.exceptions:
        return case.exceptions[day]
    return case.weekly.get(WEEKDAYS[day.weekday()], [])


def blocked(case: SlotCase, slot: Occurrence) -> bool:
    buffer = timedelta(minutes=case.schedule.buffer_minutes)
    return any(slot.starts_at < busy_end + buffer and busy_start - buffer < slot.ends_at
               for busy_start, busy_end in case.taken)


@settings(max_examples=200, deadline=None)
@given(slot_cases())
def test_free_slots_respect_windows_notice_bookings_and_each_other(case: SlotCase) -> None:
    schedule = case.schedule
    free = schedule.free_slots(case.zone, case.start, case.end, case.now, case.taken)
    earliest = case.now + timedelta(hours=schedule.minimum_notice_hours)
    latest = case.now + timedelta(days=schedule.booking_window_days)
    buffer = timedelta(minutes=schedule.buffer_minutes)
    for slot in free:
        assert slot.ends_at - slot.starts_at == timedelta(minutes=schedule.session_minutes)
        day = slot.starts_at.astimezone(case.zone).date()
        assert any(to_instant(day, as_time(a), case.zone) <= slot.starts_at
                   and slot.ends_at <= to_instant(day, as_time(b), case.zone)
                   for a, b in windows_of(case, day)), f"{slot} is outside {day}'s windows"
        assert case.start <= slot.starts_at < case.end
        assert earliest <= slot.starts_at < latest
        for busy_start, busy_end in case.taken:
            assert slot.ends_at <= busy_start - buffer or busy_end + buffer <= slot.starts_at
    for earlier, later in pairwise(free):
        assert earlier.ends_at <= later.starts_at

    offered = list(schedule.candidate_slots(case.zone, case.start, case.end))
    assert set(free) <= set(offered)
    if len(free) < MAX_OCCURRENCES:
        missing = [slot for slot in offered
                   if earliest <= slot.starts_at < latest and not blocked(case, slot)
                   and slot not in free]
        assert missing == []


# --- cancellation policy, payment options, portal ------------------------------------------

STARTS = utc(2027, 5, 20, 18)


@pytest.mark.parametrize(("policy", "now", "expected"), [
    (CancellationPolicy(), STARTS - timedelta(days=3), Outcome.FULL_REFUND),
    (CancellationPolicy(), STARTS - timedelta(hours=24), Outcome.FULL_REFUND),
    (CancellationPolicy(), STARTS - timedelta(hours=24) + timedelta(seconds=1),
     Outcome.NOTHING),
    (CancellationPolicy(), STARTS + timedelta(hours=1), Outcome.NOTHING),
    (CancellationPolicy(48, Outcome.CREDIT_RETURN, Outcome.NOTHING),
     STARTS - timedelta(hours=48), Outcome.CREDIT_RETURN),
    (CancellationPolicy(48, Outcome.FULL_REFUND, Outcome.CREDIT_RETURN),
     STARTS - timedelta(hours=48) + timedelta(seconds=1), Outcome.CREDIT_RETURN),
    (CancellationPolicy(0, Outcome.FULL_REFUND, Outcome.NOTHING), STARTS,
     Outcome.FULL_REFUND),
    (CancellationPolicy(0, Outcome.FULL_REFUND, Outcome.NOTHING),
     STARTS + timedelta(seconds=1), Outcome.NOTHING),
], ids=["days-early", "exactly-24h", "24h-less-a-second", "after-start", "exactly-48h",
        "48h-less-a-second", "zero-at-start", "zero-after-start"])
def test_cancellation_outcome_turns_late_one_second_after_hours_before(
        policy: CancellationPolicy, now: datetime, expected: Outcome) -> None:
    assert policy.outcome(STARTS, now) is expected


def test_cancellation_outcome_is_the_same_whatever_zone_now_is_read_in() -> None:
    now = (STARTS - timedelta(hours=24)).astimezone(NEW_YORK)
    assert CancellationPolicy().outcome(STARTS, now) is Outcome.FULL_REFUND


def test_payment_options_parse_and_round_trip() -> None:
    assert parse_payment_options(None) == PaymentOptions()
    assert parse_payment_options({}) == PaymentOptions()
    options = parse_payment_options({"seat_hold_minutes": 30, "cancellation": {
        "hours_before": 48, "early": "credit_return", "late": "nothing"}})
    assert options == PaymentOptions(
        CancellationPolicy(48, Outcome.CREDIT_RETURN, Outcome.NOTHING), 30)
    assert parse_payment_options(options.to_json()) == options
    assert parse_payment_options({"cancellation": {}}).cancellation == CancellationPolicy()


@pytest.mark.parametrize(("raw", "field", "code"), [
    ([], "payment_options", "offering.options"),
    ({"pay_per_session": "yes"}, "payment_options.pay_per_session", "offering.options"),
    ({"per_session_price": 5}, "payment_options.per_session_price",
     "offering.option_unavailable"),
    ({"installments": 1}, "payment_options.installments", "offering.options"),
    ({"installments": 13}, "payment_options.installments", "offering.options"),
    ({"installments": True}, "payment_options.installments", "offering.options"),
    ({"installments": "3"}, "payment_options.installments", "offering.options"),
    ({"waiting_list": True, "per_session": True}, "payment_options.per_session",
     "offering.option_unavailable"),
    ({"seat_hold_minutes": 0}, "payment_options.seat_hold_minutes", "offering.options"),
    ({"seat_hold_minutes": 24 * 60 + 1}, "payment_options.seat_hold_minutes",
     "offering.options"),
    ({"seat_hold_minutes": True}, "payment_options.seat_hold_minutes", "offering.options"),
    ({"cancellation": "24h"}, "payment_options.cancellation", "offering.policy"),
    ({"cancellation": {"hours": 24}}, "payment_options.cancellation", "offering.policy"),
    ({"cancellation": {"hours_before": -1}}, "payment_options.cancellation.hours_before",
     "offering.policy"),
    ({"cancellation": {"hours_before": 24 * 365 + 1}},
     "payment_options.cancellation.hours_before", "offering.policy"),
    ({"cancellation": {"hours_before": "24"}}, "payment_options.cancellation.hours_before",
     "offering.policy"),
    ({"cancellation": {"hours_before": False}}, "payment_options.cancellation.hours_before",
     "offering.policy"),
    ({"cancellation": {"early": "half_refund"}}, "payment_options.cancellation.early",
     "offering.policy"),
    ({"cancellation": {"late": None}}, "payment_options.cancellation.late",
     "offering.policy"),
])
def test_bad_payment_options_name_their_field(raw: Any, field: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_payment_options(raw)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_portal_config_bounds() -> None:
    assert parse_portal_config(None) == PortalConfig(0, 30)
    assert parse_portal_config({"access_before_days": 0, "access_after_days": 3650}) == \
        PortalConfig(0, 3650)
    assert parse_portal_config({"access_before_days": 3650}) == PortalConfig(3650, 30)
    config = PortalConfig(7, 90)
    assert parse_portal_config(config.to_json()) == config


@pytest.mark.parametrize(("raw", "field"), [
    ("7", "portal_config"),
    ({"unlock": "always"}, "portal_config"),
    ({"access_before_days": -1}, "portal_config.access_before_days"),
    ({"access_before_days": 3651}, "portal_config.access_before_days"),
    ({"access_before_days": True}, "portal_config.access_before_days"),
    ({"access_after_days": "30"}, "portal_config.access_after_days"),
    ({"access_after_days": 3651}, "portal_config.access_after_days"),
])
def test_bad_portal_config_names_its_field(raw: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_portal_config(raw)
    assert (caught.value.field, caught.value.code) == (field, "offering.portal")


# --- the Offering's own validation --------------------------------------------------------

BASE_FIELDS: Raw = {"title": "Morning flow", "offering_type": "one_time_event",
                    "schedule": EVENT, "capacity_type": "small_group", "max_participants": 12,
                    "delivery_method": "online"}


def offering(**fields: Any) -> Offering:
    return Offering.create(id=uuid4(), creator_id=uuid4(), slug=Slug("morning-flow"), now=T0,
                           currency="usd", fields={**BASE_FIELDS, **fields})


def refused(**fields: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        offering(**fields)
    return caught.value


def test_a_valid_offering_is_a_draft_with_a_parsed_schedule() -> None:
    made = offering(description="  Slow start  ")
    assert made.status is OfferingStatus.DRAFT
    assert made.schedule == parse_schedule(OfferingType.ONE_TIME_EVENT, EVENT)
    assert (made.title, made.description, made.max_participants) == (
        "Morning flow", "Slow start", 12)
    assert made.created_at == made.updated_at == T0


def test_one_on_one_is_one_seat_and_refuses_two() -> None:
    assert offering(capacity_type="one_on_one", max_participants=None).max_participants == 1
    alone = offering(capacity_type="one_on_one", max_participants=1)
    assert alone.seats_per_session == 1
    error = refused(capacity_type="one_on_one", max_participants=2)
    assert (error.field, error.code) == ("max_participants", "offering.capacity")


def test_unlimited_has_no_max_participants() -> None:
    assert offering(capacity_type="unlimited", max_participants=None).seats_per_session is None
    error = refused(capacity_type="unlimited", max_participants=50)
    assert (error.field, error.code) == ("max_participants", "offering.capacity")


@pytest.mark.parametrize("capacity", [CapacityType.SMALL_GROUP, CapacityType.LARGE_GROUP])
@pytest.mark.parametrize("seats", [None, 0, -3, MAX_PARTICIPANTS + 1, True, "12", 12.0])
def test_a_group_needs_a_sensible_max_participants(capacity: CapacityType, seats: Any
                                                   ) -> None:
    error = refused(capacity_type=capacity.value, max_participants=seats)
    assert (error.field, error.code) == ("max_participants", "offering.capacity")


@pytest.mark.parametrize("delivery", ["in_person", "hybrid"])
@pytest.mark.parametrize("location", [None, "", "   "])
def test_in_person_and_hybrid_need_a_location(delivery: str, location: str | None) -> None:
    error = refused(delivery_method=delivery, location_details=location)
    assert (error.field, error.code) == ("location_details", "validation.required")
    made = offering(delivery_method=delivery, location_details=" Studio 2, Main St ")
    assert made.location_details == "Studio 2, Main St"


def test_online_needs_no_location() -> None:
    assert offering(delivery_method="online").location_details is None


@pytest.mark.parametrize("url", ["ftp://files.example.com/x", "zoom.us/j/123",
                                 "javascript:alert(1)", "HTTPS//example.com"])
def test_join_url_must_be_http(url: str) -> None:
    error = refused(join_url=url)
    assert (error.field, error.code) == ("join_url", "offering.invalid")


def test_an_http_join_url_is_kept() -> None:
    assert offering(join_url="https://zoom.us/j/123").join_url == "https://zoom.us/j/123"
    assert offering(join_url="http://meet.example/a").join_url == "http://meet.example/a"


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"title": "  "}, "title", "validation.required"),
    ({"offering_type": "webinar"}, "offering_type", "offering.invalid"),
    ({"capacity_type": "crowd"}, "capacity_type", "offering.invalid"),
    ({"delivery_method": "carrier_pigeon"}, "delivery_method", "offering.invalid"),
    ({"schedule": {**EVENT, "date": "tomorrow"}}, "schedule.date", "schedule.date"),
    ({"offering_type": "retreat"}, "schedule.date", "schedule.unknown_field"),
    ({"credit_cost": 0}, "credit_cost", "offering.invalid"),
    ({"credit_cost": True}, "credit_cost", "offering.invalid"),
    ({"price": "twelve"}, "price", "validation.money"),
    ({"timezone": "Mars/Olympus"}, "timezone", "validation.timezone"),
    ({"registration_deadline": datetime(2027, 6, 1)}, "registration_deadline",
     "offering.invalid"),
    ({"payment_options": {"installments": 3}}, "payment_options.installments",
     "offering.options"),  # no price to split
    ({"payment_options": {"pay_per_session": True}}, "payment_options.pay_per_session",
     "offering.options"),  # only for recurring classes
    ({"portal_config": {"access_after_days": -1}}, "portal_config.access_after_days",
     "offering.portal"),
    ({"slug": "x"}, "slug", "offering.unknown_field"),
])
def test_create_names_the_bad_field(fields: Raw, field: str, code: str) -> None:
    error = refused(**fields)
    assert (error.field, error.code) == (field, code)


@pytest.mark.parametrize("missing", ["title", "offering_type", "schedule", "capacity_type",
                                     "delivery_method"])
def test_create_needs_the_essentials(missing: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Offering.create(id=uuid4(), creator_id=uuid4(), slug=Slug("a"), now=T0,
                        currency="usd", fields=without(BASE_FIELDS, missing))
    assert (caught.value.field, caught.value.code) == (missing, "validation.required")


def test_publishing_needs_a_price_or_a_credit_cost() -> None:
    draft = offering()
    later = T0 + timedelta(hours=1)
    with pytest.raises(OfferingStateError) as caught:
        draft.publish(later)
    assert caught.value.code == "offering.no_price"
    assert (draft.status, draft.published_at, draft.updated_at) == (
        OfferingStatus.DRAFT, None, T0)

    priced = offering(price="25")
    assert priced.price == Money("25.00", "usd")
    priced.publish(later)
    assert (priced.status, priced.published_at) == (OfferingStatus.PUBLISHED, later)

    for_credits = offering(credit_cost=3)
    for_credits.publish(later)
    assert for_credits.is_live


@pytest.mark.parametrize("changes", [
    {"join_url": "ftp://x"},
    {"capacity_type": "unlimited"},
    {"delivery_method": "in_person"},
    {"schedule": {**EVENT, "duration_minutes": 0}},
    {"offering_type": "recurring_bookable"},
    {"payment_options": {"cancellation": {"hours_before": -1}}},
    {"timezone": "Nowhere/Special"},
    {"price": "1e999999999"},
    {"booking_count": 4},
], ids=lambda changes: next(iter(changes)))
def test_a_failed_edit_changes_nothing(changes: Raw) -> None:
    made = offering(description="Before", price="10")
    before = attrs.asdict(made, recurse=False)
    with pytest.raises(ValidationError):
        made.edit({"title": "After", "description": "After", **changes},
                  T0 + timedelta(days=1))
    assert attrs.asdict(made, recurse=False) == before


def test_a_good_edit_applies_everything_at_once() -> None:
    made = offering()
    later = T0 + timedelta(days=1)
    made.edit({"title": "Evening flow", "offering_type": "recurring_fixed",
               "schedule": WEEKLY, "capacity_type": "one_on_one", "max_participants": None},
              later)
    assert (made.title, made.offering_type, made.capacity_type, made.max_participants,
            made.updated_at) == ("Evening flow", OfferingType.RECURRING_FIXED,
                                 CapacityType.ONE_ON_ONE, 1, later)
    assert made.schedule == parse_schedule(OfferingType.RECURRING_FIXED, WEEKLY)


@pytest.mark.parametrize(("fields", "platform_zone", "span"), [
    ({}, "America/New_York", (utc(2027, 6, 5, 22, 30), utc(2027, 6, 6, 0, 0))),
    ({"timezone": "Europe/Berlin"}, "America/New_York",
     (utc(2027, 6, 5, 16, 30), utc(2027, 6, 5, 18, 0))),
    ({"offering_type": "recurring_fixed", "schedule": WEEKLY}, "America/New_York",
     (utc(2027, 3, 2, 23), utc(2027, 3, 23, 23))),
    ({"offering_type": "recurring_fixed", "schedule": without(WEEKLY, "count"),
      "payment_options": {"pay_per_session": True}}, "UTC", (utc(2027, 3, 2, 18), None)),
    ({"offering_type": "recurring_bookable", "schedule": BOOKABLE,
      "capacity_type": "one_on_one", "max_participants": None}, "Europe/Berlin",
     (None, None)),
    ({"offering_type": "multi_day_program", "schedule": PROGRAM}, "Europe/Berlin",
     (utc(2027, 10, 30, 7), utc(2027, 11, 1, 10))),
    ({"offering_type": "cohort_course", "schedule": COHORTS}, "America/New_York",
     (utc(2027, 3, 1, 23), utc(2027, 4, 12, 23))),
    ({"offering_type": "retreat", "schedule": RETREAT, "delivery_method": "in_person",
      "location_details": "Uckermark"}, "Europe/Berlin",
     (utc(2027, 7, 1, 13), utc(2027, 7, 4, 9))),
], ids=["event-platform-zone", "event-own-zone", "weekly-count", "weekly-open", "bookable",
        "program", "cohorts", "retreat"])
def test_locate_sets_the_span_in_the_offering_zone(
        fields: Raw, platform_zone: str, span: tuple[datetime | None, datetime | None]
) -> None:
    made = offering(**fields)
    assert (made.starts_at, made.ends_at) == (None, None)
    made.locate(platform_zone)
    assert (made.starts_at, made.ends_at) == span


# -- a recurring class: one series, or session by session ---------------------------------


def test_a_recurring_class_is_one_series_unless_paid_per_session() -> None:
    series = offering(offering_type="recurring_fixed", schedule=WEEKLY)
    assert series.whole_series
    found = series.occurrences(ZoneInfo("UTC"), utc(2027, 3, 1), utc(2027, 4, 1))
    assert len(found) == 4
    assert {o.key for o in found} == {"series"}  # one seat pool for every session

    drop_in = offering(offering_type="recurring_fixed", schedule=WEEKLY,
                       payment_options={"pay_per_session": True})
    assert not drop_in.whole_series
    keys = [o.key for o in drop_in.occurrences(ZoneInfo("UTC"), utc(2027, 3, 1),
                                               utc(2027, 4, 1))]
    assert len(set(keys)) == 4  # a seat pool per session


def test_a_series_without_an_end_is_only_booked_per_session() -> None:
    caught = refused(offering_type="recurring_fixed", schedule=without(WEEKLY, "count"))
    assert (caught.field, caught.code) == ("payment_options.pay_per_session",
                                           "offering.options")
    caught = refused(payment_options={"pay_per_session": True})  # a one-time event
    assert (caught.field, caught.code) == ("payment_options.pay_per_session",
                                           "offering.options")


def test_an_offering_with_bookings_keeps_how_it_is_booked() -> None:
    made = offering(offering_type="recurring_fixed", schedule=WEEKLY)
    made.booking_count = 1
    with pytest.raises(OfferingStateError) as caught:
        made.edit({"payment_options": {"pay_per_session": True}}, T0)
    assert (caught.value.field, caught.value.code) == ("payment_options.pay_per_session",
                                                       "offering.has_bookings")
    made.edit({"payment_options": {"waitlist": True}}, T0)  # other options still change
    assert made.payment_options.waitlist and made.whole_series
