"""Repeat rules: computed in the community's zone, returned in UTC, correct at month ends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot import recurrence
from bot.recurrence import LAST, Repeat, Rule, RuleError

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
FRI, SAT, TUE = 4, 5, 1


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


def dates(moments: list[dt.datetime], zone: ZoneInfo = SHANGHAI) -> list[str]:
    return [m.astimezone(zone).strftime("%Y-%m-%d %H:%M") for m in moments]


def test_once_is_in_utc_and_only_once() -> None:
    rule = Rule(Repeat.ONCE, dt.time(9, 0), start=dt.date(2026, 12, 12))
    after = local(SHANGHAI, 2026, 12, 1)
    found = recurrence.between(rule, SHANGHAI, after, after + dt.timedelta(days=400))
    assert found == [dt.datetime(2026, 12, 12, 1, 0, tzinfo=dt.UTC)]  # 09:00 +08:00
    assert recurrence.next_after(rule, SHANGHAI, found[0]) is None


def test_weekly_until_inclusive() -> None:
    rule = Rule(
        Repeat.WEEKLY,
        dt.time(9, 0),
        start=dt.date(2026, 12, 12),
        until=dt.date(2026, 12, 26),
        weekdays=(SAT,),
    )
    found = recurrence.between(
        rule, SHANGHAI, local(SHANGHAI, 2026, 12, 1), local(SHANGHAI, 2027, 6, 1)
    )
    assert dates(found) == ["2026-12-12 09:00", "2026-12-19 09:00", "2026-12-26 09:00"]


def test_last_friday_across_months_and_years() -> None:
    rule = Rule(Repeat.MONTHLY_NTH, dt.time(15, 0), weekday=FRI, nth=LAST)
    found = recurrence.between(
        rule, SHANGHAI, local(SHANGHAI, 2026, 11, 30), local(SHANGHAI, 2027, 5, 1)
    )
    assert dates(found) == [
        "2026-12-25 15:00",
        "2027-01-29 15:00",
        "2027-02-26 15:00",
        "2027-03-26 15:00",
        "2027-04-30 15:00",
    ]


def test_fifth_weekday_skips_months_without_one() -> None:
    rule = Rule(Repeat.MONTHLY_NTH, dt.time(10, 0), weekday=TUE, nth=5)
    found = recurrence.between(
        rule, SHANGHAI, local(SHANGHAI, 2026, 12, 1), local(SHANGHAI, 2027, 7, 1)
    )
    assert dates(found) == ["2026-12-29 10:00", "2027-03-30 10:00", "2027-06-29 10:00"]


def test_second_tuesday() -> None:
    rule = Rule(Repeat.MONTHLY_NTH, dt.time(10, 0), weekday=TUE, nth=2)
    found = recurrence.between(
        rule, SHANGHAI, local(SHANGHAI, 2026, 12, 1), local(SHANGHAI, 2027, 3, 1)
    )
    assert dates(found) == ["2026-12-08 10:00", "2027-01-12 10:00", "2027-02-09 10:00"]


def test_day_31_clamps_to_month_end() -> None:
    rule = Rule(Repeat.MONTHLY_DAY, dt.time(8, 0), day=31)
    found = recurrence.between(
        rule, SHANGHAI, local(SHANGHAI, 2027, 1, 1), local(SHANGHAI, 2027, 7, 1)
    )
    assert dates(found) == [
        "2027-01-31 08:00",
        "2027-02-28 08:00",
        "2027-03-31 08:00",
        "2027-04-30 08:00",
        "2027-05-31 08:00",
        "2027-06-30 08:00",
    ]
    leap = recurrence.next_after(rule, SHANGHAI, local(SHANGHAI, 2028, 2, 1))
    assert dates([leap] if leap else []) == ["2028-02-29 08:00"]


def test_local_midnight_event_is_previous_day_in_utc() -> None:
    rule = Rule(Repeat.MONTHLY_DAY, dt.time(0, 30), day=1)
    first = recurrence.next_after(rule, SHANGHAI, local(SHANGHAI, 2027, 2, 15))
    assert first == dt.datetime(2027, 2, 28, 16, 30, tzinfo=dt.UTC)


def test_zone_with_daylight_saving_keeps_wall_clock() -> None:
    rule = Rule(Repeat.WEEKLY, dt.time(9, 0), weekdays=(6,))  # Sundays 09:00 in Berlin
    found = recurrence.between(rule, BERLIN, local(BERLIN, 2027, 3, 20), local(BERLIN, 2027, 4, 5))
    assert [m.hour for m in found] == [8, 7, 7]  # UTC: CET, then CEST from 28 March
    assert dates(found, BERLIN) == ["2027-03-21 09:00", "2027-03-28 09:00", "2027-04-04 09:00"]


def test_strictly_after_and_is_occurrence() -> None:
    rule = Rule(Repeat.MONTHLY_NTH, dt.time(15, 0), weekday=FRI, nth=LAST)
    christmas = dt.datetime(2026, 12, 25, 7, 0, tzinfo=dt.UTC)
    assert recurrence.next_after(rule, SHANGHAI, christmas - dt.timedelta(seconds=1)) == christmas
    assert recurrence.next_after(rule, SHANGHAI, christmas) != christmas
    assert recurrence.is_occurrence(rule, SHANGHAI, christmas)
    assert not recurrence.is_occurrence(rule, SHANGHAI, christmas + dt.timedelta(minutes=1))


def test_json_round_trip() -> None:
    for rule in [
        Rule(Repeat.ONCE, dt.time(9, 0), start=dt.date(2026, 12, 12)),
        Rule(Repeat.WEEKLY, dt.time(7, 30), weekdays=(1, 3), until=dt.date(2027, 1, 1)),
        Rule(Repeat.MONTHLY_NTH, dt.time(15, 0), weekday=FRI, nth=LAST),
        Rule(Repeat.MONTHLY_DAY, dt.time(8, 0), day=31, start=dt.date(2027, 1, 1)),
    ]:
        assert recurrence.from_json(recurrence.to_json(rule)) == rule


def test_choices_for_a_last_friday() -> None:
    christmas = local(SHANGHAI, 2026, 12, 25, 15, 0)
    choices = recurrence.choices_for(christmas)
    assert set(choices) == {"once", "weekly", "nth", "last", "day"}
    assert choices["nth"].nth == 4 and choices["last"].nth == LAST
    assert not recurrence.choices_for(local(SHANGHAI, 2026, 12, 1, 9, 0)).keys() & {"last"}


def test_moved_to_keeps_last() -> None:
    rule = Rule(Repeat.MONTHLY_NTH, dt.time(15, 0), weekday=FRI, nth=LAST)
    moved = recurrence.moved_to(rule, local(SHANGHAI, 2027, 1, 28, 14, 0))  # last Thursday
    assert (moved.weekday, moved.nth, moved.time) == (3, LAST, dt.time(14, 0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"repeat": Repeat.ONCE},
        {"repeat": Repeat.WEEKLY},
        {"repeat": Repeat.MONTHLY_NTH, "nth": 6},
        {"repeat": Repeat.MONTHLY_DAY, "day": 32},
        {"repeat": Repeat.WEEKLY, "weekdays": (1,), "start": dt.date(2027, 1, 2),
         "until": dt.date(2027, 1, 1)},
    ],
)  # fmt: skip
def test_impossible_rules_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        Rule(time=dt.time(9, 0), **kwargs)  # type: ignore[arg-type]
