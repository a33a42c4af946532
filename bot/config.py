"""Community config (TOML) and runtime settings, validated into frozen dataclasses.

Every validation error names the key and the problem, so an operator can fix the file
without reading code."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import Clock, SystemClock
from bot.parsing.types import CATEGORIES, Vocabulary

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_CATEGORY_TEAMS: dict[str, str] = {
    "repair": "property",
    "sanitation": "property",
    "safety": "grid",
    "utilities": "property",
    "paperwork": "service_hall",
    "health": "health_station",
    "care": "grid",
    "employment": "employment",
    "neighbor": "mediation",
    "parking": "property",
    "activity": "culture",
    "other": "office",
}


class ConfigError(Exception):
    """A bad config value: `key` is the dotted path, `problem` what is wrong with it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class StaffMember:
    key: str
    name: str
    role: str
    teams: tuple[str, ...]
    buildings: tuple[str, ...] = ()
    telegram_id: int | None = None
    supervisor: bool = False
    admin: bool = False


@dataclass(frozen=True, slots=True)
class Team:
    key: str
    name: str
    supervisor: str | None  # staff key


@dataclass(frozen=True, slots=True)
class DutyShift:
    team: str
    staff: str
    weekdays: tuple[int, ...]  # 0 = Monday
    start: dt.time
    end: dt.time  # end <= start means the shift runs past midnight

    def covers(self, local: dt.datetime) -> bool:
        weekday, now = local.weekday(), local.time()
        if self.start < self.end:
            return weekday in self.weekdays and self.start <= now < self.end
        # Overnight: the evening part belongs to the listed day, the morning part to the next.
        evening = weekday in self.weekdays and now >= self.start
        morning = (weekday - 1) % 7 in self.weekdays and now < self.end
        return evening or morning


@dataclass(frozen=True, slots=True)
class Target:
    """A resolution target: calendar hours ("24h"), working hours ("16wh") or working
    days ("7wd")."""

    amount: int
    unit: str  # "h", "wh" or "wd"


# The 12345 hotline practice: emergencies 2 h, water/power/gas/heating 24 h, general 7
# working days, complex matters 15.
DEFAULT_RESOLVE: dict[str, Target] = {
    "utilities": Target(24, "h"),
    "safety": Target(2, "wd"),
    "paperwork": Target(15, "wd"),
    "neighbor": Target(15, "wd"),
    "employment": Target(15, "wd"),
}


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    ack_minutes: int = 10
    urgent_ack_minutes: int = 2
    close_unrated_after_days: int = 7
    rating_change_hours: int = 24
    urgent_resolve: Target = Target(2, "h")
    default_resolve: Target = Target(7, "wd")
    resolve: Mapping[str, Target] = field(default_factory=lambda: dict(DEFAULT_RESOLVE))
    work_start: dt.time = dt.time(8, 30)
    work_end: dt.time = dt.time(17, 30)
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    remind_before_hours: int = 4
    overdue_report_time: dt.time = dt.time(9, 0)

    def resolve_target(self, category: str, urgent: bool) -> Target:
        if urgent:
            return self.urgent_resolve
        return self.resolve.get(category, self.default_resolve)


@dataclass(frozen=True, slots=True)
class CommunityConfig:
    name: str
    timezone: zoneinfo.ZoneInfo
    locale: str
    group_chats: tuple[int, ...]
    staff_chat: int | None
    hashtags: tuple[str, ...]
    staff: tuple[StaffMember, ...]
    teams: Mapping[str, Team]
    category_teams: Mapping[str, str]
    roster: tuple[DutyShift, ...]
    sla: ServiceLevels = field(default_factory=ServiceLevels)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    intake_per_hour: int = 10
    duplicate_window_hours: int = 48
    raw: Mapping[str, Any] = field(default_factory=dict)  # sections other features validate

    def staff_by_key(self, key: str) -> StaffMember | None:
        return next((s for s in self.staff if s.key == key), None)

    def supervisors(self) -> tuple[StaffMember, ...]:
        return tuple(s for s in self.staff if s.supervisor)


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    # Telegram allows about 30/s; the limiter releases a burst before pacing, so stay under.
    global_per_second: float = 29.0
    per_chat_interval: float = 1.0  # seconds between messages to one private chat
    group_per_minute: int = 20
    max_attempts: int = 300  # backoff caps at 5 minutes: about a day of retrying
    poll_interval: float = 1.0


@dataclass(frozen=True)
class Settings:
    community: CommunityConfig
    token: str
    db_path: Path
    api_base_url: str | None = None
    api_file_url: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    poll_timeout: float = 10.0
    request_timeout: float | None = None  # seconds for Bot API reads/writes; None: PTB's


# --- validation helpers ---------------------------------------------------------------


def _expect(value: Any, kind: type | tuple[type, ...], key: str, what: str) -> Any:
    # bool is an int in Python; a TOML `true` where a number is wanted is still a mistake.
    if isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind):
        raise ConfigError(key, f"expected {what}, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(key, f"expected {what}, got {value!r}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _unknown_keys(table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _time(value: Any, key: str) -> dt.time:
    _expect(value, str, key, 'a time such as "08:30"')
    try:
        hours, minutes = value.split(":")
        if value == "24:00":
            return dt.time(23, 59, 59, 999999)
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(key, f'expected a time such as "08:30", got {value!r}') from None


def _weekdays(value: Any, key: str) -> tuple[int, ...]:
    _expect(value, list, key, 'a list of weekdays such as ["mon", "tue"]')
    days: list[int] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or item.lower()[:3] not in WEEKDAYS:
            raise ConfigError(f"{key}[{index}]", f"expected one of {', '.join(WEEKDAYS)}")
        days.append(WEEKDAYS.index(item.lower()[:3]))
    return tuple(days)


def _int_list(value: Any, key: str) -> tuple[int, ...]:
    _expect(value, list, key, "a list of chat ids")
    return tuple(_expect(v, int, f"{key}[{i}]", "an integer chat id") for i, v in enumerate(value))


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    _expect(value, list, key, "a list of strings")
    return tuple(
        _expect(v, (str, int), f"{key}[{i}]", "a string") and str(v) for i, v in enumerate(value)
    )


def _positive_int(table: Mapping[str, Any], name: str, prefix: str, default: int) -> int:
    value = table.get(name, default)
    _expect(value, int, f"{prefix}.{name}", "a positive integer")
    if value <= 0:
        raise ConfigError(f"{prefix}.{name}", f"must be positive, got {value}")
    return int(value)


def _parse_staff(raw: Any) -> tuple[StaffMember, ...]:
    _expect(raw, list, "staff", "an array of [[staff]] tables")
    members: list[StaffMember] = []
    seen: set[str] = set()
    allowed = {"key", "name", "role", "teams", "buildings", "telegram_id", "supervisor", "admin"}
    for index, entry in enumerate(raw):
        prefix = f"staff[{index}]"
        _expect(entry, dict, prefix, "a table")
        _unknown_keys(entry, allowed, prefix)
        for required in ("key", "name", "role"):
            if required not in entry:
                raise ConfigError(f"{prefix}.{required}", "missing")
            _expect(entry[required], str, f"{prefix}.{required}", "a string")
        key = entry["key"]
        if key in seen:
            raise ConfigError(f"{prefix}.key", f"duplicate staff key {key!r}")
        seen.add(key)
        telegram_id = entry.get("telegram_id")
        if telegram_id is not None:
            _expect(telegram_id, int, f"{prefix}.telegram_id", "an integer Telegram user id")
        members.append(
            StaffMember(
                key=key,
                name=entry["name"],
                role=entry["role"],
                teams=_str_list(entry.get("teams", []), f"{prefix}.teams"),
                buildings=_str_list(entry.get("buildings", []), f"{prefix}.buildings"),
                telegram_id=telegram_id,
                supervisor=bool(
                    _expect(entry.get("supervisor", False), bool, f"{prefix}.supervisor", "bool")
                ),
                admin=bool(_expect(entry.get("admin", False), bool, f"{prefix}.admin", "bool")),
            )
        )
    return tuple(members)


def _parse_teams(raw: Any, staff_keys: set[str]) -> dict[str, Team]:
    _expect(raw, dict, "teams", "a table of teams")
    teams: dict[str, Team] = {}
    for key, entry in raw.items():
        prefix = f"teams.{key}"
        _expect(entry, dict, prefix, "a table")
        _unknown_keys(entry, {"name", "supervisor"}, prefix)
        name = _expect(entry.get("name", key), str, f"{prefix}.name", "a string")
        supervisor = entry.get("supervisor")
        if supervisor is not None:
            _expect(supervisor, str, f"{prefix}.supervisor", "a staff key")
            if supervisor not in staff_keys:
                raise ConfigError(
                    f"{prefix}.supervisor", f"no staff member with key {supervisor!r}"
                )
        teams[key] = Team(key=key, name=name, supervisor=supervisor)
    return teams


def _parse_roster(
    raw: Any, teams: Mapping[str, Team], staff_keys: set[str]
) -> tuple[DutyShift, ...]:
    _expect(raw, list, "roster", "an array of [[roster]] tables")
    shifts: list[DutyShift] = []
    for index, entry in enumerate(raw):
        prefix = f"roster[{index}]"
        _expect(entry, dict, prefix, "a table")
        _unknown_keys(entry, {"team", "staff", "days", "start", "end"}, prefix)
        for required in ("team", "staff", "days", "start", "end"):
            if required not in entry:
                raise ConfigError(f"{prefix}.{required}", "missing")
        if entry["team"] not in teams:
            raise ConfigError(f"{prefix}.team", f"no team {entry['team']!r}")
        names = entry["staff"] if isinstance(entry["staff"], list) else [entry["staff"]]
        for staff_key in names:
            if staff_key not in staff_keys:
                raise ConfigError(f"{prefix}.staff", f"no staff member with key {staff_key!r}")
            shifts.append(
                DutyShift(
                    team=entry["team"],
                    staff=staff_key,
                    weekdays=_weekdays(entry["days"], f"{prefix}.days"),
                    start=_time(entry["start"], f"{prefix}.start"),
                    end=_time(entry["end"], f"{prefix}.end"),
                )
            )
    return tuple(shifts)


def _parse_vocabulary(raw: Any) -> Vocabulary:
    _expect(raw, dict, "vocabulary", "a table")
    _unknown_keys(raw, {"keywords", "buildings"}, "vocabulary")
    keywords_raw = _expect(raw.get("keywords", {}), dict, "vocabulary.keywords", "a table")
    keywords: dict[str, tuple[str, ...]] = {}
    for category, words in keywords_raw.items():
        if category not in CATEGORIES:
            raise ConfigError(f"vocabulary.keywords.{category}", "unknown category")
        keywords[category] = _str_list(words, f"vocabulary.keywords.{category}")
    aliases_raw = _expect(raw.get("buildings", {}), dict, "vocabulary.buildings", "a table")
    aliases = {
        str(name): str(_expect(number, (str, int), f"vocabulary.buildings.{name}", "a number"))
        for name, number in aliases_raw.items()
    }
    return Vocabulary(extra_keywords=keywords, building_aliases=aliases)


def _target(value: Any, key: str) -> Target:
    _expect(value, str, key, 'a target such as "24h", "16wh" or "7wd"')
    for unit in ("wd", "wh", "h"):
        number = value.removesuffix(unit)
        if value.endswith(unit) and number.isdigit() and int(number) > 0:
            return Target(int(number), unit)
    raise ConfigError(key, f'expected a target such as "24h", "16wh" or "7wd", got {value!r}')


def _dates(value: Any, key: str) -> frozenset[dt.date]:
    _expect(value, list, key, 'a list of dates such as ["2027-01-01"]')
    dates: set[dt.date] = set()
    for index, item in enumerate(value):
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            dates.add(item)
            continue
        try:
            dates.add(dt.date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(f"{key}[{index}]", f"expected a date, got {item!r}") from None
    return frozenset(dates)


SLA_KEYS = {
    "ack_minutes",
    "urgent_ack_minutes",
    "close_unrated_after_days",
    "rating_change_hours",
    "urgent_resolve",
    "default_resolve",
    "resolve",
    "work_start",
    "work_end",
    "holidays",
    "workdays",
    "remind_before_hours",
    "overdue_report_time",
}


def _parse_sla(raw: Mapping[str, Any]) -> ServiceLevels:
    _unknown_keys(raw, SLA_KEYS, "sla")
    d = ServiceLevels()
    resolve = dict(DEFAULT_RESOLVE)
    for category, value in _expect(raw.get("resolve", {}), dict, "sla.resolve", "a table").items():
        if category not in CATEGORIES:
            raise ConfigError(f"sla.resolve.{category}", "unknown category")
        resolve[category] = _target(value, f"sla.resolve.{category}")
    levels = ServiceLevels(
        ack_minutes=_positive_int(raw, "ack_minutes", "sla", d.ack_minutes),
        urgent_ack_minutes=_positive_int(raw, "urgent_ack_minutes", "sla", d.urgent_ack_minutes),
        close_unrated_after_days=_positive_int(
            raw, "close_unrated_after_days", "sla", d.close_unrated_after_days
        ),
        rating_change_hours=_positive_int(raw, "rating_change_hours", "sla", d.rating_change_hours),
        urgent_resolve=_target(raw.get("urgent_resolve", "2h"), "sla.urgent_resolve"),
        default_resolve=_target(raw.get("default_resolve", "7wd"), "sla.default_resolve"),
        resolve=resolve,
        work_start=_time(raw.get("work_start", "08:30"), "sla.work_start"),
        work_end=_time(raw.get("work_end", "17:30"), "sla.work_end"),
        extra_holidays=_dates(raw.get("holidays", []), "sla.holidays"),
        extra_workdays=_dates(raw.get("workdays", []), "sla.workdays"),
        remind_before_hours=_positive_int(raw, "remind_before_hours", "sla", d.remind_before_hours),
        overdue_report_time=_time(
            raw.get("overdue_report_time", "09:00"), "sla.overdue_report_time"
        ),
    )
    if levels.work_end <= levels.work_start:
        raise ConfigError("sla.work_end", "must be later than sla.work_start")
    return levels


TOP_LEVEL_KEYS = {
    "community",
    "sla",
    "staff",
    "teams",
    "categories",
    "roster",
    "vocabulary",
    "notices",
    "faq",
    "lecture_series",
    "digest",
    "escalation",
}


def parse_community(data: Mapping[str, Any]) -> CommunityConfig:
    _unknown_keys(data, TOP_LEVEL_KEYS, "")
    community = _expect(data.get("community"), dict, "community", "a [community] table")
    _unknown_keys(
        community,
        {
            "name",
            "timezone",
            "locale",
            "group_chats",
            "staff_chat",
            "hashtags",
            "intake_per_hour",
            "duplicate_window_hours",
        },
        "community",
    )
    name = _expect(community.get("name"), str, "community.name", "the community's name")
    tz_name = _expect(
        community.get("timezone", "Asia/Shanghai"), str, "community.timezone", "a zone"
    )
    try:
        timezone = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError("community.timezone", f"unknown time zone {tz_name!r}") from None
    locale = _expect(community.get("locale", "zh"), str, "community.locale", "zh or en")
    if locale not in ("zh", "en"):
        raise ConfigError("community.locale", f"expected zh or en, got {locale!r}")
    staff_chat = community.get("staff_chat")
    if staff_chat is not None:
        _expect(staff_chat, int, "community.staff_chat", "an integer chat id")
    staff = _parse_staff(data.get("staff", []))
    staff_keys = {s.key for s in staff}
    teams = _parse_teams(data.get("teams", {}), staff_keys)
    for member in staff:
        for team in member.teams:
            if team not in teams:
                raise ConfigError(f"staff.{member.key}.teams", f"no team {team!r} in [teams]")
    category_teams = dict(DEFAULT_CATEGORY_TEAMS)
    overrides = _expect(data.get("categories", {}), dict, "categories", "a table")
    for category, team in overrides.items():
        if category not in CATEGORIES:
            raise ConfigError(f"categories.{category}", "unknown category")
        category_teams[category] = _expect(team, str, f"categories.{category}", "a team key")
    for category, team in category_teams.items():
        if team not in teams:
            raise ConfigError(f"categories.{category}", f"team {team!r} is not defined in [teams]")
    sla = _parse_sla(_expect(data.get("sla", {}), dict, "sla", "a table"))
    hashtags = _str_list(community.get("hashtags", ["#报修", "#求助"]), "community.hashtags")
    for index, tag in enumerate(hashtags):
        if not tag.startswith("#") or len(tag) < 2:
            raise ConfigError(f"community.hashtags[{index}]", f"expected a #hashtag, got {tag!r}")
    return CommunityConfig(
        name=name,
        timezone=timezone,
        locale=locale,
        group_chats=_int_list(community.get("group_chats", []), "community.group_chats"),
        staff_chat=staff_chat,
        hashtags=hashtags,
        staff=staff,
        teams=teams,
        category_teams=category_teams,
        roster=_parse_roster(data.get("roster", []), teams, staff_keys),
        sla=sla,
        vocabulary=_parse_vocabulary(data.get("vocabulary", {})),
        intake_per_hour=_positive_int(community, "intake_per_hour", "community", 10),
        duplicate_window_hours=_positive_int(community, "duplicate_window_hours", "community", 48),
        raw=data,
    )


def load_community(path: Path) -> CommunityConfig:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError("--config", f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_community(data)


def token_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    token = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    return token or None


def validate_token(token: str) -> None:
    # Telegram tokens look like 123456789:AA...; catch copy-paste accidents early.
    bot_id, _, secret = token.partition(":")
    if not bot_id.isdigit() or len(secret) < 5:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN", "does not look like a bot token (<digits>:<secret>)"
        )
