"""Working-time arithmetic: weekends, public holidays and make-up working days."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from bot.config import ServiceLevels, Target
from bot.sla import add_working_minutes, deadline, is_workday, resolve_deadline

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LEVELS = ServiceLevels()  # 08:30–17:30, 9 working hours a day


def local(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_one_working_day_over_a_weekend() -> None:
    friday = local(2026, 12, 4, 16, 0)
    assert deadline(LEVELS, Target(1, "wd"), friday, SHANGHAI) == local(2026, 12, 7, 16, 0)


def test_spring_festival_with_make_up_saturday() -> None:
    # 2026-02-14 (Saturday) is a make-up working day; 15–23 February are holidays.
    friday = local(2026, 2, 13, 16, 0)
    assert is_workday(LEVELS, dt.date(2026, 2, 14))
    assert not is_workday(LEVELS, dt.date(2026, 2, 16))
    assert deadline(LEVELS, Target(1, "wd"), friday, SHANGHAI) == local(2026, 2, 14, 16, 0)
    assert deadline(LEVELS, Target(2, "wd"), friday, SHANGHAI) == local(2026, 2, 24, 16, 0)


def test_outside_hours_starts_next_morning_and_working_hours() -> None:
    sunday_night = local(2026, 12, 6, 22, 0)
    assert add_working_minutes(LEVELS, sunday_night, 60) == local(2026, 12, 7, 9, 30)
    assert deadline(LEVELS, Target(10, "wh"), sunday_night, SHANGHAI) == local(2026, 12, 8, 9, 30)


def test_calendar_targets_and_urgent() -> None:
    saturday = local(2026, 12, 5, 23, 0)
    utc = saturday.astimezone(dt.UTC)
    assert resolve_deadline(LEVELS, "utilities", False, utc, SHANGHAI) == utc + dt.timedelta(
        hours=24
    )
    assert resolve_deadline(LEVELS, "repair", True, utc, SHANGHAI) == utc + dt.timedelta(hours=2)
    # general matters: 7 working days from Monday 08:30 → end of the 7th working day
    assert resolve_deadline(LEVELS, "repair", False, utc, SHANGHAI) == local(
        2026, 12, 15, 17, 30
    ).astimezone(dt.UTC)


def test_years_without_official_data_fall_back_to_weekdays_and_config_overrides() -> None:
    assert is_workday(LEVELS, dt.date(2031, 3, 3))  # a Monday
    assert not is_workday(LEVELS, dt.date(2031, 3, 1))  # a Saturday
    custom = ServiceLevels(
        extra_holidays=frozenset({dt.date(2031, 3, 3)}),
        extra_workdays=frozenset({dt.date(2031, 3, 1)}),
    )
    assert not is_workday(custom, dt.date(2031, 3, 3))
    assert is_workday(custom, dt.date(2031, 3, 1))
