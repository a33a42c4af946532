"""Everything else a resident or staff member can send: commands, media, odd input."""

from __future__ import annotations

from bot.emulator import FakeBotApi
from storage import tickets
from tests.conftest import (
    AUNT,
    GROUP,
    LI,
    STAFF_GROUP,
    STRANGER,
    UNCLE,
    WANG,
    ZHAO,
    Bot,
    contains,
    onboard,
)


async def test_voice_then_category_pick_and_location_reach_staff(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, UNCLE, WANG)
    start = len(api.sent)
    api.user_sends(UNCLE, None, voice=True)  # elderly residents often speak
    prompt = await bot.said(UNCLE, contains("请选择问题类别"), start=start)
    assert "维修报修" in prompt.button_texts and len(prompt.button_texts) == 13
    api.user_sends(UNCLE, None, location=(39.9, 116.4))
    await bot.said(UNCLE, contains("附在"), start=start)
    api.user_presses(UNCLE, prompt.message_id, UNCLE, "d1:cat:1:repair")
    await bot.said(UNCLE, contains("已登记为"), start=start)
    card = await bot.said(WANG, contains("#1"), start=start)
    assert "2个附件" in (card.plain_text or "")
    await api.wait_for(lambda: {m.media for m in api.sent_to(WANG)} >= {"voice", "location"})


async def test_my_and_cancel_commands(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, UNCLE)
    api.user_sends(UNCLE, None, "/my")
    await bot.said(UNCLE, contains("还没有提交过"))
    api.user_sends(UNCLE, GROUP, "#报修 5号楼楼道灯坏了")
    await bot.said(GROUP, contains("#1"))
    start = len(api.sent)
    api.user_sends(UNCLE, None, "/my")
    mine = await bot.said(UNCLE, contains("#1"), start=start)
    assert "已分派" in (mine.plain_text or "") or "待分派" in (mine.plain_text or "")
    api.user_sends(UNCLE, None, "/cancel")
    await bot.said(UNCLE, contains("用法"), start=start)
    api.user_sends(AUNT, None, "/cancel 1")
    await bot.said(AUNT, contains("只有提交"), start=start)
    api.user_sends(UNCLE, None, "/cancel 99")
    await bot.said(UNCLE, contains("没有找到"), start=start)
    api.user_sends(UNCLE, None, "/cancel #1")
    await bot.said(UNCLE, contains("#1 已撤销"), start=start)
    api.user_sends(UNCLE, None, "/cancel 1")
    await bot.said(UNCLE, contains("已撤销”状态"), start=start)


def menu(api: FakeBotApi, scope: str) -> list[str]:
    """The command names the bot set for a scope, all languages."""
    return [str(command["command"]) for command in api.commands.get((scope, ""), [])]


async def test_invite_links_a_new_account_and_duty_swaps(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, LI)
    start = len(api.sent)
    api.user_sends(AUNT, None, "/invite wang")
    await bot.said(AUNT, contains("只有管理员"), start=start)
    api.user_sends(LI, None, "/invite nobody")
    await bot.said(LI, contains("没有工作人员“nobody”"), start=start)
    api.user_sends(LI, None, "/invite zhao")
    invite = await bot.said(LI, contains("t.me/community_desk_bot?start=staff-"), start=start)
    token = (invite.plain_text or "").split("start=")[1].split()[0]
    api.add_user(5555, "赵师傅新号")
    assert "open" not in menu(api, "chat:5555")
    api.user_starts(5555, token)
    await bot.said(5555, contains("欢迎，赵师傅"), start=start)
    # The staff commands appear in his chat's menu (and only there: residents never see them).
    await api.wait_for(lambda: "open" in menu(api, "chat:5555"))
    assert "open" not in menu(api, "all_private_chats")
    assert "open" in menu(api, f"chat:{STAFF_GROUP}")
    api.user_starts(STRANGER, token)  # used once only
    await bot.said(STRANGER, contains("无效"), start=start)

    api.user_sends(5555, None, "/duty off")
    duty = await bot.said(5555, contains("您今天不值班"), start=start)
    assert "赵师傅" not in (duty.plain_text or "").split("物业：")[1].split("\n")[0]
    api.user_sends(AUNT, GROUP, "#报修 8号楼楼道灯坏了")  # zhao's building, but he is off
    await bot.said(STAFF_GROUP, contains("王师傅"), start=start)
    api.user_sends(5555, None, "/duty on")
    await bot.said(5555, contains("您今天值班"), start=start)
    api.user_sends(STRANGER, None, "/duty")
    await bot.said(STRANGER, contains("仅限社区工作人员"), start=start)


async def test_assign_and_staff_commands_refused_to_residents(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, LI, WANG, ZHAO)
    api.user_sends(AUNT, GROUP, "#报修 2号楼水管漏水")
    await bot.said(WANG, contains("#1"))
    start = len(api.sent)
    for command in ("/open", "/ticket 1", "/assign 1 zhao"):
        api.user_sends(AUNT, None, command)
    await api.wait_for(lambda: len(api.sent_to(AUNT)) >= 3)
    refused_open, own_ticket, refused_assign = (m.plain_text or "" for m in api.sent_to(AUNT))
    assert "仅限社区工作人员" in refused_open and "仅限社区工作人员" in refused_assign
    assert "#1" in own_ticket and "处理记录" not in own_ticket  # the reporter's own view
    api.user_sends(LI, None, "/assign 1 赵师傅")
    await bot.said(LI, contains("已指派给赵师傅"), start=start)
    await bot.said(ZHAO, contains("#1"), start=start)
    api.user_sends(WANG, None, "/open")
    listing = await bot.said(WANG, contains("待办工单"), start=start)
    assert "#1" in (listing.plain_text or "") and "赵师傅" in (listing.plain_text or "")
    api.user_sends(LI, None, "/ticket 1")
    details = await bot.said(LI, contains("处理记录"), start=start)
    assert "张阿姨" in (details.plain_text or "")


async def test_odd_input_gets_sensible_answers(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, UNCLE)
    start = len(api.sent)
    api.inject_update(
        {
            "message": {
                "message_id": 777,
                "date": 1_780_000_000,
                "chat": {"id": UNCLE, "type": "private", "first_name": "老刘"},
                "from": {"id": UNCLE, "is_bot": False, "first_name": "老刘"},
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "s1u",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    await bot.said(UNCLE, contains("看不懂"), start=start)
    api.user_sends(UNCLE, None, "你好")
    await bot.said(UNCLE, contains("直接说明情况"), start=start)
    api.user_sends(UNCLE, GROUP, "/report")
    await bot.said(GROUP, contains("请在命令后面写明"), start=start)
    api.user_sends(UNCLE, None, "4号楼楼道灯坏了" + "啊" * 9990)
    prompt = await bot.said(UNCLE, contains("确认提交"), start=start)
    api.user_presses(UNCLE, prompt.message_id, UNCLE, prompt.callback_data[0])
    await bot.said(UNCLE, contains("已登记为"), start=start)
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, 1)
    assert ticket is not None and len(ticket.text) == 2000


async def test_plain_group_chatter_is_left_alone_requests_are_taken(bot: Bot) -> None:
    api = bot.api
    start = len(api.sent)
    for chatter in ("大家早上好", "谢谢物业修好了灯", "今天天气真好🌞", "哈哈哈"):
        api.user_sends(AUNT, GROUP, chatter)
    api.user_sends(UNCLE, GROUP, "7号楼2单元的电梯又坏了，困了半天")
    ack = await bot.said(GROUP, contains("已登记为"), start=start)
    assert ack.reply_to_message_id == api.messages_in(GROUP)[-2].message_id or ack.chat_id == GROUP
    await api.wait_until_idle()
    await bot.settle()
    assert len(api.sent_to(GROUP)) == 1  # nothing said to the chatter


async def test_mention_and_english_speaker(bot: Bot) -> None:
    api = bot.api
    api.add_user(4242, "Emily", language_code="en")
    await onboard(bot, 4242)
    start = len(api.sent)
    api.user_sends(4242, None, "The stairwell light in building 3 unit 2 is broken")
    prompt = await bot.said(4242, contains("Submit"), start=start)
    api.user_presses(4242, prompt.message_id, 4242, prompt.callback_data[0])
    await bot.said(4242, contains("filed as"), start=start)
    api.user_sends(AUNT, GROUP, "@community_desk_bot 9号楼门口垃圾好几天没人收了")
    await bot.said(GROUP, contains("#2"), start=start)
