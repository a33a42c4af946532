"""Service-quality figures against hand-computed fixtures, periods in Asia/Shanghai, the
demand tally, the CSV export, the weekly digest (chart and all) and the monthly summary."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import tempfile
import zoneinfo
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# Before anything imports matplotlib: its caches go to a temp dir, not the home dir.
os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "community-desk-mpl"))

from bot import digest, export, stats
from bot.cli import main as cli_main
from bot.clock import FakeClock
from bot.config import CommunityConfig, ConfigError, parse_community
from bot.context import App
from bot.emulator import SentMessage
from bot.emulator.records import UploadedFile
from bot.models import Actor, Attachment, Outgoing
from bot.parsing import Parser
from bot.services import Desk
from bot.texts import Texts
from storage import outbox
from storage import stats as repo
from storage.db import Database
from storage.stats import BulkTicket
from storage.tickets import add_event
from tests.conftest import (
    AUNT,
    GROUP,
    LI,
    STAFF_GROUP,
    START,
    Bot,
    contains,
)

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
STAFF = Actor(LI, "李书记")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment given in Shanghai time (UTC+8)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(dt.UTC)


def ticket(
    created: dt.datetime,
    category: str = "repair",
    *,
    accept: dt.timedelta | None = None,
    first_accept: dt.timedelta | None = None,
    resolve: dt.timedelta | None = None,
    rating: int | None = None,
    state: str | None = None,
    deadlines: bool = True,
    **fields: object,
) -> BulkTicket:
    """A ticket with 10-minute acknowledgement and 3-day resolution deadlines (or none
    stored, for the fallback), accepted / resolved / rated after the given delays."""
    accepted = None if accept is None else created + accept
    resolved = None if resolve is None else created + resolve
    if state is None:
        state = (
            "closed" if rating else "resolved" if resolved else "accepted" if accepted else "new"
        )
    return BulkTicket(
        created_at=created,
        category=category,
        state=state,
        accepted_at=accepted,
        first_accepted_at=None if first_accept is None else created + first_accept,
        resolved_at=resolved,
        closed_at=resolved if state == "closed" else None,
        rating=rating,
        rated_at=None if rating is None or resolved is None else resolved + HOUR,
        ack_due_at=created + 10 * MINUTE if deadlines else None,
        resolve_due_at=created + 3 * DAY if deadlines else None,
        **fields,  # type: ignore[arg-type]
    )


# November 2026 in Shanghai. Each comment: responded? resolved in time? rating.
NOVEMBER = [
    # T1 on time, on time, 5★
    ticket(
        local(2026, 11, 2, 9),
        accept=5 * MINUTE,
        resolve=2 * HOUR,
        rating=5,
        building="3",
        assignee_key="wang",
        reporter_name="张阿姨",
    ),
    # T2 late (30 min), late (4 days > 3), 4★
    ticket(
        local(2026, 11, 3, 9),
        accept=30 * MINUTE,
        resolve=4 * DAY,
        rating=4,
        building="3",
        assignee_key="wang",
    ),
    # T3 on time, on time, 2★
    ticket(
        local(2026, 11, 4, 9),
        accept=8 * MINUTE,
        resolve=DAY,
        rating=2,
        building="7",
        assignee_key="zhao",
    ),
    # T4 exactly at both deadlines (counts as on time), resolved but unrated
    ticket(
        local(2026, 11, 5, 9), "safety", accept=10 * MINUTE, resolve=3 * DAY, assignee_key="chen"
    ),
    # T5 on time, still open past its resolution deadline
    ticket(local(2026, 11, 6, 9), "safety", accept=2 * MINUTE, building="7", assignee_key="chen"),
    # T6 23:30 on 30 Nov local (15:30 UTC): November; never accepted, both deadlines passed
    ticket(local(2026, 11, 30, 23, 30), "activity", text="想学吉他，能开个吉他班吗"),
    # T10 no stored deadlines: 9 min <= sla.ack_minutes (10); 8 days > the 7-day fallback; 5★
    ticket(
        local(2026, 11, 20, 9),
        "utilities",
        accept=9 * MINUTE,
        resolve=8 * DAY,
        rating=5,
        deadlines=False,
        building="3",
        assignee_key="wang",
    ),
    # T11 urgent, no stored deadlines: 3 min > urgent_ack_minutes (2); 1 h on time; closed
    # unrated
    ticket(
        local(2026, 11, 21, 9),
        accept=3 * MINUTE,
        resolve=HOUR,
        state="closed",
        deadlines=False,
        urgent=True,
        assignee_key="zhao",
    ),
    # T12 reopened: first accepted after 4 min, accepted again after 2 days; 5★
    ticket(
        local(2026, 11, 22, 9),
        accept=2 * DAY,
        first_accept=4 * MINUTE,
        resolve=2 * DAY + HOUR,
        rating=5,
        building="7",
        assignee_key="zhao",
    ),
    # T9 cancelled: left out of every figure, counted as cancelled
    ticket(local(2026, 11, 10, 9), state="cancelled", accept=MINUTE),
]
OUTSIDE = [
    # 00:10 on 1 Dec local is still 30 Nov in UTC: December, not November
    ticket(local(2026, 12, 1, 0, 10), accept=MINUTE),
    # 23:59 on 31 Oct local
    ticket(local(2026, 10, 31, 23, 59), accept=MINUTE),
]


@pytest.fixture
async def desk(tmp_path: Path, config: CommunityConfig) -> AsyncIterator[Desk]:
    db = await Database.open(tmp_path / "stats.sqlite3")
    try:
        yield Desk(
            db=db,
            config=config,
            texts=Texts(),
            clock=FakeClock(START),
            parser=Parser(config.vocabulary),
        )
    finally:
        await db.close()


async def insert(desk: Desk, rows: list[BulkTicket]) -> list[int]:
    async with desk.db.transaction() as tx:
        return await repo.bulk_insert(tx, rows)


def november(desk: Desk) -> stats.Period:
    return stats.parse_period("2026-11", desk.now(), ZONE)


# --- periods ------------------------------------------------------------------------------


def test_periods_are_local_days_in_utc() -> None:
    now = START  # Monday 7 December 2026, 10:00 in Shanghai

    def bounds(text: str, moment: dt.datetime = now) -> tuple[str, dt.date, dt.date, str, str]:
        p = stats.parse_period(text, moment, ZONE)
        return p.key, p.first_day, p.last_day, p.start.isoformat(), p.end.isoformat()

    d = dt.date
    assert bounds("today") == (
        "2026-12-07",
        d(2026, 12, 7),
        d(2026, 12, 7),
        "2026-12-06T16:00:00+00:00",
        "2026-12-07T16:00:00+00:00",
    )
    assert bounds("week")[:3] == ("2026-W50", d(2026, 12, 7), d(2026, 12, 13))
    assert bounds("month")[:3] == ("2026-12", d(2026, 12, 1), d(2026, 12, 31))
    assert bounds("")[:3] == bounds("month")[:3]  # the default
    assert bounds("7d")[1:3] == (d(2026, 12, 1), d(2026, 12, 7))
    assert bounds("30d")[1:3] == (d(2026, 11, 8), d(2026, 12, 7))
    assert bounds("2026-11") == (
        "2026-11",
        d(2026, 11, 1),
        d(2026, 11, 30),
        "2026-10-31T16:00:00+00:00",
        "2026-11-30T16:00:00+00:00",
    )
    assert bounds("2026-11-01..2026-11-30")[1:] == bounds("2026-11")[1:]
    assert bounds("2026-02")[2] == d(2026, 2, 28)
    # 00:30 on the 7th in Shanghai is still the 6th in UTC: "today" is the local day.
    assert bounds("today", local(2026, 12, 7, 0, 30))[1] == d(2026, 12, 7)
    assert bounds("today", local(2026, 12, 7, 23, 59))[1] == d(2026, 12, 7)
    for bad in ("2026-13", "2026-02-30", "soon", "0d", "2026-11-30..2026-11-01", "99999d"):
        with pytest.raises(stats.PeriodError):
            stats.parse_period(bad, now, ZONE)


# --- the figures ----------------------------------------------------------------------------


async def test_every_figure_matches_the_hand_computed_fixture(desk: Desk) -> None:
    await insert(desk, NOVEMBER + OUTSIDE)
    figures = await stats.compute(desk, november(desk))
    t = figures.total
    assert (t.received, figures.cancelled, t.resolved) == (9, 1, 7)
    # Responded: T1 T3 T4 T5 T10 T12 of 9 (T6 never accepted and past its deadline).
    assert (t.response.hits, t.response.total) == (6, 9)
    assert round(t.response.percent or 0, 1) == 66.7
    # In time: T1 T3 T4 T11 T12 of 9 (T5 and T6 are open past their deadlines).
    assert (t.resolution.hits, t.resolution.total) == (5, 9)
    # Ratings 5 4 2 5 5: 4 of 5 satisfied, mean 4.2; T4 and T11 unrated (not satisfied).
    assert (t.satisfaction.hits, t.satisfaction.total, t.satisfaction.percent) == (4, 5, 80.0)
    assert t.mean_rating == pytest.approx(4.2)
    assert t.unrated == 2
    # Accept: 120 180 240 300 | 480 540 600 1800 s; resolve: 1 h 2 h 1 d 2d1h 3 d 4 d 8 d.
    assert t.accept == stats.Spread(count=8, median=390.0, p90=1800)
    assert t.resolve == stats.Spread(count=7, median=176400.0, p90=691200)


async def test_breakdowns_by_category_building_team_and_staff(desk: Desk) -> None:
    await insert(desk, NOVEMBER + OUTSIDE)
    figures = await stats.compute(desk, november(desk))

    def row(dimension: str, key: str) -> tuple[object, ...]:
        g = figures.group(dimension, key)
        assert g is not None, (dimension, key)
        return (
            g.received,
            (g.response.hits, g.response.total),
            (g.resolution.hits, g.resolution.total),
            (g.satisfaction.hits, g.satisfaction.total),
            None if g.mean_rating is None else round(g.mean_rating, 3),
            g.unrated,
        )

    assert [g.key for g in figures.breakdowns["category"]] == [
        "repair",
        "safety",
        "activity",
        "utilities",
    ]
    assert row("category", "repair") == (5, (3, 5), (4, 5), (3, 4), 4.0, 1)
    assert row("category", "safety") == (2, (2, 2), (1, 2), (0, 0), None, 1)
    assert row("category", "activity") == (1, (0, 1), (0, 1), (0, 0), None, 0)
    assert row("category", "utilities") == (1, (1, 1), (0, 1), (1, 1), 5.0, 0)
    repair = figures.group("category", "repair")
    assert repair is not None
    assert repair.accept == stats.Spread(count=5, median=300.0, p90=1800)
    assert repair.resolve == stats.Spread(count=5, median=86400.0, p90=345600)
    safety = figures.group("category", "safety")
    assert safety is not None
    assert safety.accept == stats.Spread(count=2, median=360.0, p90=600)
    assert safety.resolve == stats.Spread(count=1, median=259200.0, p90=259200)
    activity = figures.group("category", "activity")
    assert activity is not None and activity.accept == stats.Spread()

    assert row("building", "3") == (3, (2, 3), (1, 3), (3, 3), 4.667, 0)
    assert row("building", "7") == (3, (3, 3), (2, 3), (1, 2), 3.5, 0)
    assert row("building", "") == (3, (1, 3), (2, 3), (0, 0), None, 2)  # no building given

    # Teams come from config.category_teams: repair and utilities -> property.
    assert row("team", "property") == (6, (4, 6), (4, 6), (4, 5), 4.2, 1)
    assert row("team", "grid") == (2, (2, 2), (1, 2), (0, 0), None, 1)
    assert row("team", "culture") == (1, (0, 1), (0, 1), (0, 0), None, 0)

    assert row("staff", "wang") == (3, (2, 3), (1, 3), (3, 3), 4.667, 0)
    assert row("staff", "zhao") == (3, (2, 3), (3, 3), (1, 2), 3.5, 1)
    assert row("staff", "chen") == (2, (2, 2), (1, 2), (0, 0), None, 1)
    assert row("staff", "") == (1, (0, 1), (0, 1), (0, 0), None, 0)  # unassigned
    wang, zhao = figures.group("staff", "wang"), figures.group("staff", "zhao")
    assert wang is not None and zhao is not None
    assert wang.accept == stats.Spread(count=3, median=540.0, p90=1800)
    assert wang.resolve == stats.Spread(count=3, median=345600.0, p90=691200)
    assert zhao.accept == stats.Spread(count=3, median=240.0, p90=480)
    assert zhao.resolve == stats.Spread(count=3, median=86400.0, p90=176400)


async def test_period_boundaries_at_shanghai_midnight(desk: Desk) -> None:
    await insert(desk, NOVEMBER + OUTSIDE)
    for text, received in (("2026-12", 1), ("2026-10", 1), ("2026-11-30", 1), ("2026-12-01", 1)):
        figures = await stats.compute(desk, stats.parse_period(text, desk.now(), ZONE))
        assert figures.total.received == received, text
    whole = await stats.compute(desk, stats.parse_period("2026-10-31..2026-12-01", START, ZONE))
    assert whole.total.received == 11


async def test_empty_database(desk: Desk) -> None:
    figures = await stats.compute(desk, november(desk))
    t = figures.total
    assert (t.received, figures.cancelled, t.resolved, t.unrated) == (0, 0, 0, 0)
    assert t.response.percent is None and t.resolution.percent is None
    assert t.satisfaction.percent is None and t.mean_rating is None
    assert t.accept == stats.Spread() and t.resolve == stats.Spread()
    assert all(groups == () for groups in figures.breakdowns.values())
    text = stats.render_figures(desk, "zh", figures)
    assert "受理诉求 <b>0</b> 件" in text and "响应率 <b>—</b>" in text


async def test_tickets_not_yet_due_are_not_counted_as_missed(desk: Desk) -> None:
    now = desk.now()
    await insert(
        desk,
        [
            ticket(now - 5 * MINUTE),  # ack deadline in 5 minutes: neither hit nor miss yet
            ticket(now - 20 * MINUTE),  # deadline passed unanswered: a miss
            ticket(now - 30 * MINUTE, accept=3 * MINUTE),  # answered in time
        ],
    )
    figures = await stats.compute(desk, stats.parse_period("today", now, ZONE))
    t = figures.total
    assert t.received == 3
    assert (t.response.hits, t.response.total) == (1, 2)
    assert (t.resolution.hits, t.resolution.total) == (0, 0)  # nothing due for days


async def test_first_acceptance_is_kept_when_a_reopened_ticket_is_accepted_again(
    desk: Desk,
) -> None:
    created = desk.now() - 2 * HOUR
    (ticket_id,) = await insert(desk, [ticket(created)])
    async with desk.db.transaction() as tx:  # the SQL the lifecycle runs; the trigger does the rest
        await tx.execute(
            "UPDATE tickets SET state = 'accepted', accepted_at = ? WHERE id = ?",
            ("2026-12-07T00:05:00.000000Z", ticket_id),
        )
        await tx.execute(
            "UPDATE tickets SET accepted_at = ? WHERE id = ?",
            ("2026-12-07T01:30:00.000000Z", ticket_id),
        )
    figures = await stats.compute(desk, stats.parse_period("today", desk.now(), ZONE))
    assert figures.total.accept.median == 5 * 60
    assert (figures.total.response.hits, figures.total.response.total) == (1, 1)


# --- /stats, /demand, /export through the fake Bot API -----------------------------------------


async def test_stats_command_for_staff_refused_to_residents(bot: Bot) -> None:
    await insert(bot.desk, NOVEMBER + OUTSIDE)
    api = bot.api
    start = len(api.sent)
    api.user_sends(LI, None, "/stats 2026-11")
    report = await bot.said(LI, contains("服务数据"), start=start)
    text = report.plain_text or ""
    for fragment in (
        "受理诉求 9 件（另有撤销 1 件，不计入）",
        "响应率 66.7%（按时接单 6/9）",
        "办结率 55.6%（按期办结 5/9，已办结 7 件）",
        "满意率 80%（4★及以上 4/5，平均 4.2★）",
        "未评价 2 件",
        "接单用时：中位数 6 分钟，90% 在 30 分钟内",
        "办结用时：中位数 2 天，90% 在 8 天内",
        "维修报修：5 件 · 响应 60% · 办结 80% · 满意 75%",
        "3号楼：3 件",
        "物业：6 件",
        "王师傅：3 件",
        "未分派：1 件",
    ):
        assert fragment in text, fragment

    start = len(api.sent)
    api.user_sends(AUNT, None, "/stats")
    refused = await bot.said(AUNT, start=start)
    assert "仅供社区工作人员" in (refused.plain_text or "")

    start = len(api.sent)
    api.user_sends(LI, GROUP, "/stats")  # the residents' group: figures name staff
    await bot.said(GROUP, contains("私聊"), start=start)
    api.user_sends(LI, None, "/stats next-year")
    await bot.said(LI, contains("用法：/stats"), start=start)


async def test_demand_tally(desk: Desk) -> None:
    day = local(2026, 12, 1, 10)
    await insert(
        desk,
        [
            ticket(day, "activity", text="想学吉他", reporter_id=1),
            ticket(day, "activity", text="希望开个吉他班", reporter_id=2),
            ticket(day, "activity", text="吉他和书法都想学", reporter_id=2),
            ticket(day, "other", text="社区能不能办个智能手机培训班", reporter_id=3),
            ticket(day, "activity", text="想参加合唱团", reporter_id=4),
            ticket(day, "activity", text="希望多组织些活动", reporter_id=5),
            ticket(day, "repair", text="手机掉进电梯井了", reporter_id=6),  # not a wish
            ticket(day, "activity", text="吉他", state="cancelled", reporter_id=7),
        ],
    )
    tally = await stats.demand_tally(desk, stats.parse_period("month", desk.now(), ZONE))
    assert [(r.keyword, r.tickets, r.residents) for r in tally.rows] == [
        ("guitar", 3, 2),
        ("calligraphy", 1, 1),
        ("choir", 1, 1),
        ("phone", 1, 1),
    ]
    assert tally.other == 1
    reply = await stats.demand_report(desk, STAFF, "month")
    assert "吉他班：3 条诉求，2 位居民" in reply.text
    assert "其他文体活动诉求：1 条" in reply.text
    refused = await stats.demand_report(desk, Actor(AUNT, "张阿姨"), None)
    assert not refused.ok


async def test_demand_command(bot: Bot) -> None:
    await insert(bot.desk, [ticket(START - HOUR, "activity", text="想学书法")])
    start = len(bot.api.sent)
    bot.api.user_sends(LI, None, "/demand 30d")
    await bot.said(LI, contains("书法班：1 条诉求，1 位居民"), start=start)


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM, for Excel
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_export_csv_has_bom_chinese_and_events(desk: Desk) -> None:
    first, second = await insert(
        desk,
        [
            ticket(
                local(2026, 11, 2, 9),
                accept=5 * MINUTE,
                resolve=2 * HOUR,
                rating=5,
                building="3",
                assignee_key="wang",
                reporter_name="张阿姨",
                text="楼道灯不亮了",
            ),
            ticket(local(2026, 11, 3, 9), "activity", text='=HYPERLINK("x")'),
        ],
    )
    async with desk.db.transaction() as tx:
        await add_event(tx, second, "info", local(2026, 11, 3, 10), actor_id=1, note="补充：周末")
    reply = await export.export_command(desk, STAFF, "2026-11")
    assert reply.ok and reply.data is not None
    assert reply.filename == "tickets-2026-11.csv"
    rows = _csv(reply.data)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["工单号", "登记时间", "类别"] and header[-4:][1] == "记录"
    # T1: created, accepted, resolved, rated; the other: created plus the note.
    assert [(r[0], r[header.index("记录")]) for r in body] == [
        (str(first), "登记"),
        (str(first), "接单"),
        (str(first), "办结"),
        (str(first), "评价"),
        (str(second), "登记"),
        (str(second), "补充信息"),
    ]
    t1 = body[1]
    assert t1[header.index("登记时间")] == "2026-11-02 09:00:00"  # local time
    assert t1[header.index("类别")] == "维修报修"
    assert t1[header.index("诉求内容")] == "楼道灯不亮了"
    assert t1[header.index("反映人")] == "张阿姨"
    assert t1[header.index("负责人")] == "王师傅"
    assert t1[header.index("操作人")] == "王师傅"
    assert t1[header.index("班组")] == "物业"
    assert body[5][header.index("备注")] == "补充：周末"
    assert body[4][header.index("诉求内容")] == '\'=HYPERLINK("x")'  # never a formula
    assert "2 件工单，6 行记录" in reply.text

    empty = await export.export_command(desk, STAFF, "2026-01")
    assert empty.data is not None and len(_csv(empty.data)) == 1  # the header only
    refused = await export.export_command(desk, Actor(AUNT, "张阿姨"), None)
    assert not refused.ok and refused.data is None


async def test_export_command_sends_a_document(bot: Bot) -> None:
    await insert(bot.desk, NOVEMBER)
    start = len(bot.api.sent)
    bot.api.user_sends(LI, None, "/export 2026-11")
    sent = await bot.said(LI, lambda m: m.media == "document", start=start)
    upload = sent.params["document"]
    assert isinstance(upload, UploadedFile)
    assert upload.filename == "tickets-2026-11.csv"
    rows = _csv(upload.data)
    assert len({r[0] for r in rows[1:]}) == 10  # every November ticket, cancelled included
    assert "10 件工单" in (sent.plain_text or "")


def test_export_cli(tmp_path: Path, config: CommunityConfig) -> None:
    db_path = tmp_path / "desk.sqlite3"

    async def prepare() -> None:
        db = await Database.open(db_path)
        async with db.transaction() as tx:
            await repo.bulk_insert(tx, NOVEMBER + OUTSIDE)
        await db.close()

    asyncio.run(prepare())
    out = tmp_path / "november.csv"
    code = cli_main(
        [
            "export",
            "--since",
            "2026-11-01",
            "--until",
            "2026-11-30",
            "--out",
            str(out),
            "--db",
            str(db_path),
        ]
    )
    assert code == 0
    rows = _csv(out.read_bytes())
    assert rows[0][0] == "工单号"
    assert len({r[0] for r in rows[1:]}) == 10
    assert (
        cli_main(
            [
                "export",
                "--since",
                "2026-11-01",
                "--out",
                str(out),
                "--db",
                str(tmp_path / "missing.sqlite3"),
            ]
        )
        == 2
    )
    assert cli_main(["export", "--since", "November", "--out", str(out), "--db", str(db_path)]) == 2


# --- digest and summary -----------------------------------------------------------------------


def _config(config: CommunityConfig, **digest_table: object) -> CommunityConfig:
    return parse_community({**config.raw, "digest": digest_table})


def test_digest_config_is_validated(config: CommunityConfig) -> None:
    assert digest.digest_config(config) == digest.DigestConfig()  # the demo's values
    custom = digest.digest_config(_config(config, weekday="fri", time="17:30", monthly=False))
    assert (custom.weekday, custom.time, custom.monthly) == (4, dt.time(17, 30), False)
    for table, key in (
        ({"weekday": "someday"}, "digest.weekday"),
        ({"time": "9am"}, "digest.time"),
        ({"monthly_day": 31}, "digest.monthly_day"),
        ({"weekly": "yes"}, "digest.weekly"),
        ({"when": "mon"}, "digest.when"),
    ):
        with pytest.raises(ConfigError) as error:
            digest.digest_config(_config(config, **table))
        assert error.value.key == key


def test_due_periods() -> None:
    settings = digest.DigestConfig()  # Monday 09:00; the 1st at 09:30
    monday_10 = local(2026, 12, 7, 10)
    assert digest.due_week(settings, monday_10, ZONE).key == "2026-W49"  # 30 Nov – 6 Dec
    assert digest.due_week(settings, local(2026, 12, 7, 8, 59), ZONE).key == "2026-W48"
    assert digest.due_week(settings, local(2026, 12, 13, 23), ZONE).key == "2026-W49"
    friday = digest.DigestConfig(weekday=4)
    assert digest.due_week(friday, local(2026, 12, 11, 9), ZONE).key == "2026-W49"
    assert digest.due_month(settings, local(2026, 12, 1, 9, 30), ZONE).key == "2026-11"
    assert digest.due_month(settings, local(2026, 12, 1, 9, 29), ZONE).key == "2026-10"
    assert digest.due_month(settings, local(2027, 1, 5), ZONE).key == "2026-12"


def test_outbox_keeps_a_file_path_attachment() -> None:
    message = Outgoing(key="k", chat_id=1, attachment=Attachment("photo", path="/tmp/c.png"))
    assert outbox.decode(outbox.encode(message)) == message


def app_of(bot: Bot) -> App:
    assert bot.app is not None
    return bot.app


def _photos(bot: Bot) -> list[SentMessage]:
    return [m for m in bot.api.sent_to(STAFF_GROUP) if m.media == "photo"]


async def test_weekly_digest_with_chart_once_per_week(bot: Bot, tmp_path: Path) -> None:
    week = local(2026, 11, 30, 9)  # Monday of 2026-W49; START is the next Monday 10:00
    ids = await insert(
        bot.desk,
        [
            ticket(week, accept=5 * MINUTE, resolve=2 * HOUR, rating=5, assignee_key="wang"),
            ticket(
                week + DAY, "safety", accept=MINUTE, resolve=HOUR, rating=2, assignee_key="chen"
            ),
            ticket(week + 2 * DAY, accept=MINUTE, assignee_key="zhao"),  # overdue since Thu
            ticket(week + 6 * DAY, "activity"),  # Sunday; its deadline is next week
        ],
    )
    charts = digest.charts_dir(app_of(bot).bot_data)
    charts.mkdir(parents=True)
    for number in range(40, 46):  # charts of earlier weeks, long sent
        (charts / f"digest-2026-W{number}.png").write_bytes(b"old")
    start = len(bot.api.sent)
    assert await digest.send_weekly(bot.desk, charts)
    text = await bot.said(STAFF_GROUP, contains("工作周报"), start=start)
    plain = text.plain_text or ""
    assert "2026-11-30 至 2026-12-06" in plain
    assert "受理 4 件，已办结 2 件" in plain
    assert f"本周超期工单（1）\n• #{ids[2]} 维修报修 · 赵师傅" in plain
    assert f"本周低分评价（1）\n• #{ids[1]} 安全隐患 · 2★ · 陈网格员" in plain
    chart = await bot.said(STAFF_GROUP, lambda m: m.media == "photo", start=start)
    upload = chart.params["photo"]
    assert isinstance(upload, UploadedFile)
    assert upload.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert upload.filename == "digest-2026-W49.png"
    assert (tmp_path / "charts" / "digest-2026-W49.png").exists()  # next to the database
    kept = sorted(path.name for path in charts.glob("*.png"))
    assert kept == [f"digest-2026-W{number}.png" for number in (43, 44, 45, 49)]

    await bot.restart()
    assert not await digest.send_weekly(bot.desk, digest.charts_dir(app_of(bot).bot_data))
    await digest.run_due(app_of(bot))
    async with bot.desk.db.reading() as tx:
        queued = await tx.scalar("SELECT COUNT(*) FROM outbox WHERE idem_key LIKE 'digest:%'")
    assert queued == 2  # the text and the chart, once
    assert len(_photos(bot)) == 1


async def test_chart_falls_back_to_english_labels_without_a_cjk_font(desk: Desk) -> None:
    await insert(desk, [ticket(local(2026, 11, 30, 9), accept=MINUTE, resolve=5 * HOUR)])
    period = digest.due_week(digest.DigestConfig(), desk.now(), ZONE)
    data = await digest._chart_data(desk, period)
    assert data.days == ("11-30", "12-01", "12-02", "12-03", "12-04", "12-05", "12-06")
    assert data.resolve_counts == (0, 1, 0, 0, 0)  # 5 hours: the 4–24 h bucket
    if data.font is None:
        assert data.series == (("Repairs", (1, 0, 0, 0, 0, 0, 0)),)
        assert data.titles["daily"] == "Requests per day by category"
    else:
        assert data.series == (("维修报修", (1, 0, 0, 0, 0, 0, 0)),)


def test_chart_without_a_cjk_font_renders_english_labels(tmp_path: Path) -> None:
    chart = digest.ChartData(
        days=("11-30", "12-01"),
        series=(("Repairs", (2, 1)), ("Safety hazard", (0, 3))),
        buckets=("< 4 h", "4-24 h", "1-3 days", "3-7 days", "> 7 days"),
        resolve_counts=(1, 0, 2, 0, 0),
        titles={"daily": "Requests per day", "resolve": "Time to resolve", "tickets": "n"},
        font=None,
    )
    digest.render_chart(tmp_path / "sub" / "chart.png", chart)  # warnings are errors here
    assert (tmp_path / "sub" / "chart.png").read_bytes().startswith(b"\x89PNG")


async def test_nothing_to_report_before_the_desk_was_used(bot: Bot) -> None:
    assert not await digest.send_weekly(bot.desk, digest.charts_dir(app_of(bot).bot_data))
    assert not await digest.send_monthly(bot.desk)


async def test_monthly_public_summary(bot: Bot) -> None:
    await insert(bot.desk, NOVEMBER + OUTSIDE)
    start = len(bot.api.sent)
    assert await digest.send_monthly(bot.desk)  # START is 7 December: November is due
    summary = await bot.said(GROUP, contains("11月"), start=start)
    plain = summary.plain_text or ""
    assert "11月共受理居民诉求 9 件，办结 7 件，满意率 80%。" in plain
    assert "其中维修报修 5 件，安全隐患 2 件，文体活动 1 件，水电暖气 1 件。" in plain
    assert "及时响应率 66%，按期办结率 55%。" in plain  # rounded down, never up
    for private in ("张阿姨", "王师傅", "赵师傅", "3号楼", "#"):
        assert private not in plain.replace("#报修", "")
    assert not await digest.send_monthly(bot.desk)
    await bot.restart()
    assert not await digest.send_monthly(bot.desk)
    assert len([m for m in bot.api.sent_to(GROUP) if "11月" in (m.plain_text or "")]) == 1


async def test_staff_group_and_resident_groups_only(bot: Bot) -> None:
    """The weekly digest needs the staff group; the summary needs a residents' group."""
    config = parse_community(
        {
            **bot.config.raw,
            "community": {**bot.config.raw["community"], "staff_chat": None, "group_chats": []},
        }
    )
    desk = Desk(
        db=bot.desk.db,
        config=config,
        texts=bot.desk.texts,
        clock=bot.clock,
        parser=bot.desk.parser,
    )
    await insert(desk, NOVEMBER)
    assert not await digest.send_weekly(desk, Path(tempfile.gettempdir()))
    assert not await digest.send_monthly(desk)
