"""Scheduled notices end to end through the fake Bot API: the monthly lecture, reminders,
RSVP with capacity and waitlist, restarts, missed occurrences, quiet hours, the staff
/notice conversation and /notices. Time only moves when a test moves the fake clock, and
jobs are run by calling them."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import notices, scheduler
from bot.cli import demo_config_path
from bot.config import CommunityConfig, ConfigError, load_community, parse_community
from bot.emulator import SentMessage
from bot.emulator.records import ChatMessage
from storage import notices as repo
from tests.conftest import (
    AUNT,
    GROUP,
    LI,
    STRANGER,
    UNCLE,
    Bot,
    answer_with,
    contains,
    onboard,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

WATER_CUT = {
    "id": "water-cut",
    "title": "明日停水通知",
    "text": "因管网维修，12月8日9:00–17:00 1–5号楼停水，请提前储水。",
    "topic": "community",
    "repeat": "once",
    "date": "2026-12-07",
    "time": "22:30",
}


@pytest.fixture
def config() -> CommunityConfig:
    """The demo config plus a late-evening one-off notice (for quiet hours)."""
    raw: dict[str, Any] = copy.deepcopy(dict(load_community(demo_config_path()).raw))
    raw["notices"]["schedule"].append(WATER_CUT)
    return parse_community(raw)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A community-local time (Asia/Shanghai) as an aware datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def notice_id(bot: Bot, config_id: str) -> int:
    async with bot.desk.db.reading() as tx:
        return (await repo.config_notices(tx))[config_id][0]


async def move_to(bot: Bot, moment: dt.datetime) -> None:
    """The playground's fast-forward: set the clock, run everything that is due."""
    bot.clock.set(moment)
    assert bot.app is not None
    await scheduler.run_due(bot.app)


async def queued(bot: Bot, key_prefix: str) -> int:
    """Outbox rows whose key starts with the prefix (sent or not): doubles show up here."""
    async with bot.desk.db.reading() as tx:
        value = await tx.scalar(
            "SELECT COUNT(*) FROM outbox WHERE idem_key LIKE ?", (key_prefix + "%",)
        )
    return int(value)


async def outcome(bot: Bot, notice: int, occurs_at: dt.datetime) -> str | None:
    async with bot.desk.db.reading() as tx:
        return await repo.occurrence_outcome(tx, notice, occurs_at)


def texts(bot: Bot, chat_id: int, fragment: str) -> list[SentMessage]:
    return [m for m in bot.api.sent_to(chat_id) if fragment in (m.plain_text or m.text or "")]


async def press(bot: Bot, user_id: int, message: SentMessage, data: str, fragment: str) -> str:
    answered = len(bot.api.callback_answers)
    bot.api.user_presses(user_id, message.message_id, message.chat_id, data)
    await bot.api.wait_for(lambda: len(bot.api.callback_answers) > answered)
    return await answer_with(bot.api, fragment)


async def say(bot: Bot, user_id: int, text: str, fragment: str) -> SentMessage:
    start = len(bot.api.sent)
    bot.api.user_sends(user_id, None, text)
    return await bot.said(user_id, contains(fragment), start=start)


def current(bot: Bot, sent: SentMessage) -> ChatMessage:
    """A message as it stands now in its chat (edits applied)."""
    return next(m for m in bot.api.messages_in(sent.chat_id) if m.message_id == sent.message_id)


async def post_says(bot: Bot, post: SentMessage, fragment: str) -> ChatMessage:
    """The post once the bot has refreshed it to say `fragment`."""
    await bot.api.wait_for(lambda: fragment in (current(bot, post).text or ""), what=fragment)
    return current(bot, post)


async def post_lecture(bot: Bot) -> SentMessage:
    """December's lecture (last Friday, 25th, 15:00) is posted three days before."""
    await move_to(bot, at(2026, 12, 22, 15, 0))
    return await bot.said(GROUP, contains("健康大讲堂"))


# --- the schedule ----------------------------------------------------------------------


async def test_monthly_lecture_job_fires_on_the_right_day_in_the_community_zone(
    bot: Bot,
) -> None:
    assert bot.app is not None and bot.app.job_queue is not None
    lecture = await notice_id(bot, "health-lecture")
    [job] = bot.app.job_queue.get_jobs_by_name(f"notice:{lecture}")

    bot.clock.set(at(2026, 12, 22, 14, 59))  # a minute early: nothing
    await job.run(bot.app)
    assert await outcome(bot, lecture, at(2026, 12, 25, 15, 0)) is None

    bot.clock.set(at(2026, 12, 22, 15, 0))  # 07:00 UTC
    await job.run(bot.app)
    post = await bot.said(GROUP, contains("健康大讲堂"))
    text = post.plain_text or ""
    assert "冬季心脑血管疾病预防" in text and "周主任" in text  # December's topic and speaker
    assert "12月25日（周五）15:00" in text and "三楼多功能厅" in text
    assert post.button_texts == ["报名", "取消报名"]
    assert await outcome(bot, lecture, at(2026, 12, 25, 15, 0)) == "sent"

    # Re-armed for January: the last Friday is the 29th, posted on the 26th at 15:00.
    [rearmed] = bot.app.job_queue.get_jobs_by_name(f"notice:{lecture}")
    assert rearmed.next_t is not None
    expected = at(2027, 1, 26, 15, 0) - bot.clock.now()
    actual = rearmed.next_t - dt.datetime.now(dt.UTC)
    assert abs(actual - expected) < dt.timedelta(minutes=1)

    await move_to(bot, at(2027, 1, 26, 15, 0))
    january = await bot.said(GROUP, contains("口腔健康"))
    assert "1月29日（周五）15:00" in (january.plain_text or "")
    assert "刘医生" in (january.plain_text or "")  # no month speaker: the series' own


async def test_restart_never_doubles_and_missed_posts_are_late_within_grace_else_skipped(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    weekly = await notice_id(bot, "bp-check-weekly")
    await move_to(bot, at(2026, 12, 8, 7, 30))
    await bot.said(GROUP, contains("免费测血压"))
    await bot.restart()  # the start-up catch-up runs again at the same moment
    await move_to(bot, at(2026, 12, 8, 7, 31))
    assert await queued(bot, f"notice:{weekly}:") == 1

    # Down over the next Tuesday's 07:30, back at 07:50: posted late, once.
    await bot.stop()
    bot.clock.set(at(2026, 12, 15, 7, 50))
    start = len(bot.api.sent)
    await bot.start()
    await bot.said(GROUP, contains("免费测血压"), start=start)
    assert await outcome(bot, weekly, at(2026, 12, 15, 7, 30)) == "late"
    await move_to(bot, at(2026, 12, 15, 8, 0))
    assert await queued(bot, f"notice:{weekly}:") == 2

    # Down for longer than the 1-hour grace window: skipped, and the log says so.
    await bot.stop()
    bot.clock.set(at(2026, 12, 22, 8, 31))
    with caplog.at_level(logging.WARNING, logger="bot.notices"):
        await bot.start()
    assert await outcome(bot, weekly, at(2026, 12, 22, 7, 30)) == "skipped"
    assert await queued(bot, f"notice:{weekly}:") == 2
    assert any("skipped" in r.getMessage() for r in caplog.records)

    # The schedule carries on the week after.
    await move_to(bot, at(2026, 12, 29, 7, 30))
    assert await queued(bot, f"notice:{weekly}:") == 3


async def test_broadcast_waits_out_a_429(bot: Bot) -> None:
    api = bot.api
    api.fail_next("sendMessage", kind="retry_after", retry_after=3, chat_id=GROUP)
    await move_to(bot, at(2026, 12, 8, 7, 30))
    await api.wait_for(lambda: any(e.error_code == 429 for e in api.errors))
    for _ in range(200):  # until the sender has rescheduled the row
        async with bot.desk.db.reading() as tx:
            if await tx.scalar("SELECT last_error FROM outbox WHERE idem_key LIKE 'notice:%'"):
                break
        await asyncio.sleep(0.01)
    assert not texts(bot, GROUP, "免费测血压")
    bot.clock.advance(dt.timedelta(seconds=4))  # retry_after has passed
    assert bot.app is not None and bot.app.bot_data.sender is not None
    bot.app.bot_data.sender.wake()
    await bot.said(GROUP, contains("免费测血压"))
    assert len(texts(bot, GROUP, "免费测血压")) == 1


# --- RSVP and reminders ------------------------------------------------------------------


async def test_rsvp_capacity_waitlist_promotion_and_double_press(bot: Bot) -> None:
    await onboard(bot, LI, AUNT, UNCLE, STRANGER)
    lecture = await notice_id(bot, "health-lecture")
    await say(bot, LI, f"/notices edit {lecture} capacity 2", "已修改")
    post = await post_lecture(bot)
    go, cancel = post.callback_data

    assert "已报名" not in (post.plain_text or "")
    current_markup = current(bot, post).reply_markup
    assert "1/2" in await press(bot, AUNT, post, go, "报名成功")
    await post_says(bot, post, "已报名 1/2")  # the group sees the count
    assert "已经报过名" in await press(bot, AUNT, post, go, "报名")  # second press: counted once
    assert "2/2" in await press(bot, UNCLE, post, go, "报名成功")
    full = await post_says(bot, post, "已报名 2/2（已满，可报名候补）")
    assert full.reply_markup == current_markup  # the buttons stay
    waiting = await press(bot, STRANGER, post, go, "候补")
    assert "第 1 位" in waiting and bot.api.callback_answers[-1].show_alert

    listing = await say(bot, LI, f"/notices rsvp {lecture}", "已报名")
    assert "已报名 2/2：张阿姨、老刘" in (listing.plain_text or "")
    assert "候补 1：路人" in (listing.plain_text or "")

    start = len(bot.api.sent)
    await press(bot, AUNT, post, cancel, "已取消报名")
    promoted = await bot.said(STRANGER, contains("候补转为正式"), start=start)
    await post_says(bot, post, "已报名 2/2")  # the waitlisted neighbour took the place
    assert promoted.button_texts == ["取消报名"]
    assert "您没有报名" in await press(bot, AUNT, post, cancel, "没有报名")
    async with bot.desk.db.reading() as tx:
        going = await repo.rsvps(tx, lecture, at(2026, 12, 25, 15, 0), "going")
    assert [r.user_id for r in going] == [UNCLE, STRANGER]

    # Raising the capacity takes the next person off the waitlist.
    await press(bot, AUNT, post, go, "候补第 1 位")
    start = len(bot.api.sent)
    await say(bot, LI, f"/notices edit {lecture} capacity 3", "1 位候补")
    await bot.said(AUNT, contains("候补转为正式"), start=start)


async def test_reminders_one_day_and_one_hour_before_each_sent_once(bot: Bot) -> None:
    await onboard(bot, AUNT, UNCLE)
    lecture = await notice_id(bot, "health-lecture")
    post = await post_lecture(bot)
    await press(bot, AUNT, post, post.callback_data[0], "报名成功")

    await move_to(bot, at(2026, 12, 24, 15, 0))
    day_before = await bot.said(AUNT, contains("1天后开始"))
    assert "冬季心脑血管疾病预防" in (day_before.plain_text or "")
    assert day_before.button_texts == ["取消报名"]
    await move_to(bot, at(2026, 12, 24, 15, 20))  # again: no second reminder
    assert await queued(bot, f"notice:{lecture}:20261225T0700Z:remind1440:") == 1

    # Uncle signs up after the day-before reminder was due: he gets only the hour-before one.
    await press(bot, UNCLE, post, post.callback_data[0], "报名成功")
    await move_to(bot, at(2026, 12, 25, 14, 0))
    await bot.said(AUNT, contains("1小时后开始"))
    await bot.said(UNCLE, contains("1小时后开始"))
    assert not texts(bot, UNCLE, "1天后开始")
    assert await queued(bot, f"notice:{lecture}:20261225T0700Z:remind") == 3

    # After the start: sign-up is closed.
    bot.clock.set(at(2026, 12, 25, 15, 0))
    assert "截止" in await press(bot, UNCLE, post, post.callback_data[1], "截止")


async def test_quiet_hours_hold_dms_until_morning(bot: Bot) -> None:
    await onboard(bot, AUNT)
    await say(bot, AUNT, "/subscribe 社区通知", "已订阅")
    water = await notice_id(bot, "water-cut")
    await move_to(bot, at(2026, 12, 7, 22, 30))
    await bot.said(GROUP, contains("明日停水通知"))  # groups are not held
    await move_to(bot, at(2026, 12, 8, 6, 59))
    assert not texts(bot, AUNT, "明日停水通知")
    assert await queued(bot, f"notice:{water}:") == 1  # only the group's
    async with bot.desk.db.reading() as tx:
        assert await repo.held_count(tx) == 1

    await move_to(bot, at(2026, 12, 8, 7, 0))
    dm = await bot.said(AUNT, contains("明日停水通知"))
    assert "您订阅了“社区通知”" in (dm.plain_text or "")
    await move_to(bot, at(2026, 12, 8, 7, 5))
    assert len(texts(bot, AUNT, "明日停水通知")) == 1


def test_quiet_hours_window() -> None:
    options = notices.NoticeSettings()
    zone = SHANGHAI
    assert notices.deliver_after(options, zone, at(2026, 12, 7, 21, 59)) == at(2026, 12, 7, 21, 59)
    assert notices.deliver_after(options, zone, at(2026, 12, 7, 22, 0)) == at(2026, 12, 8, 7, 0)
    assert notices.deliver_after(options, zone, at(2026, 12, 8, 3, 0)) == at(2026, 12, 8, 7, 0)
    assert notices.deliver_after(options, zone, at(2026, 12, 8, 7, 0)) == at(2026, 12, 8, 7, 0)
    daytime = notices.NoticeSettings(quiet_start=dt.time(12, 0), quiet_end=dt.time(14, 0))
    assert notices.deliver_after(daytime, zone, at(2026, 12, 8, 13, 0)) == at(2026, 12, 8, 14, 0)


# --- residents' commands -----------------------------------------------------------------


async def test_events_subscribe_and_unsubscribe(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, AUNT)
    events = await say(bot, AUNT, "/events", "近期活动")
    text = events.plain_text or ""
    assert text.index("流感疫苗免费接种") < text.index("健康大讲堂")  # in date order
    assert "12月12日（周六）09:00" in text and "已报名 0/30" in text
    first = events.callback_data[0]
    await press(bot, AUNT, events, first, "报名成功")
    again = await say(bot, AUNT, "/events", "近期活动")
    assert "您已报名" in (again.plain_text or "")
    assert again.button_texts[0].startswith("取消报名")

    start = len(api.sent)
    api.user_sends(AUNT, GROUP, "/events")
    in_group = await bot.said(GROUP, contains("近期活动"), start=start)
    assert in_group.button_texts == [] and "您已报名" not in (in_group.plain_text or "")
    api.user_sends(AUNT, GROUP, "/subscribe 疫苗")
    await bot.said(GROUP, contains("私聊"), start=start)

    usage = await say(bot, AUNT, "/subscribe", "可选主题")
    assert "疫苗（vaccine）" in (usage.plain_text or "")
    await say(bot, AUNT, "/subscribe 疫苗", "已订阅“疫苗”")
    start = len(api.sent)
    await move_to(bot, at(2026, 12, 10, 9, 0))  # flu session of the 12th is announced
    dm = await bot.said(AUNT, contains("流感疫苗免费接种"), start=start)
    assert "身份证、医保卡" in (dm.plain_text or "") and dm.button_texts == ["报名", "取消报名"]

    await say(bot, AUNT, "/unsubscribe", "已退订全部")
    start = len(api.sent)
    await move_to(bot, at(2026, 12, 17, 9, 0))
    await bot.said(GROUP, contains("12月19日（周六）09:00"), start=start)
    assert not [m for m in api.sent_to(AUNT)[start:] if "流感" in (m.plain_text or "")]


# --- staff ----------------------------------------------------------------------------------


async def test_staff_creates_a_notice_in_chat_across_a_restart(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, LI, STRANGER)
    await say(bot, STRANGER, "/notice", "仅限社区工作人员")
    await say(bot, LI, "/notice", "新建通知")
    await say(bot, LI, "消防演练\n本周六上午在中心广场进行消防演练，警报响起请勿惊慌。", "什么时候")
    await bot.restart()  # the half-written notice is in the database
    await say(bot, LI, "明天下午", "没看懂")
    repeat = await say(bot, LI, "12-12 10:00", "重复方式")
    assert repeat.button_texts[:3] == [
        "仅一次 2026-12-12 10:00",
        "每周六 10:00",
        "每月第2个周六 10:00",
    ]

    async def choose(data: str, fragment: str) -> None:
        api.user_presses(LI, repeat.message_id, LI, data)
        await api.wait_for(lambda: fragment in (api.messages_in(LI)[-1].text or ""), what=fragment)

    await choose("n1:rep:once", "群里什么时候发")
    await choose("n1:lead:1440", "需要报名吗")
    preview = await say(bot, LI, "20", "预览")
    assert "消防演练" in (preview.plain_text or "") and "名额 20" in (preview.plain_text or "")
    api.user_presses(LI, preview.message_id, LI, "n1:ok")
    await api.wait_for(lambda: "已创建通知" in (api.messages_in(LI)[-1].text or ""))
    async with bot.desk.db.reading() as tx:
        created = [n for n in await repo.notices(tx) if n.spec.title == "消防演练"]
    assert len(created) == 1 and created[0].spec.capacity == 20
    assert bot.app is not None and bot.app.job_queue is not None
    assert bot.app.job_queue.get_jobs_by_name(f"notice:{created[0].id}")

    await move_to(bot, at(2026, 12, 11, 10, 0))  # one day ahead, as chosen
    post = await bot.said(GROUP, contains("消防演练"))
    assert "12月12日（周六）10:00" in (post.plain_text or "")
    assert post.button_texts == ["报名", "取消报名"]


async def test_pause_resume_and_cancel_with_sign_ups(bot: Bot) -> None:
    await onboard(bot, LI, AUNT)
    weekly = await notice_id(bot, "bp-check-weekly")
    listing = await say(bot, LI, "/notices", "定时通知")
    assert "每周二 07:30" in (listing.plain_text or "")
    assert "每月最后一个周五 15:00" in (listing.plain_text or "")
    await say(bot, AUNT, "/notices", "仅限社区工作人员")

    await say(bot, LI, f"/notices pause {weekly}", "已暂停")
    await move_to(bot, at(2026, 12, 8, 7, 30))
    assert await queued(bot, f"notice:{weekly}:") == 0
    await say(bot, LI, f"/notices pause {weekly}", "没有生效")
    await say(bot, LI, f"/notices resume {weekly}", "已恢复")
    await move_to(bot, at(2026, 12, 15, 7, 30))
    assert await queued(bot, f"notice:{weekly}:") == 1

    flu = await notice_id(bot, "flu-vaccine-2026")
    await move_to(bot, at(2026, 12, 17, 9, 0))  # the session of the 19th is announced
    post = await bot.said(GROUP, contains("12月19日（周六）09:00"))
    await press(bot, AUNT, post, post.callback_data[0], "报名成功")
    start = len(bot.api.sent)
    await say(bot, LI, f"/notices cancel {flu}", "已取消")
    await bot.said(AUNT, contains("已取消"), start=start)
    await press(bot, AUNT, post, post.callback_data[0], "截止")  # sign-up closed with it
    await move_to(bot, at(2026, 12, 24, 9, 0))
    assert not texts(bot, GROUP, "12月26日（周六）09:00")


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"repeat": "monthly", "weekday": "fri", "week": 6}, "notices.schedule[0].nth"),
        ({"repeat": "fortnightly"}, "notices.schedule[0].repeat"),
        ({"time": "25:99"}, "notices.schedule[0].time"),
        ({"announce_before": "soon"}, "notices.schedule[0].announce_before"),
        ({"topic": "gossip"}, "notices.schedule[0].topic"),
        ({"capacity": -1}, "notices.schedule[0].capacity"),
        ({"colour": "red"}, "notices.schedule[0].colour"),
        ({"topics": {"2027-13": "x"}}, "notices.schedule[0].topics.2027-13"),
    ],
)
def test_bad_notice_config_names_the_key(change: dict[str, Any], key: str) -> None:
    entry = {"id": "x", "title": "t", "repeat": "weekly", "weekdays": ["tue"], "time": "08:00"}
    with pytest.raises(ConfigError) as error:
        notices.parse_settings({"notices": {"schedule": [entry | change]}}, ())
    assert error.value.key == key


def test_config_defaults_and_durations() -> None:
    parsed = notices.parse_settings(
        {"notices": {"quiet_hours": [], "reminders": ["2d", "30m"], "grace_minutes": 15}}, ()
    )
    assert parsed.quiet_start is None and not notices.in_quiet_hours(parsed, at(2026, 1, 1, 23))
    assert parsed.reminders == (dt.timedelta(days=2), dt.timedelta(minutes=30))
    assert parsed.grace == dt.timedelta(minutes=15)
    assert notices.parse_duration("1d12h", "k") == dt.timedelta(hours=36)
    with pytest.raises(ConfigError):
        notices.parse_settings({"notices": {"schedule": [{"id": "a", "title": "t"}] * 2}}, ())


async def test_config_sync_keeps_chat_edits_until_the_file_changes(bot: Bot) -> None:
    await onboard(bot, LI)
    lecture = await notice_id(bot, "health-lecture")
    await say(bot, LI, f"/notices edit {lecture} place 社区党群服务中心一楼", "已修改")
    await bot.restart()  # same file: the chat edit stays
    async with bot.desk.db.reading() as tx:
        notice = await repo.get_notice(tx, lecture)
    assert notice is not None and notice.spec.place == "社区党群服务中心一楼"

    raw: dict[str, Any] = copy.deepcopy(dict(bot.config.raw))
    raw["lecture_series"][0]["capacity"] = 60  # the file changes: it wins
    raw["notices"]["schedule"] = [e for e in raw["notices"]["schedule"] if e["id"] != "water-cut"]
    bot.config = parse_community(raw)
    await bot.restart()
    water_id = await notice_id(bot, "water-cut")
    async with bot.desk.db.reading() as tx:
        notice = await repo.get_notice(tx, lecture)
        water = await repo.get_notice(tx, water_id)
    assert notice is not None and notice.spec.capacity == 60
    assert notice.spec.place == "社区服务中心三楼多功能厅"
    assert water is not None and water.state == "retired"
