"""The weekly digest for the staff group (figures, a PNG chart, the week's overdue and
low-rated tickets) and the monthly public summary for the residents' group(s).

Both are checked by a repeating job and by the scheduler's fast-forward: whatever period
is due and not yet recorded in report_runs is built, recorded and queued through the
outbox in one transaction, so each week and month goes out exactly once, restarts and
downtime included (a late bot catches up on the latest period only)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import stats
from bot.config import WEEKDAYS, CommunityConfig, ConfigError, _expect, _time, _unknown_keys
from bot.models import Attachment, Outgoing
from bot.services import Desk
from storage import outbox
from storage import stats as repo
from storage.db import Tx, from_db_time

if TYPE_CHECKING:  # only for annotations: this module stays free of Telegram at run time
    from bot.context import App, BotData, Context

WEEKLY = "weekly_digest"
MONTHLY = "monthly_summary"
CHECK_INTERVAL = dt.timedelta(minutes=10)
LOW_RATED_MAX = 3  # anything under the 4★ that counts as satisfied
LIST_LIMIT = 10
CHARTS_KEPT = 4  # weekly chart files left on disk
SUMMARY_CATEGORIES = 5
# Time-to-resolve histogram edges: < 4 h, 4–24 h, 1–3 days, 3–7 days, > 7 days.
RESOLVE_EDGES: tuple[int, ...] = (4 * 3600, 86400, 3 * 86400, 7 * 86400)
# Fonts that have Chinese glyphs; without one, chart labels are drawn in English so
# matplotlib never has to warn about missing glyphs.
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)


# --- config ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestConfig:
    weekly: bool = True
    weekday: int = 0  # 0 = Monday
    time: dt.time = dt.time(9, 0)
    monthly: bool = True
    monthly_day: int = 1
    monthly_time: dt.time = dt.time(9, 30)


def digest_config(config: CommunityConfig) -> DigestConfig:
    """The [digest] table, validated; errors name the dotted key."""
    raw = _expect(config.raw.get("digest", {}), dict, "digest", "a [digest] table")
    _unknown_keys(
        raw, {"weekly", "weekday", "time", "monthly", "monthly_day", "monthly_time"}, "digest"
    )
    defaults = DigestConfig()
    weekday = raw.get("weekday", WEEKDAYS[defaults.weekday])
    if not isinstance(weekday, str) or weekday.lower()[:3] not in WEEKDAYS:
        raise ConfigError("digest.weekday", f"expected one of {', '.join(WEEKDAYS)}")
    day = raw.get("monthly_day", defaults.monthly_day)
    _expect(day, int, "digest.monthly_day", "a day of the month (1–28)")
    if not 1 <= day <= 28:
        raise ConfigError("digest.monthly_day", f"expected 1–28 (every month has it), got {day}")
    return DigestConfig(
        weekly=_expect(raw.get("weekly", defaults.weekly), bool, "digest.weekly", "true/false"),
        weekday=WEEKDAYS.index(weekday.lower()[:3]),
        time=_time(raw["time"], "digest.time") if "time" in raw else defaults.time,
        monthly=_expect(raw.get("monthly", defaults.monthly), bool, "digest.monthly", "true/false"),
        monthly_day=day,
        monthly_time=_time(raw["monthly_time"], "digest.monthly_time")
        if "monthly_time" in raw
        else defaults.monthly_time,
    )


# --- which period is due ----------------------------------------------------------------


def due_week(config: DigestConfig, now: dt.datetime, zone: dt.tzinfo) -> stats.Period:
    """The Monday–Sunday week reported at the latest weekly slot at or before `now`."""
    local = now.astimezone(zone)
    day = local.date() - dt.timedelta(days=(local.weekday() - config.weekday) % 7)
    if dt.datetime.combine(day, config.time, tzinfo=zone) > local:
        day -= dt.timedelta(days=7)
    this_monday = day - dt.timedelta(days=day.weekday())
    return stats.week_period(this_monday - dt.timedelta(days=7), zone)


def due_month(config: DigestConfig, now: dt.datetime, zone: dt.tzinfo) -> stats.Period:
    """The calendar month reported at the latest monthly slot at or before `now`."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    slot = dt.datetime.combine(dt.date(year, month, config.monthly_day), config.monthly_time, zone)
    if slot > local:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return stats.month_period(year, month, zone)


# --- the weekly digest ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartData:
    days: tuple[str, ...]  # "12-01"...
    series: tuple[tuple[str, tuple[int, ...]], ...]  # (category label, count per day)
    buckets: tuple[str, ...]
    resolve_counts: tuple[int, ...]
    titles: Mapping[str, str]
    font: str | None


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def render_chart(path: Path, chart: ChartData) -> None:
    """Tickets per day by category (stacked) and the time-to-resolve distribution."""
    import matplotlib

    matplotlib.use("Agg")  # no display; set before anything imports pyplot
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fonts = (
        matplotlib.rc_context({"font.sans-serif": [chart.font, "DejaVu Sans"]})
        if chart.font
        else contextlib.nullcontext()
    )
    with fonts:
        figure = Figure(figsize=(9, 7), dpi=100, layout="constrained")
        daily, spread = figure.subplots(2, 1)
        positions = list(range(len(chart.days)))
        bottoms = [0] * len(chart.days)
        for label, counts in chart.series:
            daily.bar(positions, counts, bottom=bottoms, label=label)
            bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
        daily.set_xticks(positions, labels=list(chart.days))
        daily.set_title(chart.titles["daily"])
        if chart.series:  # outside the plot, so it never hides a bar
            daily.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        spread.bar(range(len(chart.buckets)), chart.resolve_counts, color="#4c9a6a")
        spread.set_xticks(range(len(chart.buckets)), labels=list(chart.buckets))
        spread.set_title(chart.titles["resolve"])
        for axes, highest in ((daily, max(bottoms)), (spread, max(chart.resolve_counts))):
            axes.set_ylabel(chart.titles["tickets"])
            axes.set_ylim(0, max(highest, 1) * 1.1)  # headroom above the tallest bar
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")


def _ticket_lines(desk: Desk, locale: str, lines: Sequence[repo.TicketLine]) -> list[Any]:
    rows = []
    for line in lines:
        member = desk.config.staff_by_key(line.assignee_key or "")
        due_at = from_db_time(line.due_at)
        due = None if due_at is None else desk.local(due_at).strftime("%m-%d %H:%M")
        rows.append(
            {
                "id": line.id,
                "category": desk.label(locale, "category", line.category),
                "state": desk.label(locale, "state", line.state),
                "building": line.building,
                "assignee": member.name if member else None,
                "rating": line.rating,
                "due": due,
            }
        )
    return rows


async def _chart_data(desk: Desk, period: stats.Period) -> ChartData:
    zone = desk.config.timezone
    days = [period.first_day + dt.timedelta(days=n) for n in range(period.days)]
    boundaries = [stats.local_midnight(day, zone) for day in days] + [period.end]

    async def chart_counts(tx: Tx) -> tuple[list[repo.DayCount], list[int]]:
        daily = await repo.daily_counts(tx, boundaries)
        resolve_counts = await repo.resolve_time_histogram(
            tx, period.start, period.end, RESOLVE_EDGES
        )
        return daily, resolve_counts

    daily, resolve_counts = await desk.db.read(chart_counts)
    font = await asyncio.to_thread(_cjk_font)
    locale = desk.config.locale if font or desk.config.locale == "en" else "en"
    per_category: dict[str, list[int]] = {}
    for row in daily:
        per_category.setdefault(row.category, [0] * len(days))[row.day] = row.count
    ordered = sorted(per_category.items(), key=lambda item: (-sum(item[1]), item[0]))

    def text(part: str) -> str:
        return desk.texts.render(locale, "digest_chart", part=part)

    return ChartData(
        days=tuple(day.strftime("%m-%d") for day in days),
        series=tuple(
            (desk.label(locale, "category", category), tuple(counts))
            for category, counts in ordered
        ),
        buckets=tuple(text(f"bucket{n}") for n in range(len(RESOLVE_EDGES) + 1)),
        resolve_counts=tuple(resolve_counts),
        titles={name: text(name) for name in ("daily", "resolve", "tickets")},
        font=font,
    )


_Listed = tuple[int, list[repo.TicketLine]]  # how many in all, and the first LIST_LIMIT


async def weekly_text(desk: Desk, period: stats.Period) -> str:
    figures = await stats.compute(desk, period)
    locale = desk.config.locale

    async def overdue_and_low_rated(tx: Tx) -> tuple[_Listed, _Listed]:
        overdue = await repo.overdue(tx, period.start, period.end, limit=LIST_LIMIT)
        low = await repo.low_rated(
            tx, period.start, period.end, max_rating=LOW_RATED_MAX, limit=LIST_LIMIT
        )
        return overdue, low

    (overdue_total, overdue), (low_total, low) = await desk.db.read(overdue_and_low_rated)
    return desk.texts.render(
        locale,
        "digest_weekly",
        community=desk.config.name,
        period=period,
        t=figures.total,
        cancelled=figures.cancelled,
        overdue=_ticket_lines(desk, locale, overdue),
        overdue_total=overdue_total,
        low=_ticket_lines(desk, locale, low),
        low_total=low_total,
    )


async def send_weekly(desk: Desk, charts: Path) -> bool:
    """Queue the latest due weekly digest unless it went out already; True if queued."""
    settings, chat = digest_config(desk.config), desk.config.staff_chat
    if not settings.weekly or chat is None:
        return False
    period = due_week(settings, desk.now(), desk.config.timezone)

    async def weekly_needed(tx: Tx) -> bool:
        if await repo.run_recorded(tx, WEEKLY, period.key):
            return False
        # False when the desk was not in use yet: nothing to report.
        return await repo.any_ticket_before(tx, period.end)

    if not await desk.db.read(weekly_needed):
        return False
    text = await weekly_text(desk, period)
    chart_path = charts / f"digest-{period.key}.png"
    await asyncio.to_thread(render_chart, chart_path, await _chart_data(desk, period))
    caption = desk.texts.render(desk.config.locale, "digest_chart", part="caption", period=period)
    now = desk.now()

    async def record_and_queue_weekly(tx: Tx) -> bool:
        if not await repo.record_run(tx, WEEKLY, period.key, now):
            return False  # another run got there first
        base = f"digest:{period.key}:{chat}"
        await outbox.enqueue(
            tx, Outgoing(key=f"{base}:text", chat_id=chat, text=text, purpose="digest"), now
        )
        photo = Attachment("photo", path=str(chart_path))
        chart = Outgoing(
            key=f"{base}:chart", chat_id=chat, text=caption, attachment=photo, purpose="digest"
        )
        await outbox.enqueue(tx, chart, now)
        return True

    if not await desk.db.write(record_and_queue_weekly):
        return False
    desk.wake_outbox()
    await asyncio.to_thread(drop_old_charts, charts)
    return True


def drop_old_charts(charts: Path, keep: int = CHARTS_KEPT) -> None:
    """Keep the newest few weekly charts. The outbox sends a chart within the day or gives
    up, so older files are of no further use."""
    # Names end in the ISO week (digest-2026-W49.png), so they sort by time.
    for old in sorted(charts.glob("digest-*.png"))[:-keep]:
        old.unlink(missing_ok=True)


# --- the monthly public summary ------------------------------------------------------------


async def monthly_text(desk: Desk, period: stats.Period) -> tuple[str, int]:
    """The residents' summary (aggregate numbers only) and how many requests it covers."""
    figures = await stats.compute(desk, period)
    locale = desk.config.locale
    top = [
        {
            "name": desk.label(locale, "category", group.key),
            "count": group.received,
        }
        for group in figures.breakdowns["category"][:SUMMARY_CATEGORIES]
    ]
    text = desk.texts.render(
        locale,
        "summary_monthly",
        community=desk.config.name,
        month=period.first_day.month,
        year=period.first_day.year,
        t=figures.total,
        top=top,
        hashtags=desk.config.hashtags,
    )
    return text, figures.total.received


async def send_monthly(desk: Desk) -> bool:
    """Queue last month's public summary to each residents' group; True if queued."""
    settings, chats = digest_config(desk.config), desk.config.group_chats
    if not settings.monthly or not chats:
        return False
    period = due_month(settings, desk.now(), desk.config.timezone)

    async def monthly_needed(tx: Tx) -> bool:
        if await repo.run_recorded(tx, MONTHLY, period.key):
            return False
        return await repo.any_ticket_before(tx, period.end)

    if not await desk.db.read(monthly_needed):
        return False
    text, received = await monthly_text(desk, period)
    now = desk.now()

    async def record_and_queue_monthly(tx: Tx) -> bool:
        if not await repo.record_run(tx, MONTHLY, period.key, now):
            return False
        if received == 0:
            return False  # "0 requests" is no news for residents; recorded, not posted
        for chat in chats:
            message = Outgoing(key=f"summary:{period.key}:{chat}", chat_id=chat, text=text)
            await outbox.enqueue(tx, message, now)
        return True

    if not await desk.db.write(record_and_queue_monthly):
        return False
    desk.wake_outbox()
    return True


# --- scheduling -----------------------------------------------------------------------------


def charts_dir(data: BotData) -> Path:
    """Charts live next to the database (the one folder the bot is sure to own)."""
    assert data.settings is not None
    return Path(data.settings.db_path).parent / "charts"


async def weekly_job(context: Context) -> None:
    await send_weekly(context.bot_data.require_desk(), charts_dir(context.bot_data))


async def monthly_job(context: Context) -> None:
    await send_monthly(context.bot_data.require_desk())


async def run_due(application: App) -> None:
    """Both reports, if due; for the scheduler's fast-forward."""
    data = application.bot_data
    await send_weekly(data.require_desk(), charts_dir(data))
    await send_monthly(data.require_desk())


async def schedule(application: App) -> None:
    """Repeating checks named digest:weekly and digest:monthly (a check is one indexed
    SELECT when nothing is due). A bad [digest] table fails the start, naming the key."""
    from bot.scheduler import replace_repeating  # the scheduler imports this module

    settings = digest_config(application.bot_data.require_desk().config)
    if settings.weekly:
        replace_repeating(application, "digest:weekly", weekly_job, CHECK_INTERVAL, first=30)
    if settings.monthly:
        replace_repeating(application, "digest:monthly", monthly_job, CHECK_INTERVAL, first=45)
