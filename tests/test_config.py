"""Config validation: every error names the key and the problem."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.cli import demo_config_path, main
from bot.config import ConfigError, load_community, parse_community


def demo() -> dict[str, Any]:
    return tomllib.loads(demo_config_path().read_text("utf-8"))


def test_demo_config_loads() -> None:
    config = load_community(demo_config_path())
    assert config.name == "幸福里社区"
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.category_teams["repair"] == "property"
    assert config.vocabulary.building_aliases["老干部楼"] == "20"
    assert config.staff_by_key("li") is not None and config.staff_by_key("li").supervisor  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("mutate", "key", "problem"),
    [
        (lambda d: d["community"].update(timezone="Mars/Base"), "community.timezone", "unknown"),
        (lambda d: d["community"].update(staff_chat="abc"), "community.staff_chat", "integer"),
        (lambda d: d["community"].pop("name"), "community.name", "expected"),
        (lambda d: d["community"].update(hashtags=["报修"]), "community.hashtags[0]", "#"),
        (lambda d: d["sla"].update(ack_minutes=0), "sla.ack_minutes", "positive"),
        (lambda d: d["sla"].update(ack_minutes=True), "sla.ack_minutes", "expected"),
        (lambda d: d["categories"].update(plumbing="property"), "categories.plumbing", "unknown"),
        (lambda d: d["categories"].update(repair="nobody"), "categories.repair", "not defined"),
        (lambda d: d["roster"][0].update(start="8am"), "roster[0].start", "08:30"),
        (lambda d: d["roster"][0].update(days=["funday"]), "roster[0].days[0]", "expected"),
        (lambda d: d["roster"][0].update(staff="ghost"), "roster[0].staff", "ghost"),
        (lambda d: d["staff"][1].update(telegram_id="x"), "staff[1].telegram_id", "integer"),
        (lambda d: d["staff"].append(dict(d["staff"][0])), "staff[6].key", "duplicate"),
        (lambda d: d["teams"]["grid"].update(supervisor="ghost"), "teams.grid.supervisor", "ghost"),
        (lambda d: d.update(colour="red"), "colour", "unknown key"),
        (
            lambda d: d["vocabulary"]["keywords"].update(magic=["x"]),
            "vocabulary.keywords.magic",
            "",
        ),
    ],
)
def test_errors_name_key(mutate: Any, key: str, problem: str) -> None:
    data = demo()
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_community(data)
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_community(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[community\nname=", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_community(bad)


def test_overnight_shift_covers_both_days() -> None:
    data = demo()
    data["roster"] = [
        {"team": "property", "staff": "wang", "days": ["fri"], "start": "22:00", "end": "06:00"}
    ]
    shift = parse_community(data).roster[0]
    tz = dt.timezone(dt.timedelta(hours=8))
    friday_night = dt.datetime(2026, 12, 4, 23, 0, tzinfo=tz)  # a Friday
    saturday_early = dt.datetime(2026, 12, 5, 5, 59, tzinfo=tz)
    assert shift.covers(friday_night)
    assert shift.covers(saturday_early)
    assert not shift.covers(saturday_early.replace(hour=6))
    assert not shift.covers(friday_night - dt.timedelta(days=1))  # Thursday night
    sunday_night = dt.datetime(2026, 12, 6, 23, 0, tzinfo=tz)
    assert not shift.covers(sunday_night)


def test_run_without_token_or_with_bad_config_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["run"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token")
    assert main(["run"]) == 2
    assert "does not look like a bot token" in capsys.readouterr().err
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abcdefgh")
    bad = tmp_path / "c.toml"
    bad.write_text('[community]\nname = "x"\ntimezone = "Nowhere/Land"\n', "utf-8")
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "community.timezone" in err and "Traceback" not in err


def test_escalation_section_is_validated() -> None:
    from bot.escalation import policy

    data = demo()
    data["escalation"]["steps"][0]["to"] = "boss"
    with pytest.raises(ConfigError) as caught:
        policy(parse_community(data))
    assert caught.value.key == "escalation.steps[0].to"
    data["escalation"]["steps"][0] = {"to": "team", "repeat": 0}
    with pytest.raises(ConfigError, match="at least 1"):
        policy(parse_community(data))
    data["sla"]["resolve"] = {"repair": "soon"}
    with pytest.raises(ConfigError) as caught:
        parse_community(data)
    assert caught.value.key == "sla.resolve.repair"
