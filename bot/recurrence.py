"""Repeat rules for scheduled notices: once, weekly, monthly on the Nth (or last) weekday,
monthly on a day of the month. Pure functions: rules are read in the community's time
zone and every occurrence comes back as an aware UTC datetime."""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

LAST = -1  # `nth` for "the last <weekday> of the month"
MAX_YEARS = 20  # search horizon: a rule with no occurrence in 20 years has none


class Repeat(enum.StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY_NTH = "monthly_nth"  # e.g. the 2nd Tuesday, the last Friday
    MONTHLY_DAY = "monthly_day"  # e.g. the 15th; the 31st becomes the 30th in 30-day months


class RuleError(ValueError):
    """An impossible rule; the message names the field."""


@dataclass(frozen=True, slots=True)
class Rule:
    repeat: Repeat
    time: dt.time  # local wall-clock time in the community's zone
    start: dt.date | None = None  # first possible date (the date itself for ONCE)
    until: dt.date | None = None  # last possible date, inclusive
    weekdays: tuple[int, ...] = ()  # WEEKLY: 0 = Monday
    weekday: int = 0  # MONTHLY_NTH
    nth: int = 1  # MONTHLY_NTH: 1..5 or LAST
    day: int = 1  # MONTHLY_DAY: 1..31, clamped to the month's last day

    def __post_init__(self) -> None:
        if self.repeat is Repeat.ONCE and self.start is None:
            raise RuleError("start: a one-off notice needs a date")
        if self.repeat is Repeat.WEEKLY and (
            not self.weekdays or any(not 0 <= d <= 6 for d in self.weekdays)
        ):
            raise RuleError("weekdays: at least one weekday (0 = Monday … 6 = Sunday)")
        if self.repeat is Repeat.MONTHLY_NTH:
            if not 0 <= self.weekday <= 6:
                raise RuleError("weekday: 0 = Monday … 6 = Sunday")
            if self.nth != LAST and not 1 <= self.nth <= 5:
                raise RuleError("nth: 1 to 5, or last")
        if self.repeat is Repeat.MONTHLY_DAY and not 1 <= self.day <= 31:
            raise RuleError("day: 1 to 31")
        if self.start is not None and self.until is not None and self.until < self.start:
            raise RuleError("until: before start")


# --- serialisation (rules are stored as JSON text in SQLite) ---------------------------


def to_json(rule: Rule) -> str:
    data: dict[str, Any] = {"repeat": rule.repeat.value, "time": rule.time.strftime("%H:%M")}
    if rule.start is not None:
        data["start"] = rule.start.isoformat()
    if rule.until is not None:
        data["until"] = rule.until.isoformat()
    if rule.repeat is Repeat.WEEKLY:
        data["weekdays"] = list(rule.weekdays)
    elif rule.repeat is Repeat.MONTHLY_NTH:
        data["weekday"], data["nth"] = rule.weekday, rule.nth
    elif rule.repeat is Repeat.MONTHLY_DAY:
        data["day"] = rule.day
    return json.dumps(data, separators=(",", ":"))


def from_json(text: str) -> Rule:
    data = json.loads(text)
    hours, minutes = data["time"].split(":")
    return Rule(
        repeat=Repeat(data["repeat"]),
        time=dt.time(int(hours), int(minutes)),
        start=None if "start" not in data else dt.date.fromisoformat(data["start"]),
        until=None if "until" not in data else dt.date.fromisoformat(data["until"]),
        weekdays=tuple(data.get("weekdays", ())),
        weekday=int(data.get("weekday", 0)),
        nth=int(data.get("nth", 1)),
        day=int(data.get("day", 1)),
    )


# --- calendar arithmetic ---------------------------------------------------------------


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date | None:
    """The nth (1-based, or LAST) given weekday of a month; None when the month has no
    5th such weekday."""
    days_in_month = calendar.monthrange(year, month)[1]
    if nth == LAST:
        last = dt.date(year, month, days_in_month)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    day = 1 + (weekday - first.weekday()) % 7 + 7 * (nth - 1)
    return dt.date(year, month, day) if day <= days_in_month else None


def clamped_day(year: int, month: int, day: int) -> dt.date:
    """The day of the month, or the month's last day when it is shorter (31 → 30, 28…)."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def week_of_month(date: dt.date) -> int:
    """Which occurrence of its weekday in the month this date is (1..5)."""
    return (date.day - 1) // 7 + 1


def is_last_of_month(date: dt.date) -> bool:
    return (date + dt.timedelta(days=7)).month != date.month


def _months(start: dt.date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    for _ in range(12 * MAX_YEARS):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _dates(rule: Rule, first: dt.date) -> Iterator[dt.date]:
    """Candidate local dates on or after `first`, in order (unbounded except by MAX_YEARS)."""
    if rule.repeat is Repeat.ONCE:
        assert rule.start is not None
        if rule.start >= first:
            yield rule.start
        return
    if rule.repeat is Repeat.WEEKLY:
        for offset in range(366 * MAX_YEARS):
            date = first + dt.timedelta(days=offset)
            if date.weekday() in rule.weekdays:
                yield date
        return
    for year, month in _months(first):
        if rule.repeat is Repeat.MONTHLY_NTH:
            found = nth_weekday(year, month, rule.weekday, rule.nth)
        else:
            found = clamped_day(year, month, rule.day)
        if found is not None and found >= first:
            yield found


def _at(date: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # zoneinfo resolves wall-clock times itself (fold=0 for ambiguous ones); UTC is stored.
    return dt.datetime.combine(date, time, tzinfo=zone).astimezone(dt.UTC)


def occurrences(rule: Rule, zone: ZoneInfo, after: dt.datetime) -> Iterator[dt.datetime]:
    """Occurrences strictly after `after` (aware), ascending, as UTC datetimes."""
    first = after.astimezone(zone).date()
    if rule.start is not None and rule.start > first:
        first = rule.start
    for date in _dates(rule, first):
        if rule.until is not None and date > rule.until:
            return
        moment = _at(date, rule.time, zone)
        if moment > after:
            yield moment


def next_after(rule: Rule, zone: ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    return next(occurrences(rule, zone, after), None)


def between(
    rule: Rule, zone: ZoneInfo, start: dt.datetime, end: dt.datetime, limit: int = 1000
) -> list[dt.datetime]:
    """Occurrences in (start, end], at most `limit` of them."""
    found: list[dt.datetime] = []
    for moment in occurrences(rule, zone, start):
        if moment > end or len(found) >= limit:
            break
        found.append(moment)
    return found


def is_occurrence(rule: Rule, zone: ZoneInfo, moment: dt.datetime) -> bool:
    """True when `moment` is exactly one of the rule's occurrences (checks button data)."""
    return next_after(rule, zone, moment - dt.timedelta(seconds=1)) == moment


def moved_to(rule: Rule, local: dt.datetime) -> Rule:
    """The same kind of rule re-anchored on a new local date and time: weekly keeps its
    day count but moves to the new weekday; monthly rules take the new date's Nth
    weekday (keeping "last" when the new date is a last one) or day of month."""
    date, time = local.date(), local.time().replace(second=0, microsecond=0)
    if rule.repeat is Repeat.ONCE:
        return replace(rule, start=date, until=None, time=time)
    start = date if rule.start is None or rule.start > date else rule.start
    if rule.repeat is Repeat.WEEKLY:
        weekdays = rule.weekdays if len(rule.weekdays) > 1 else (date.weekday(),)
        return replace(rule, weekdays=weekdays, time=time, start=start)
    if rule.repeat is Repeat.MONTHLY_NTH:
        nth = LAST if rule.nth == LAST and is_last_of_month(date) else week_of_month(date)
        return replace(rule, weekday=date.weekday(), nth=nth, time=time, start=start)
    return replace(rule, day=date.day, time=time, start=start)


def choices_for(local: dt.datetime) -> dict[str, Rule]:
    """The repeat rules a date suggests (for the /notice conversation), keyed by a short
    name: once, weekly, the Nth weekday, the last weekday (when it is one), the day."""
    date, time = local.date(), local.time().replace(second=0, microsecond=0)
    rules = {
        "once": Rule(Repeat.ONCE, time, start=date),
        "weekly": Rule(Repeat.WEEKLY, time, start=date, weekdays=(date.weekday(),)),
    }
    nth = week_of_month(date)
    if nth <= 4:  # a 5th weekday exists only in some months; offer "last" for those
        rules["nth"] = Rule(Repeat.MONTHLY_NTH, time, start=date, weekday=date.weekday(), nth=nth)
    if is_last_of_month(date):
        rules["last"] = Rule(Repeat.MONTHLY_NTH, time, start=date, weekday=date.weekday(), nth=LAST)
    rules["day"] = Rule(Repeat.MONTHLY_DAY, time, start=date, day=date.day)
    return rules
