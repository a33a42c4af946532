"""Routing: roster edges (midnight, week wrap), overrides, preferences, nobody on duty."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

from bot.cli import demo_config_path
from bot.config import CommunityConfig, parse_community
from bot.routing import on_duty, pick, supervisor_for, team_for

TZ = dt.timezone(dt.timedelta(hours=8))


def config_with(roster: list[dict[str, Any]]) -> CommunityConfig:
    data = tomllib.loads(demo_config_path().read_text("utf-8"))
    data["roster"] = roster
    return parse_community(data)


def test_week_wrap_sunday_night_into_monday() -> None:
    config = config_with(
        [{"team": "property", "staff": "wang", "days": ["sun"], "start": "20:00", "end": "08:00"}]
    )
    monday_3am = dt.datetime(2026, 12, 7, 3, 0, tzinfo=TZ)
    assert [m.key for m in on_duty(config, "property", monday_3am, {})] == ["wang"]
    monday_9am = monday_3am.replace(hour=9)
    assert on_duty(config, "property", monday_9am, {}) == []


def test_shift_end_is_exclusive_at_midnight() -> None:
    config = config_with(
        [{"team": "property", "staff": "zhao", "days": ["mon"], "start": "08:00", "end": "24:00"}]
    )
    monday_2359 = dt.datetime(2026, 12, 7, 23, 59, tzinfo=TZ)
    tuesday_0000 = dt.datetime(2026, 12, 8, 0, 0, tzinfo=TZ)
    assert [m.key for m in on_duty(config, "property", monday_2359, {})] == ["zhao"]
    assert on_duty(config, "property", tuesday_0000, {}) == []


def test_overrides_beat_roster() -> None:
    config = config_with(
        [{"team": "property", "staff": "wang", "days": ["mon"], "start": "08:00", "end": "18:00"}]
    )
    monday_noon = dt.datetime(2026, 12, 7, 12, 0, tzinfo=TZ)
    assert [m.key for m in on_duty(config, "property", monday_noon, {"wang": False})] == []
    keys = {m.key for m in on_duty(config, "property", monday_noon, {"zhao": True})}
    assert keys == {"wang", "zhao"}


def test_pick_prefers_building_then_load_then_longest_idle() -> None:
    config = config_with([])
    wang, zhao = config.staff_by_key("wang"), config.staff_by_key("zhao")
    assert wang is not None and zhao is not None
    assert pick([wang, zhao], "7", {}, {}) == zhao  # zhao covers 6-10
    assert pick([wang, zhao], "3", {"wang": 5}, {}) == wang  # building beats load
    assert pick([wang, zhao], None, {"wang": 2, "zhao": 1}, {}) == zhao
    earlier = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    later = earlier + dt.timedelta(hours=1)
    assert pick([wang, zhao], None, {}, {"wang": later, "zhao": earlier}) == zhao
    assert pick([], "3", {}, {}) is None


def test_nobody_on_duty_falls_to_supervisor() -> None:
    config = config_with([])
    sunday = dt.datetime(2026, 12, 6, 12, 0, tzinfo=TZ)
    assert on_duty(config, team_for(config, "repair"), sunday, {}) == []
    supervisor = supervisor_for(config, "property")
    assert supervisor is not None and supervisor.key == "li"
