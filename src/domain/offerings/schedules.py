"""Typed schedules: one value object per offering type, validated on write.

Times are local to the offering's time zone and turned into instants with
``zoneinfo``. On a spring-forward day a local time that does not exist (02:30 in
New York on the second Sunday of March) lands one hour later, at the same instant
a wall clock would show as 03:30, as calendar apps do; on a fall-back day a time
that happens twice (01:30 on the first Sunday of November) is its first occurrence.

Each schedule yields ``Occurrence``s: the sessions a booking can be for. Their
``key`` names the seat pool: one per session for events and classes, one per
cohort for a cohort course, one for the whole of a program or a retreat.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import attrs

from domain.errors import ValidationError

MAX_DURATION_MINUTES = 24 * 60 * 14
MAX_DAYS = 366
MAX_OCCURRENCES = 1000  # a listing never expands more than this
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class OfferingType(enum.StrEnum):
    ONE_TIME_EVENT = "one_time_event"
    MULTI_DAY_PROGRAM = "multi_day_program"
    RECURRING_FIXED = "recurring_fixed"
    RECURRING_BOOKABLE = "recurring_bookable"
    COHORT_COURSE = "cohort_course"
    RETREAT = "retreat"


@attrs.frozen(order=True)
class Occurrence:
    starts_at: datetime  # UTC
    ends_at: datetime
    key: str  # the seat pool this session belongs to
    title: str | None = None


def to_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local date and time (see the module's note on DST)."""
    # fold=0 does both: a skipped time takes the offset from before the change (so it
    # lands an hour later on the wall clock), a repeated time its first occurrence.
    return datetime.combine(day, at, tzinfo=zone).replace(fold=0).astimezone(UTC)


# --- parsing helpers: every error names its field --------------------------------------


def _obj(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError("Expected an object.", code="schedule.invalid", field=field)
    return value


def _list(value: Any, field: str, *, most: int, least: int = 1) -> Sequence[Any]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not (
            least <= len(value) <= most):
        raise ValidationError(f"Expected a list of {least} to {most} entries.",
                              code="schedule.invalid", field=field)
    return value


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError(f"Unknown schedule field {name!r}.", code="schedule.unknown_field",
                              field=f"{where}{name}")


EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def _date(value: Any, field: str) -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Expected a date like 2027-03-14.", code="schedule.date",
                              field=field) from None
    # Far-off years are typing mistakes, and near year 1 or 9999 a zone's offset would
    # carry an instant off the calendar.
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValidationError(f"Expected a date from {EARLIEST_YEAR} to {LATEST_YEAR}.",
                              code="schedule.date", field=field)
    return day


_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _time(value: Any, field: str) -> time:
    try:
        # Exactly HH:MM: fromisoformat alone takes "1830Z", a time with its own zone.
        if not isinstance(value, str) or not _HH_MM.match(value):
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError("Expected a time like 18:30.", code="schedule.time",
                              field=field) from None


def _int(value: Any, field: str, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise ValidationError(f"Expected a whole number from {least} to {most}.",
                              code="schedule.number", field=field)
    return value


def _weekday(value: Any, field: str) -> int:
    if value not in WEEKDAYS:
        raise ValidationError(f"Expected one of {', '.join(WEEKDAYS)}.",
                              code="schedule.weekday", field=field)
    return WEEKDAYS.index(value)


def _text(value: Any, field: str, most: int = 500) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > most:
        raise ValidationError(f"Expected text of at most {most} characters.",
                              code="schedule.invalid", field=field)
    return value.strip() or None


def _window(raw: Any, field: str) -> tuple[time, time]:
    window = _obj(raw, field)
    _only(window, {"start", "end"}, f"{field}.")
    start, end = _time(window.get("start"), f"{field}.start"), _time(window.get("end"),
                                                                        f"{field}.end")
    if end <= start:
        raise ValidationError("A window ends after it starts.", code="schedule.window",
                              field=f"{field}.end")
    return start, end


class Schedule(Protocol):
    type: OfferingType

    def to_json(self) -> dict[str, Any]: ...

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime
                    ) -> list[Occurrence]:
        """Sessions that start in [start, end), soonest first."""
        ...

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """When the offering begins, and ends (None: open, bookable any time)."""
        ...


def _between(found: Iterator[Occurrence], start: datetime, end: datetime) -> list[Occurrence]:
    out: list[Occurrence] = []
    for occurrence in found:
        if occurrence.starts_at >= end or len(out) >= MAX_OCCURRENCES:
            break
        if occurrence.starts_at >= start:
            out.append(occurrence)
    return out


def _session(day: date, at: time, minutes: int, zone: ZoneInfo, key: str | None = None,
             title: str | None = None) -> Occurrence:
    begins = to_instant(day, at, zone)
    ends = begins + timedelta(minutes=minutes)
    return Occurrence(begins, ends, key or begins.isoformat(), title)


# --- the six schedules --------------------------------------------------------------------


@attrs.frozen
class OneTimeEvent:
    day: date
    start_time: time
    duration_minutes: int
    type = OfferingType.ONE_TIME_EVENT

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> OneTimeEvent:
        _only(raw, {"date", "start_time", "duration_minutes"}, "schedule.")
        return cls(_date(raw.get("date"), "schedule.date"),
                   _time(raw.get("start_time"), "schedule.start_time"),
                   _int(raw.get("duration_minutes"), "schedule.duration_minutes", 1,
                        MAX_DURATION_MINUTES))

    def to_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "start_time": self.start_time.strftime("%H:%M"),
                "duration_minutes": self.duration_minutes}

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
        return _between(iter([_session(self.day, self.start_time, self.duration_minutes,
                                       zone)]), start, end)

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        one = _session(self.day, self.start_time, self.duration_minutes, zone)
        return one.starts_at, one.ends_at


@attrs.frozen
class ProgramDay:
    day: date
    start_time: time
    duration_minutes: int
    title: str | None = None


@attrs.frozen
class MultiDayProgram:
    """Booked as a whole: one seat pool for every day of it."""

    days: tuple[ProgramDay, ...]
    type = OfferingType.MULTI_DAY_PROGRAM

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> MultiDayProgram:
        _only(raw, {"days"}, "schedule.")
        days = []
        for n, item in enumerate(_list(raw.get("days"), "schedule.days", most=MAX_DAYS)):
            where = f"schedule.days[{n}]"
            entry = _obj(item, where)
            _only(entry, {"date", "start_time", "duration_minutes", "title"}, f"{where}.")
            days.append(ProgramDay(_date(entry.get("date"), f"{where}.date"),
                                   _time(entry.get("start_time"), f"{where}.start_time"),
                                   _int(entry.get("duration_minutes"),
                                        f"{where}.duration_minutes", 1, 24 * 60),
                                   _text(entry.get("title"), f"{where}.title")))
        ordered = sorted(days, key=lambda d: (d.day, d.start_time))
        if len({(d.day, d.start_time) for d in ordered}) != len(ordered):
            raise ValidationError("Two sessions at the same time.", code="schedule.duplicate",
                                  field="schedule.days")
        return cls(tuple(ordered))

    def to_json(self) -> dict[str, Any]:
        return {"days": [{"date": d.day.isoformat(), "start_time": d.start_time.strftime("%H:%M"),
                          "duration_minutes": d.duration_minutes,
                          **({"title": d.title} if d.title else {})} for d in self.days]}

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
        return _between(iter([_session(d.day, d.start_time, d.duration_minutes, zone,
                                       "program", d.title) for d in self.days]), start, end)

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        first, last = self.days[0], self.days[-1]
        return (_session(first.day, first.start_time, first.duration_minutes, zone).starts_at,
                _session(last.day, last.start_time, last.duration_minutes, zone).ends_at)


class Pattern(enum.StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"  # the same weekday of the month's same week ("2nd Tuesday")


@attrs.frozen
class RecurringFixed:
    pattern: Pattern
    weekday: int
    start_time: time
    duration_minutes: int
    start_date: date
    end_date: date | None = None
    count: int | None = None
    type = OfferingType.RECURRING_FIXED

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RecurringFixed:
        _only(raw, {"pattern", "day", "time", "duration_minutes", "start_date", "end_date",
                    "count"}, "schedule.")
        try:
            pattern = Pattern(str(raw.get("pattern")))
        except ValueError:
            raise ValidationError("pattern is weekly, biweekly or monthly.",
                                  code="schedule.pattern", field="schedule.pattern") from None
        weekday = _weekday(raw.get("day"), "schedule.day")
        start = _date(raw.get("start_date"), "schedule.start_date")
        end = _date(raw["end_date"], "schedule.end_date") if raw.get("end_date") else None
        count = (_int(raw["count"], "schedule.count", 1, MAX_OCCURRENCES)
                 if raw.get("count") is not None else None)
        if end is not None and count is not None:
            raise ValidationError("Give end_date or count, not both.", code="schedule.invalid",
                                  field="schedule.count")
        if end is not None and end < start:
            raise ValidationError("end_date is before start_date.", code="schedule.date",
                                  field="schedule.end_date")
        schedule = cls(pattern, weekday, _time(raw.get("time"), "schedule.time"),
                       _int(raw.get("duration_minutes"), "schedule.duration_minutes", 1,
                            24 * 60), start, end, count)
        if next(schedule._days(), None) is None:
            raise ValidationError("No session falls between start_date and end_date.",
                                  code="schedule.date", field="schedule.end_date")
        return schedule

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pattern": self.pattern.value, "day": WEEKDAYS[self.weekday],
                               "time": self.start_time.strftime("%H:%M"),
                               "duration_minutes": self.duration_minutes,
                               "start_date": self.start_date.isoformat()}
        if self.end_date is not None:
            out["end_date"] = self.end_date.isoformat()
        if self.count is not None:
            out["count"] = self.count
        return out

    def _days(self, earliest: date | None = None) -> Iterator[date]:
        """The session days in order; with ``earliest``, from there on (a series of
        ``count`` still ends after its last)."""
        first = self.start_date + timedelta(days=(self.weekday - self.start_date.weekday()) % 7)
        made = 0
        if self.pattern is Pattern.MONTHLY:
            nth = (first.day - 1) // 7
            year, month = first.year, first.month
            while True:
                candidate = _nth_weekday(year, month, self.weekday, nth)
                if candidate is not None and candidate >= self.start_date:
                    if self._over(candidate, made):
                        return
                    made += 1
                    yield candidate
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        step = timedelta(days=14 if self.pattern is Pattern.BIWEEKLY else 7)
        day = first
        if earliest is not None and earliest > first:
            # A fixed step: the days before ``earliest`` are counted, not walked.
            made = -(-(earliest - first).days // step.days)
            day = first + step * made
        while not self._over(day, made):
            made += 1
            yield day
            day += step

    def _over(self, day: date, made: int) -> bool:
        return ((self.end_date is not None and day > self.end_date)
                or (self.count is not None and made >= self.count)
                or day.year > LATEST_YEAR)

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
        # The days before the window are skipped (counted, for a series of ``count``),
        # not made into sessions: a class booked years ahead would otherwise convert
        # hundreds of local times. A session falls on the UTC day before, on or
        # after its local day, so two days' margin skips none that could be in the window.
        earliest = (start.astimezone(UTC) - timedelta(days=2)).date()
        return _between((_session(d, self.start_time, self.duration_minutes, zone)
                         for d in self._days(earliest) if d >= earliest), start, end)

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        days = self._days()
        first = next(days)
        last: date | None = None
        if self.end_date is not None or self.count is not None:
            for last in days:  # noqa: B007 - the last one is what we want
                pass
            last = last or first
        return (to_instant(first, self.start_time, zone),
                _session(last, self.start_time, self.duration_minutes, zone).ends_at
                if last else None)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * nth)
    return day if day.month == month else None


@attrs.frozen
class RecurringBookable:
    """Weekly availability from which customers book single sessions (1:1 and the like)."""

    availability: tuple[tuple[int, time, time], ...]  # (weekday, start, end)
    session_minutes: int
    buffer_minutes: int = 0
    minimum_notice_hours: int = 0
    booking_window_days: int = 30
    # date -> windows that day (an empty tuple: closed)
    exceptions: tuple[tuple[date, tuple[tuple[time, time], ...]], ...] = ()
    type = OfferingType.RECURRING_BOOKABLE

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RecurringBookable:
        _only(raw, {"availability", "session_minutes", "buffer_minutes", "minimum_notice_hours",
                    "booking_window_days", "exceptions"}, "schedule.")
        availability: list[tuple[int, time, time]] = []
        days = _obj(raw.get("availability"), "schedule.availability")
        for name, windows in days.items():
            weekday = _weekday(name, f"schedule.availability.{name}")
            for n, window in enumerate(_list(windows, f"schedule.availability.{name}",
                                             most=24, least=0)):
                start, end = _window(window, f"schedule.availability.{name}[{n}]")
                availability.append((weekday, start, end))
        if not availability:
            raise ValidationError("Give at least one availability window.",
                                  code="schedule.invalid", field="schedule.availability")
        ordered = sorted(availability)
        for earlier, later in itertools.pairwise(ordered):
            if earlier[0] == later[0] and later[1] < earlier[2]:
                raise ValidationError("Two windows of one day overlap.",
                                      code="schedule.window_overlap",
                                      field=f"schedule.availability.{WEEKDAYS[later[0]]}")
        exceptions: list[tuple[date, tuple[tuple[time, time], ...]]] = []
        for n, item in enumerate(_list(raw.get("exceptions", []), "schedule.exceptions",
                                       most=MAX_DAYS, least=0)):
            where = f"schedule.exceptions[{n}]"
            entry = _obj(item, where)
            _only(entry, {"date", "windows"}, f"{where}.")
            windows = tuple(sorted(_window(w, f"{where}.windows[{k}]") for k, w in enumerate(
                _list(entry.get("windows", []), f"{where}.windows", most=24, least=0))))
            if any(b[0] < a[1] for a, b in itertools.pairwise(windows)):
                raise ValidationError("Two windows of one day overlap.",
                                      code="schedule.window_overlap", field=f"{where}.windows")
            day = _date(entry.get("date"), f"{where}.date")
            if any(day == seen for seen, _ in exceptions):
                raise ValidationError("Two exceptions for the same date.",
                                      code="schedule.duplicate", field=f"{where}.date")
            exceptions.append((day, windows))
        return cls(tuple(sorted(availability)),
                   _int(raw.get("session_minutes"), "schedule.session_minutes", 5, 24 * 60),
                   _int(raw.get("buffer_minutes", 0), "schedule.buffer_minutes", 0, 24 * 60),
                   _int(raw.get("minimum_notice_hours", 0), "schedule.minimum_notice_hours", 0,
                        24 * 90),
                   _int(raw.get("booking_window_days", 30), "schedule.booking_window_days", 1,
                        366),
                   tuple(sorted(exceptions)))

    def to_json(self) -> dict[str, Any]:
        availability: dict[str, list[dict[str, str]]] = {}
        for weekday, start, end in self.availability:
            availability.setdefault(WEEKDAYS[weekday], []).append(
                {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
        return {"availability": availability, "session_minutes": self.session_minutes,
                "buffer_minutes": self.buffer_minutes,
                "minimum_notice_hours": self.minimum_notice_hours,
                "booking_window_days": self.booking_window_days,
                "exceptions": [{"date": d.isoformat(),
                                "windows": [{"start": s.strftime("%H:%M"),
                                             "end": e.strftime("%H:%M")} for s, e in w]}
                               for d, w in self.exceptions]}

    def windows_on(self, day: date) -> tuple[tuple[time, time], ...]:
        for exception_day, windows in self.exceptions:
            if exception_day == day:
                return windows
        return tuple((s, e) for w, s, e in self.availability if w == day.weekday())

    def candidate_slots(self, zone: ZoneInfo, start: datetime, end: datetime
                        ) -> Iterator[Occurrence]:
        """Every slot the availability offers in [start, end), ignoring bookings."""
        length = timedelta(minutes=self.session_minutes)
        return (Occurrence(at, at + length, at.isoformat())
                for at in self._slot_starts(zone, start, end))

    def _slot_starts(self, zone: ZoneInfo, start: datetime, end: datetime
                     ) -> Iterator[datetime]:
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date()
        length = timedelta(minutes=self.session_minutes)
        step = length + timedelta(minutes=self.buffer_minutes)
        while day <= last:
            for window_start, window_end in self.windows_on(day):
                opens = to_instant(day, window_start, zone)
                closes = to_instant(day, window_end, zone)
                at = opens
                while at + length <= closes:
                    if start <= at < end:
                        yield at
                    at += step
            day += timedelta(days=1)

    def free_slots(self, zone: ZoneInfo, start: datetime, end: datetime, now: datetime,
                   taken: Sequence[tuple[datetime, datetime]]) -> list[Occurrence]:
        """Slots a customer may book now: inside the booking window, after the minimum
        notice, and clear of every taken session and its buffer on either side."""
        earliest = max(start, now + timedelta(hours=self.minimum_notice_hours))
        latest = min(end, now + timedelta(days=self.booking_window_days))
        buffer = timedelta(minutes=self.buffer_minutes)
        # Busy times widened by the buffer, sorted and merged: each slot is then checked
        # against the one interval that could overlap it (a busy calendar stays cheap).
        merged: list[tuple[datetime, datetime]] = []
        for busy_start, busy_end in sorted(taken):
            low, high = busy_start - buffer, busy_end + buffer
            if merged and low <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], high))
            else:
                merged.append((low, high))
        starts = [low for low, _ in merged]
        length = timedelta(minutes=self.session_minutes)
        free = []
        # A slot is made only once it is known to be free: on a busy calendar most are not.
        for begins in self._slot_starts(zone, earliest, latest):
            ends = begins + length
            at = bisect.bisect_left(starts, ends) - 1
            if at >= 0 and merged[at][1] > begins:
                continue
            free.append(Occurrence(begins, ends, begins.isoformat()))
            if len(free) >= MAX_OCCURRENCES:
                break
        return free

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
        return list(self.candidate_slots(zone, start, end))[:MAX_OCCURRENCES]

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        return None, None


@attrs.frozen
class CohortSession:
    offset_days: int
    start_time: time
    duration_minutes: int
    title: str | None = None


@attrs.frozen
class CohortCourse:
    """Customers join a cohort; every cohort follows the same session plan."""

    cohorts: tuple[date, ...]
    plan: tuple[CohortSession, ...]
    type = OfferingType.COHORT_COURSE

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CohortCourse:
        _only(raw, {"cohorts", "sessions"}, "schedule.")
        cohorts = []
        for n, item in enumerate(_list(raw.get("cohorts"), "schedule.cohorts", most=100)):
            entry = _obj(item, f"schedule.cohorts[{n}]")
            _only(entry, {"start_date"}, f"schedule.cohorts[{n}].")
            cohorts.append(_date(entry.get("start_date"), f"schedule.cohorts[{n}].start_date"))
        if len(set(cohorts)) != len(cohorts):
            raise ValidationError("Two cohorts start on the same day.",
                                  code="schedule.duplicate", field="schedule.cohorts")
        plan = []
        for n, item in enumerate(_list(raw.get("sessions"), "schedule.sessions", most=200)):
            where = f"schedule.sessions[{n}]"
            entry = _obj(item, where)
            _only(entry, {"offset_days", "start_time", "duration_minutes", "title"}, f"{where}.")
            plan.append(CohortSession(
                _int(entry.get("offset_days"), f"{where}.offset_days", 0, 730),
                _time(entry.get("start_time"), f"{where}.start_time"),
                _int(entry.get("duration_minutes"), f"{where}.duration_minutes", 1, 24 * 60),
                _text(entry.get("title"), f"{where}.title")))
        return cls(tuple(sorted(cohorts)), tuple(sorted(plan, key=lambda s: (
            s.offset_days, s.start_time))))

    def to_json(self) -> dict[str, Any]:
        return {"cohorts": [{"start_date": c.isoformat()} for c in self.cohorts],
                "sessions": [{"offset_days": s.offset_days,
                              "start_time": s.start_time.strftime("%H:%M"),
                              "duration_minutes": s.duration_minutes,
                              **({"title": s.title} if s.title else {})} for s in self.plan]}

    @staticmethod
    def key(cohort: date) -> str:
        return f"cohort:{cohort.isoformat()}"

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
        every = sorted(_session(c + timedelta(days=s.offset_days), s.start_time,
                                s.duration_minutes, zone, self.key(c), s.title)
                       for c in self.cohorts for s in self.plan)
        return _between(iter(every), start, end)

    def cohort_span(self, cohort: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        sessions = [_session(cohort + timedelta(days=s.offset_days), s.start_time,
                             s.duration_minutes, zone) for s in self.plan]
        return sessions[0].starts_at, max(s.ends_at for s in sessions)

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        return (self.cohort_span(self.cohorts[0], zone)[0],
                self.cohort_span(self.cohorts[-1], zone)[1])


@attrs.frozen
class Retreat:
    start_date: date
    end_date: date
    location: str
    check_in: time = time(15, 0)
    check_out: time = time(11, 0)
    type = OfferingType.RETREAT

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Retreat:
        _only(raw, {"start_date", "end_date", "location", "check_in", "check_out"}, "schedule.")
        start = _date(raw.get("start_date"), "schedule.start_date")
        end = _date(raw.get("end_date"), "schedule.end_date")
        if end < start:
            raise ValidationError("end_date is before start_date.", code="schedule.date",
                                  field="schedule.end_date")
        location = _text(raw.get("location"), "schedule.location", 1000)
        if not location or not location.strip():
            raise ValidationError("A retreat has a location.", code="schedule.invalid",
                                  field="schedule.location")
        check_in = _time(raw.get("check_in", "15:00"), "schedule.check_in")
        check_out = _time(raw.get("check_out", "11:00"), "schedule.check_out")
        if end == start and check_out <= check_in:
            raise ValidationError("A one-day retreat checks out after it checks in.",
                                  code="schedule.time", field="schedule.check_out")
        return cls(start, end, location.strip(), check_in, check_out)

    def to_json(self) -> dict[str, Any]:
        return {"start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat(),
                "location": self.location, "check_in": self.check_in.strftime("%H:%M"),
                "check_out": self.check_out.strftime("%H:%M")}

    def _stay(self, zone: ZoneInfo) -> Occurrence:
        return Occurrence(to_instant(self.start_date, self.check_in, zone),
                          to_instant(self.end_date, self.check_out, zone), "retreat")

    def occurrences(self, zone: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
        return _between(iter([self._stay(zone)]), start, end)

    def span(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        stay = self._stay(zone)
        return stay.starts_at, stay.ends_at


_PARSERS: dict[OfferingType, Any] = {
    OfferingType.ONE_TIME_EVENT: OneTimeEvent, OfferingType.MULTI_DAY_PROGRAM: MultiDayProgram,
    OfferingType.RECURRING_FIXED: RecurringFixed,
    OfferingType.RECURRING_BOOKABLE: RecurringBookable, OfferingType.COHORT_COURSE: CohortCourse,
    OfferingType.RETREAT: Retreat,
}


def parse_schedule(offering_type: OfferingType, raw: Any) -> Schedule:
    """The schedule of an offering of this type; ValidationError names the bad field."""
    schedule: Schedule = _PARSERS[offering_type].parse(_obj(raw, "schedule"))
    return schedule
