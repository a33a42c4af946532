"""The core story end to end, through the fake Bot API: request → ticket → on-duty staff →
accepted → resolved → rated, in a group and in a private chat."""

from __future__ import annotations

from bot.models import TicketState
from storage import tickets
from tests.conftest import (
    AUNT,
    CHEN,
    GROUP,
    LI,
    STAFF_GROUP,
    STRANGER,
    UNCLE,
    WANG,
    ZHAO,
    Bot,
    answer_with,
    contains,
    onboard,
)


async def ticket_state(bot: Bot, ticket_id: int) -> TicketState:
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, ticket_id)
    assert ticket is not None
    return ticket.state


async def test_group_request_full_story(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG)
    request = api.user_sends(AUNT, GROUP, "#报修 3号楼2单元501 楼道灯不亮了，晚上黑漆漆的")

    ack = await bot.said(GROUP, contains("#1"))
    assert ack.reply_to_message_id == request["message_id"]
    assert "维修" in (ack.plain_text or "") and "3号楼" in (ack.plain_text or "")
    assert "501" not in (ack.text or "") and "张阿姨" not in (ack.text or "")
    assert ack.button_texts == ["不是报修/撤销"]

    card = await bot.said(WANG, contains("#1"))
    assert "3号楼2单元501室" in (card.plain_text or "")
    assert "张阿姨" in (card.plain_text or "")
    assert card.button_texts == ["✅ 接单", "↪️ 转派", "📄 详情"]

    start = len(api.sent)
    api.user_presses(WANG, card.message_id, WANG, card.callback_data[0])
    accepted = await bot.said(GROUP, contains("已由"), start=start)
    assert "王师傅" in (accepted.plain_text or "")
    assert "501" not in (accepted.text or "")
    await api.wait_for(lambda: any("处理完" in (a.text or "") for a in api.callback_answers))
    await api.wait_for(
        lambda: (
            [
                b["text"]
                for b in (api.messages_in(WANG)[-1].reply_markup or {}).get(
                    "inline_keyboard", [[]]
                )[0]
            ]
            == ["🏁 办结", "🚫 无法办理"]
        )
    )

    api.user_presses(WANG, card.message_id, WANG, "t1:res:1")
    prompt = await bot.said(WANG, contains("处理结果"), start=start)
    assert prompt.reply_markup == {"force_reply": True, "selective": True}
    start = len(api.sent)
    api.user_sends(WANG, WANG, "已更换灯泡，现在亮了", reply_to_message_id=prompt.message_id)
    resolved = await bot.said(GROUP, contains("已办结"), start=start)
    assert "已更换灯泡" not in (resolved.text or "")  # the note goes by DM only
    assert resolved.button_texts == ["★1", "★2", "★3", "★4", "★5"]
    assert await ticket_state(bot, 1) is TicketState.RESOLVED

    api.user_presses(STRANGER, resolved.message_id, GROUP, "t1:rate:1:1")
    await api.wait_for(lambda: any(a.show_alert for a in api.callback_answers))
    assert "只有提交" in (api.callback_answers[-1].text or "")
    assert await ticket_state(bot, 1) is TicketState.RESOLVED

    api.user_presses(AUNT, resolved.message_id, GROUP, "t1:rate:1:5")
    await answer_with(api, "5 星")
    assert await ticket_state(bot, 1) is TicketState.CLOSED


async def test_private_request_with_confirmation_photo_and_low_rating(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, UNCLE, WANG, ZHAO, LI)
    start = len(api.sent)
    api.user_sends(UNCLE, None, "暖气一点都不热，7号楼1单元302，家里老人冻得不行")
    prompt = await bot.said(UNCLE, contains("确认提交"), start=start)
    assert "7号楼1单元302室" in (prompt.plain_text or "")
    assert prompt.button_texts[0] == "✅ 确认提交"

    api.user_sends(UNCLE, None, photo=True)  # a photo while the prompt is open joins the draft
    await bot.said(UNCLE, contains("附在"), start=start)
    api.user_presses(UNCLE, prompt.message_id, UNCLE, prompt.callback_data[0])
    ack = await bot.said(UNCLE, contains("已登记为"), start=start)
    assert "7号楼1单元302室" in (ack.plain_text or "")  # private chat: full address is fine

    card = await bot.said(ZHAO, contains("#1"), start=start)  # zhao covers buildings 6–10
    assert "水电暖气" in (card.plain_text or "")
    photo = await bot.said(ZHAO, lambda m: m.media == "photo", start=start)
    assert photo.chat_id == ZHAO

    api.user_presses(ZHAO, card.message_id, ZHAO, "t1:acc:1")
    await bot.said(UNCLE, contains("赵师傅"), start=start)
    api.user_presses(ZHAO, card.message_id, ZHAO, "t1:res:1")
    await bot.said(ZHAO, contains("处理结果"), start=start)
    api.user_sends(ZHAO, None, "阀门已打开，暖气恢复")
    done = await bot.said(UNCLE, contains("已办结"), start=start)
    assert "阀门已打开" in (done.plain_text or "")

    api.user_presses(UNCLE, done.message_id, UNCLE, "t1:rate:1:1")
    alert = await bot.said(LI, contains("1 星"), start=start)
    assert "重新打开" in (alert.plain_text or "")
    assert await ticket_state(bot, 1) is TicketState.ASSIGNED  # reopened and routed again
    api.user_sends(UNCLE, None, "师傅态度不好，暖气晚上又不热了")
    await bot.said(LI, contains("态度不好"), start=start)
    await bot.said(UNCLE, contains("意见已记录"), start=start)

    # Changing the rating within 24 h replaces it; it does not count twice.
    api.user_presses(UNCLE, done.message_id, UNCLE, "t1:rate:1:3")
    await answer_with(api, "3 星")
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, 1)
        events = [e.kind for e in await tickets.events_for(tx, 1)]
    assert ticket is not None and ticket.rating == 3
    assert events.count("rated") == 2 and events.count("reopened") == 1


async def test_staff_not_onboarded_get_card_in_staff_group_and_stale_press(bot: Bot) -> None:
    api = bot.api
    api.user_sends(AUNT, GROUP, "#报修 2号楼的单元门坏了关不上")
    card = await bot.said(STAFF_GROUP, contains("#1"))
    assert "王师傅" in (card.plain_text or "")  # named, since he can't get a DM yet

    api.user_presses(ZHAO, card.message_id, STAFF_GROUP, "t1:acc:1")
    await answer_with(api, "已接单")
    api.user_presses(WANG, card.message_id, STAFF_GROUP, "t1:acc:1")
    await answer_with(api, "赵师傅")
    assert api.callback_answers[-1].show_alert
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, 1)
    assert ticket is not None and ticket.assignee_key == "zhao"

    # A resident pressing a staff button is refused.
    api.user_presses(AUNT, card.message_id, STAFF_GROUP, "t1:res:1")
    await answer_with(api, "仅限社区工作人员")


async def test_decline_chain_ends_with_supervisor(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG, ZHAO, LI)
    start = len(api.sent)
    api.user_sends(AUNT, GROUP, "#报修 3号楼电梯按钮不灵")
    first = await bot.said(WANG, contains("#1"), start=start)
    api.user_presses(WANG, first.message_id, WANG, "t1:dec:1")
    second = await bot.said(ZHAO, contains("#1"), start=start)
    assert "同事转派" in (second.plain_text or "")
    api.user_presses(ZHAO, second.message_id, ZHAO, "t1:dec:1")
    third = await bot.said(LI, contains("#1"), start=start)
    assert "转主管" in (third.plain_text or "")
    # wang's old card is stale now
    api.user_presses(WANG, first.message_id, WANG, "t1:dec:1")
    await api.wait_for(lambda: api.callback_answers[-1].show_alert)


async def test_forged_and_unknown_buttons(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG)
    api.user_sends(AUNT, GROUP, "#报修 1号楼水管漏水")
    card = await bot.said(WANG, contains("#1"))
    for data, expected in [
        ("t1:acc:999", "没有找到这张工单"),
        ("garbage", "按钮已失效"),
        ("t1:rate:1:9", "按钮已失效"),
        ("d1:ok:424242", "已失效"),
    ]:
        answered = len(api.callback_answers)
        api.user_presses(WANG, card.message_id, WANG, data)
        await api.wait_for(lambda: len(api.callback_answers) > answered)  # noqa: B023
        assert expected in (api.callback_answers[-1].text or "")
    assert await ticket_state(bot, 1) is TicketState.ASSIGNED


async def test_reporter_cancels_from_group_button_and_only_reporter_may(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, CHEN)
    api.user_sends(AUNT, GROUP, "#求助 楼下有人私拉电线给电动车充电，太危险了")
    ack = await bot.said(GROUP, contains("#1"))
    api.user_presses(UNCLE, ack.message_id, GROUP, "t1:can:1")
    await answer_with(api, "只有提交")
    start = len(api.sent)
    api.user_presses(AUNT, ack.message_id, GROUP, "t1:can:1")
    await bot.said(CHEN, contains("已撤销"), start=start)
    assert await ticket_state(bot, 1) is TicketState.CANCELLED


async def test_restart_keeps_open_tickets_and_buttons_working(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG)
    api.user_sends(AUNT, GROUP, "#报修 4号楼顶楼漏雨了")
    card = await bot.said(WANG, contains("#1"))
    await bot.restart()
    start = len(api.sent)
    api.user_presses(WANG, card.message_id, WANG, card.callback_data[0])
    await bot.said(GROUP, contains("已由"), start=start)
    assert await ticket_state(bot, 1) is TicketState.ACCEPTED
    # the resolve-note request also survives a restart
    api.user_presses(WANG, card.message_id, WANG, "t1:res:1")
    await bot.said(WANG, contains("处理结果"), start=start)
    await bot.restart()
    api.user_sends(WANG, None, "已修好")
    await bot.said(GROUP, contains("已办结"), start=start)
