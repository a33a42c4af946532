"""Nobody waits unanswered: escalation step by step on a fake clock, the urgent path,
restarts between steps, deadlines, resolution kinds, duplicates and staff-opened tickets."""

from __future__ import annotations

import datetime as dt

from bot import escalation, scheduler
from bot.models import Ticket, TicketState
from storage import escalations, tickets
from tests.conftest import (
    AUNT,
    CHEN,
    GROUP,
    LI,
    STAFF_GROUP,
    UNCLE,
    WANG,
    ZHAO,
    Bot,
    answer_with,
    contains,
    onboard,
)


async def tick(bot: Bot, minutes: float) -> None:
    """Move the fake clock and run everything that is due (what the job does)."""
    bot.clock.advance(dt.timedelta(minutes=minutes))
    assert bot.app is not None
    await scheduler.run_due(bot.app)


async def get(bot: Bot, ticket_id: int) -> Ticket:
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, ticket_id)
    assert ticket is not None
    return ticket


async def test_chain_next_team_supervisor_staff_group_with_restart(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, ZHAO, LI)
    api.user_sends(AUNT, GROUP, "#报修 3号楼2单元楼道灯不亮了")
    await bot.said(WANG, contains("#1"))
    await bot.settle()
    start = len(api.sent)

    await tick(bot, 9)
    assert len(api.sent) == start  # not yet: 10 minutes to acknowledge
    await tick(bot, 1)
    await bot.said(ZHAO, contains("超时未接单"), start=start)  # step 1: next on duty
    assert (await get(bot, 1)).assignee_key == "zhao"

    await bot.restart()  # the clock is in the database: nothing lost, nothing repeated
    await tick(bot, 0)
    assert not api.sent_to(LI)[1:]  # only li's /start reply so far

    start = len(api.sent)
    await tick(bot, 10)  # step 2: the whole team
    await bot.said(WANG, contains("超时未接单"), start=start)
    await bot.said(ZHAO, contains("超时未接单"), start=start)
    await tick(bot, 10)  # step 3: supervisor, and the resident is told
    await bot.said(LI, contains("#1"), start=start)
    await bot.said(GROUP, contains("转报社区主管"), start=start)
    await tick(bot, 15)  # step 4: the staff group, twice
    await bot.said(STAFF_GROUP, contains("#1"), start=start)
    await tick(bot, 15)
    await api.wait_for(lambda: len(api.sent_to(STAFF_GROUP)) >= 2)
    async with bot.desk.db.reading() as tx:
        assert await escalations.current(tx, 1) is None  # chain finished
    await bot.settle()
    count = len(api.sent)
    await tick(bot, 60)
    assert len(api.sent) == count


async def test_accepting_stops_the_clock(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, ZHAO)
    api.user_sends(AUNT, GROUP, "#报修 2号楼下水道堵了")
    card = await bot.said(WANG, contains("#1"))
    api.user_presses(WANG, card.message_id, WANG, "t1:acc:1")
    await bot.said(GROUP, contains("已由"))
    await bot.settle()
    start = len(api.sent)
    await tick(bot, 60)
    assert api.sent[start:] == []


async def test_urgent_pings_team_and_supervisor_at_once(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, CHEN, LI, UNCLE)
    start = len(api.sent)
    api.user_sends(UNCLE, GROUP, "#求助 3号楼1单元煤气味特别大，快来人")
    for staff in (CHEN, LI):  # gas is a safety hazard: the grid team, and the supervisor
        await bot.said(staff, contains("紧急"), start=start)
    ticket = await get(bot, 1)
    assert ticket.urgent and ticket.resolve_due_at == ticket.created_at + dt.timedelta(hours=2)
    await tick(bot, 2)  # urgent: 2 minutes, then straight to the staff group
    await bot.said(STAFF_GROUP, contains("#1"), start=start)


async def test_deadline_reminder_overdue_report_and_command(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, LI)
    api.user_sends(AUNT, GROUP, "#报修 1号楼单元门禁坏了")
    card = await bot.said(WANG, contains("#1"))
    api.user_presses(WANG, card.message_id, WANG, "t1:acc:1")
    await bot.said(GROUP, contains("已由"))
    due = (await get(bot, 1)).resolve_due_at
    assert due is not None
    start = len(api.sent)
    bot.clock.set(due - dt.timedelta(hours=3))
    assert await escalation.remind_deadlines(bot.desk) == 1
    assert await escalation.remind_deadlines(bot.desk) == 0
    await bot.said(WANG, contains("到期"), start=start)

    bot.clock.set(due + dt.timedelta(days=1))
    local = bot.desk.local(bot.clock.now())
    bot.clock.set(bot.clock.now().replace(hour=1) if local.hour >= 9 else bot.clock.now())
    assert await escalation.report_overdue(bot.desk)  # 09:00 Shanghai = 01:00 UTC
    assert not await escalation.report_overdue(bot.desk)  # once a day
    report = await bot.said(LI, contains("超期工单"), start=start)
    assert "#1" in (report.plain_text or "")
    api.user_sends(WANG, None, "/overdue")
    await bot.said(WANG, contains("超期工单（1）"), start=start)
    api.user_sends(AUNT, None, "/overdue")
    await bot.said(AUNT, contains("仅限社区工作人员"), start=start)


async def test_unable_and_referred_resolutions(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, ZHAO, AUNT)
    api.user_sends(AUNT, GROUP, "#报修 暖气片不热，8号楼3单元201")
    card = await bot.said(ZHAO, contains("#1"))
    api.user_presses(ZHAO, card.message_id, ZHAO, "t1:acc:1")
    await bot.said(AUNT, contains("已由"))
    start = len(api.sent)
    api.user_presses(ZHAO, card.message_id, ZHAO, "t1:ref:1")
    await bot.said(ZHAO, contains("转交给哪个单位"), start=start)
    api.user_sends(ZHAO, None, "已转热力公司处理，12-10 跟进")
    notice = await bot.said(AUNT, contains("转交"), start=start)
    assert "12-10" in (notice.plain_text or "") and "热力公司" in (notice.plain_text or "")
    ticket = await get(bot, 1)
    assert ticket.resolution_kind == "referred" and ticket.state is TicketState.RESOLVED
    assert ticket.follow_up_at == dt.datetime(2026, 12, 10, 1, 0, tzinfo=dt.UTC)
    bot.clock.set(dt.datetime(2026, 12, 10, 1, 0, tzinfo=dt.UTC))
    assert await escalation.follow_ups(bot.desk) == 1
    await bot.said(ZHAO, contains("跟进"), start=start)
    assert await escalation.follow_ups(bot.desk) == 0

    api.user_sends(AUNT, GROUP, "#报修 6号楼那个事还是老样子")
    pick = await bot.said(GROUP, contains("请帮忙选一下"), start=start)  # parser unsure: ask
    assert "6号楼" in (pick.plain_text or "")
    api.user_presses(UNCLE, pick.message_id, GROUP, "d1:cat:2:repair")
    await answer_with(api, "只有提交")
    api.user_presses(AUNT, pick.message_id, GROUP, "d1:cat:2:repair")
    card2 = await bot.said(ZHAO, contains("#2"), start=start)
    api.user_presses(ZHAO, card2.message_id, ZHAO, "t1:acc:2")
    api.user_presses(ZHAO, card2.message_id, ZHAO, "t1:una:2")
    await bot.said(ZHAO, contains("无法办理的原因"), start=start)
    api.user_sends(ZHAO, None, "楼顶是公共区域，按规定不能私装")
    unable = await bot.said(AUNT, contains("无法办理"), start=start)
    assert "公共区域" in (unable.plain_text or "") and unable.button_texts[0] == "★1"


async def test_duplicate_report_follows_and_is_notified_then_split(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, UNCLE, LI)
    api.user_sends(AUNT, GROUP, "#报修 5号楼电梯坏了，按钮按了没反应")
    card = await bot.said(WANG, contains("#1"))
    start = len(api.sent)
    api.user_sends(UNCLE, GROUP, "#报修 5号楼的电梯又坏了，没反应")
    await bot.said(GROUP, contains("已有邻居反映"), start=start)
    await bot.said(WANG, contains("居民补充"), start=start)
    api.user_presses(WANG, card.message_id, WANG, "t1:acc:1")
    await bot.said(UNCLE, contains("您和邻居反映的"), start=start)  # DM: uncle started the bot
    async with bot.desk.db.reading() as tx:
        assert len(await tickets.open_tickets(tx)) == 1
        assert await escalations.follower_count(tx, 1) == 1

    api.user_sends(WANG, None, "/ticket 1")
    details = await bot.said(WANG, contains("附议邻居"), start=start)
    assert "老刘" in (details.plain_text or "")
    api.user_sends(LI, None, "/split 1 1")
    await bot.said(LI, contains("新工单 #2"), start=start)
    assert (await get(bot, 2)).reporter_id == UNCLE


async def test_merge_moves_reporter_to_main_ticket(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, ZHAO, LI, UNCLE)
    api.user_sends(AUNT, GROUP, "#报修 2号楼楼道灯坏了")
    await bot.said(WANG, contains("#1"))
    api.user_sends(UNCLE, None, "小区南门的路灯不亮了")
    prompt = await bot.said(UNCLE, contains("确认提交"))
    api.user_presses(UNCLE, prompt.message_id, UNCLE, prompt.callback_data[0])
    await bot.said(ZHAO, contains("#2"))  # fewer open tickets than wang
    start = len(api.sent)
    api.user_sends(AUNT, None, "/merge 2 1")
    await bot.said(AUNT, contains("仅限"), start=start)
    api.user_sends(LI, None, "/merge 2 1")
    await bot.said(LI, contains("已并入 #1"), start=start)
    await bot.said(UNCLE, contains("已合并"), start=start)
    assert (await get(bot, 2)).state is TicketState.CANCELLED
    assert (await get(bot, 2)).parent_id == 1


async def test_staff_opened_ticket_flows_back_to_staff(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, CHEN, WANG)
    start = len(api.sent)
    api.user_sends(CHEN, None, "/new 3号楼2单元501 王奶奶 电话13800001234 家里水管漏水了")
    ack = await bot.said(CHEN, contains("已登记为"), start=start)
    assert "3号楼2单元501室" in (ack.plain_text or "")
    card = await bot.said(WANG, contains("#1"), start=start)
    api.user_presses(WANG, card.message_id, WANG, "t1:acc:1")
    await bot.said(CHEN, contains("王师傅"), start=start)
    api.user_presses(WANG, card.message_id, WANG, "t1:res:1")
    await bot.said(WANG, contains("处理结果"), start=start)
    api.user_sends(WANG, None, "已更换水管接头")
    done = await bot.said(CHEN, contains("已办结"), start=start)
    assert "水管接头" in (done.plain_text or "")
    assert (await get(bot, 1)).on_behalf
    api.user_sends(UNCLE, None, "/new 随便写点")
    await bot.said(UNCLE, contains("仅限社区工作人员"), start=start)
