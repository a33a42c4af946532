"""Service quality in numbers: the "three rates" (响应率, 解决率, 满意率), response and
resolution times, breakdowns, and the demand tally for classes and activities.

Definitions, for tickets received (created) in the period, cancelled ones left out:
- response rate: tickets first accepted by their acknowledgement deadline ÷ tickets that
  were accepted or whose deadline has already passed (a ticket filed a minute ago is not
  yet a miss);
- resolution rate: tickets resolved by their resolution deadline ÷ tickets resolved or
  past their deadline (a reopened ticket counts by its final resolution);
- satisfaction: ratings of 4★ or more ÷ rated tickets, with the mean rating; resolved or
  closed tickets nobody rated are reported as unrated and never counted as satisfied;
- times: from filing to first acceptance and to resolution; the median averages the two
  middle values, the 90th percentile is the nearest rank (ceil(0.9·n)).
Periods are calendar days in the community's time zone, turned into UTC bounds.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.models import Actor
from bot.services import Desk, staff_member_of
from bot.staffdesk import Reply
from storage import stats as repo
from storage.db import Tx
from storage.stats import GroupCounts, RankedDuration

DEFAULT_PERIOD = "month"
DEMAND_PERIOD = "90d"
MAX_DAYS = 3660
BREAKDOWN_LINES = 8  # keeps /stats well inside Telegram's 4096 characters

# Activity keywords residents use when wishing for a class; labels in label.j2 ("demand").
DEMAND_KEYWORDS: dict[str, tuple[str, ...]] = {
    "guitar": ("吉他", "guitar"),
    "phone": ("手机", "智能机", "smartphone"),
    "calligraphy": ("书法", "毛笔字", "calligraphy"),
    "dance": ("舞蹈", "广场舞", "跳舞", "dance"),
    "taichi": ("太极", "tai chi", "taichi"),
    "painting": ("绘画", "画画", "国画", "painting"),
    "choir": ("合唱", "唱歌", "声乐", "choir"),
    "english": ("英语", "english"),
    "coding": ("编程", "coding", "programming"),
    "computer": ("电脑", "computer"),
    "cooking": ("烹饪", "厨艺", "cooking"),
    "chess": ("象棋", "围棋", "chess"),
    "photography": ("摄影", "photography"),
    "fitness": ("健身", "瑜伽", "yoga"),
}
# Outside the activity category a keyword only counts next to one of these ("想学手机",
# "办个书法班"): "手机" alone is usually a phone number or a lost phone.
DEMAND_MARKERS: tuple[str, ...] = (
    "班",
    "课",
    "培训",
    "教",
    "学",
    "讲座",
    "兴趣",
    "class",
    "course",
    "lesson",
    "workshop",
)


class PeriodError(ValueError):
    """Text that is not one of the period forms /stats understands."""


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # "2026-11", "2026-W49", "2026-11-01..2026-11-30"
    first_day: dt.date
    last_day: dt.date  # inclusive
    start: dt.datetime  # UTC, inclusive: local midnight starting first_day
    end: dt.datetime  # UTC, exclusive: local midnight after last_day

    @classmethod
    def of_days(
        cls, first: dt.date, last: dt.date, zone: dt.tzinfo, key: str | None = None
    ) -> Period:
        if last < first:
            raise PeriodError("end before start")
        return cls(
            key=key or (first.isoformat() if first == last else f"{first}..{last}"),
            first_day=first,
            last_day=last,
            start=local_midnight(first, zone),
            end=local_midnight(last + dt.timedelta(days=1), zone),
        )

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def local_midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def month_period(year: int, month: int, zone: dt.tzinfo) -> Period:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Period.of_days(first, following - dt.timedelta(days=1), zone, key=f"{first:%Y-%m}")


def week_period(monday: dt.date, zone: dt.tzinfo) -> Period:
    year, week, _ = monday.isocalendar()
    return Period.of_days(monday, monday + dt.timedelta(days=6), zone, key=f"{year}-W{week:02d}")


_DAYS = re.compile(r"^(\d{1,4})d$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.|~|/)(\d{4}-\d{2}-\d{2})$")


def parse_period(
    text: str | None, now: dt.datetime, zone: zoneinfo.ZoneInfo, default: str = DEFAULT_PERIOD
) -> Period:
    """today, week (this Monday on), month (this month), Nd (the last N days including
    today), YYYY-MM, YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD (both ends included)."""
    value = (text or "").strip().lower() or default
    today = now.astimezone(zone).date()
    if value == "today":
        return Period.of_days(today, today, zone)
    if value == "week":
        return week_period(today - dt.timedelta(days=today.weekday()), zone)
    if value == "month":
        return month_period(today.year, today.month, zone)
    try:
        if match := _DAYS.match(value):
            count = int(match.group(1))
            if not 1 <= count <= MAX_DAYS:
                raise PeriodError(value)
            return Period.of_days(today - dt.timedelta(days=count - 1), today, zone)
        if match := _MONTH.match(value):
            return month_period(int(match.group(1)), int(match.group(2)), zone)
        if match := _RANGE.match(value):
            first = dt.date.fromisoformat(match.group(1))
            last = dt.date.fromisoformat(match.group(2))
            if (last - first).days >= MAX_DAYS:
                raise PeriodError(value)
            return Period.of_days(first, last, zone)
        return Period.of_days(dt.date.fromisoformat(value), dt.date.fromisoformat(value), zone)
    except ValueError as error:  # bad dates (2026-02-30, month 13) included
        raise PeriodError(value) from error


# --- figures ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    hits: int
    total: int

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.hits / self.total


@dataclass(frozen=True, slots=True)
class Spread:
    """Durations in seconds: how many, the median and the 90th percentile."""

    count: int = 0
    median: float | None = None
    p90: int | None = None


@dataclass(frozen=True, slots=True)
class GroupFigures:
    dimension: str  # all, category, building, team, staff
    key: str  # "" for all and for tickets without a building / assignee
    received: int
    response: Rate
    resolution: Rate
    resolved: int
    satisfaction: Rate  # rated ≥ 4★ of rated
    mean_rating: float | None
    unrated: int
    accept: Spread
    resolve: Spread


@dataclass(frozen=True, slots=True)
class Figures:
    period: Period
    total: GroupFigures
    cancelled: int
    breakdowns: Mapping[str, tuple[GroupFigures, ...]]  # largest groups first

    def group(self, dimension: str, key: str) -> GroupFigures | None:
        return next((g for g in self.breakdowns[dimension] if g.key == key), None)


def _spreads(rows: Iterable[RankedDuration]) -> dict[tuple[str, str, str], Spread]:
    by_group: dict[tuple[str, str, str], tuple[int, dict[int, int]]] = {}
    for row in rows:
        _, ranks = by_group.setdefault((row.dimension, row.key, row.measure), (row.count, {}))
        ranks[row.rank] = row.seconds
    spreads = {}
    for group, (n, ranks) in by_group.items():
        median = (ranks[(n + 1) // 2] + ranks[(n + 2) // 2]) / 2
        spreads[group] = Spread(count=n, median=median, p90=ranks[(9 * n + 9) // 10])
    return spreads


def _group(counts: GroupCounts, spreads: Mapping[tuple[str, str, str], Spread]) -> GroupFigures:
    def spread(measure: str) -> Spread:
        return spreads.get((counts.dimension, counts.key, measure), Spread())

    return GroupFigures(
        dimension=counts.dimension,
        key=counts.key,
        received=counts.received,
        response=Rate(counts.responded, counts.response_due),
        resolution=Rate(counts.resolved_in_time, counts.resolution_due),
        resolved=counts.resolved,
        satisfaction=Rate(counts.satisfied, counts.rated),
        mean_rating=counts.rating_sum / counts.rated if counts.rated else None,
        unrated=counts.unrated,
        accept=spread("accept"),
        resolve=spread("resolve"),
    )


async def compute(desk: Desk, period: Period) -> Figures:
    sla = desk.config.sla

    async def period_figures(
        tx: Tx,
    ) -> tuple[list[GroupCounts], list[RankedDuration], int]:
        counts, ranked = await repo.cohort_figures(
            tx,
            period.start,
            period.end,
            desk.now(),
            ack_minutes=sla.ack_minutes,
            urgent_ack_minutes=sla.urgent_ack_minutes,
            category_teams=desk.config.category_teams,
        )
        cancelled = await repo.cancelled_count(tx, period.start, period.end)
        return counts, ranked, cancelled

    counts, ranked, cancelled = await desk.db.read(period_figures)
    spreads = _spreads(ranked)
    groups = [_group(c, spreads) for c in counts]
    total = next(g for g in groups if g.dimension == "all")
    breakdowns = {
        dimension: tuple(
            sorted(
                (g for g in groups if g.dimension == dimension),
                key=lambda g: (-g.received, g.key),
            )
        )
        for dimension in repo.DIMENSIONS[1:]
    }
    return Figures(period=period, total=total, cancelled=cancelled, breakdowns=breakdowns)


# --- what staff see -----------------------------------------------------------------------


async def is_staff(desk: Desk, actor: Actor) -> bool:
    member = await desk.db.read(lambda tx: staff_member_of(tx, desk, actor.user_id))
    return member is not None


def refusal(desk: Desk, actor: Actor, code: str) -> Reply:
    return Reply(desk.texts.render(actor.locale, "stats_refused", code=code), ok=False)


def group_name(desk: Desk, locale: str, group: GroupFigures) -> str | None:
    """A display name; None means "not recorded" (the template words it)."""
    if not group.key:
        return None
    if group.dimension == "category":
        return desk.label(locale, "category", group.key)
    if group.dimension == "team":
        team = desk.config.teams.get(group.key)
        return team.name if team else group.key
    if group.dimension == "staff":
        member = desk.config.staff_by_key(group.key)
        return member.name if member else group.key
    return group.key  # buildings: the template adds "号楼"


def render_figures(desk: Desk, locale: str, figures: Figures) -> str:
    breakdowns = []
    for dimension, groups in figures.breakdowns.items():
        shown = groups[:BREAKDOWN_LINES]
        breakdowns.append(
            {
                "dimension": dimension,
                "groups": [{"g": g, "name": group_name(desk, locale, g)} for g in shown],
                "more": len(groups) - len(shown),
            }
        )
    return desk.texts.render(
        locale,
        "stats_report",
        community=desk.config.name,
        period=figures.period,
        t=figures.total,
        cancelled=figures.cancelled,
        breakdowns=breakdowns,
    )


async def stats_report(desk: Desk, actor: Actor, arg: str | None) -> Reply:
    """/stats [period]: staff and supervisors only."""
    if not await is_staff(desk, actor):
        return refusal(desk, actor, "not_staff")
    try:
        period = parse_period(arg, desk.now(), desk.config.timezone)
    except PeriodError:
        return refusal(desk, actor, "usage_stats")
    return Reply(render_figures(desk, actor.locale, await compute(desk, period)))


@dataclass(frozen=True, slots=True)
class Demand:
    period: Period
    rows: tuple[repo.DemandCount, ...]
    other: int  # activity tickets naming no known keyword


async def demand_tally(desk: Desk, period: Period) -> Demand:
    words = [word for patterns in DEMAND_KEYWORDS.values() for word in patterns]

    async def demand_counts(tx: Tx) -> tuple[list[repo.DemandCount], int]:
        rows = await repo.demand(
            tx, period.start, period.end, keywords=DEMAND_KEYWORDS, markers=DEMAND_MARKERS
        )
        other = await repo.unmatched_activity(tx, period.start, period.end, keywords=words)
        return rows, other

    rows, other = await desk.db.read(demand_counts)
    return Demand(period=period, rows=tuple(rows), other=other)


async def demand_report(desk: Desk, actor: Actor, arg: str | None) -> Reply:
    """/demand [period]: what residents ask to be organised, most wanted first."""
    if not await is_staff(desk, actor):
        return refusal(desk, actor, "not_staff")
    try:
        period = parse_period(arg, desk.now(), desk.config.timezone, default=DEMAND_PERIOD)
    except PeriodError:
        return refusal(desk, actor, "usage_demand")
    tally = await demand_tally(desk, period)
    rows = [{"name": desk.label(actor.locale, "demand", r.keyword), "count": r} for r in tally.rows]
    return Reply(
        desk.texts.render(actor.locale, "stats_demand", period=period, rows=rows, other=tally.other)
    )
