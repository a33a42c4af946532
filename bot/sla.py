"""Service-level clocks: calendar hours for emergencies, working time otherwise.

Working days follow the community's hours and China's public holidays and make-up working
days (chinese-calendar); the config can add its own holidays and working days, and years
the library does not know yet fall back to Monday–Friday."""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache

import chinese_calendar

from bot.config import ServiceLevels, Target

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def _official_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Published each winter for the next year; until then assume a plain week.
        return day.weekday() < 5


def is_workday(levels: ServiceLevels, day: dt.date) -> bool:
    if day in levels.extra_workdays:
        return True
    if day in levels.extra_holidays:
        return False
    return _official_workday(day)


def _day_minutes(levels: ServiceLevels) -> int:
    start = dt.datetime.combine(dt.date.min, levels.work_start)
    end = dt.datetime.combine(dt.date.min, levels.work_end)
    return int((end - start).total_seconds() // 60)


def add_working_minutes(levels: ServiceLevels, start: dt.datetime, minutes: int) -> dt.datetime:
    """`start` plus `minutes` of working time, in start's time zone (aware, local)."""
    tz = start.tzinfo
    current = start
    remaining = dt.timedelta(minutes=minutes)
    for _ in range(3660):  # ten years of days: a config with no working days must still end
        day = current.date()
        opens = dt.datetime.combine(day, levels.work_start, tz)
        closes = dt.datetime.combine(day, levels.work_end, tz)
        if is_workday(levels, day) and current < closes:
            begin = max(current, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        current = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
    raise ValueError("no working time in the next ten years: check sla.workdays/holidays")


def deadline(
    levels: ServiceLevels, target: Target, start: dt.datetime, zone: dt.tzinfo
) -> dt.datetime:
    """When a target started at `start` (UTC) runs out, in UTC."""
    if target.unit == "h":
        return start + dt.timedelta(hours=target.amount)
    minutes = target.amount * (_day_minutes(levels) if target.unit == "wd" else 60)
    local = add_working_minutes(levels, start.astimezone(zone), minutes)
    return local.astimezone(dt.UTC)


def ack_deadline(levels: ServiceLevels, start: dt.datetime, urgent: bool) -> dt.datetime:
    minutes = levels.urgent_ack_minutes if urgent else levels.ack_minutes
    return start + dt.timedelta(minutes=minutes)


def resolve_deadline(
    levels: ServiceLevels, category: str, urgent: bool, start: dt.datetime, zone: dt.tzinfo
) -> dt.datetime:
    return deadline(levels, levels.resolve_target(category, urgent), start, zone)
