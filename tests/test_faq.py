"""FAQ: matching residents' questions against the community's FAQ, answering in the group
and in private chats, and the "ask a person" fallback that files a health ticket."""

from __future__ import annotations

import pytest

from bot import faq
from bot.cli import demo_config_path
from bot.config import ConfigError, load_community
from bot.models import TicketState
from storage import tickets
from tests.conftest import AUNT, GROUP, LIU, STRANGER, UNCLE, Bot, answer_with, contains, onboard


@pytest.fixture(scope="module")
def matcher() -> faq.Matcher:
    return faq.matcher(load_community(demo_config_path()))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("新冠疫苗在哪打", "新冠疫苗在哪里打？"),
        ("请问新冠加强针在哪里打呀？", "新冠疫苗在哪里打？"),
        ("打完疫苗能洗澡吗", "打完疫苗能洗澡吗？"),
        ("接种疫苗后可以洗澡吗", "打完疫苗能洗澡吗？"),
        ("打疫苗后发烧了怎么办？", "打完疫苗发烧怎么办？"),
        ("家庭医生在哪签", "家庭医生怎么签约？"),
        ("老人体检是哪天", "老年人免费体检什么时候？"),
        ("打流感疫苗需要带什么证件", "打流感疫苗要带什么？"),
    ],
)
def test_good_matches(matcher: faq.Matcher, question: str, expected: str) -> None:
    found = matcher.match(question)
    assert found.good and found.entry is not None
    assert found.entry.question == expected


@pytest.mark.parametrize(
    "text", ["降压药在哪里可以开？", "孩子的疫苗本丢了怎么补办？", "今天天气不错", "楼道灯不亮了"]
)
def test_no_good_match(matcher: faq.Matcher, text: str) -> None:
    assert not matcher.match(text).good


def test_questions_and_bigrams() -> None:
    assert faq.looks_like_question("打完疫苗能洗澡吗")
    assert faq.looks_like_question("新冠疫苗在哪打")
    assert not faq.looks_like_question("3号楼2单元楼道灯不亮了")
    assert faq.grams(faq.clean("请问疫苗？")) == {"疫苗"}
    assert faq.dice(frozenset({"a", "b"}), frozenset({"b", "c"})) == 0.5


def test_bad_faq_config_names_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        faq.parse_faq([{"question": "q"}])
    assert error.value.key == "faq[0].answer"
    with pytest.raises(ConfigError) as error:
        faq.parse_faq([{"question": "q", "answer": "a", "also": "not a list"}])
    assert error.value.key == "faq[0].also"


async def open_tickets(bot: Bot) -> int:
    async with bot.desk.db.reading() as tx:
        return int(await tx.scalar("SELECT COUNT(*) FROM tickets"))


async def test_group_question_is_answered_not_filed(bot: Bot) -> None:
    api = bot.api
    question = api.user_sends(AUNT, GROUP, "新冠疫苗在哪打")
    answer = await bot.said(GROUP, contains("5号楼底商"))
    assert answer.reply_to_message_id == question["message_id"]
    assert "新冠疫苗在哪里打" in (answer.plain_text or "")
    # Explicit requests still become tickets, and plain chatter is left alone.
    start = len(api.sent)
    api.user_sends(UNCLE, GROUP, "#求助 打完疫苗能洗澡吗，家里老人想问问")
    await bot.said(GROUP, contains("#1"), start=start)
    api.user_sends(UNCLE, GROUP, "今天天气不错，大家出来晒太阳")
    api.user_sends(UNCLE, GROUP, "打完疫苗能洗澡吗")  # the next update: the chatter is done
    await bot.said(GROUP, contains("24小时后"), start=start)
    assert await open_tickets(bot) == 1
    assert len(api.sent_to(GROUP)) == 3


async def test_private_question_answered_and_faq_command(bot: Bot) -> None:
    api = bot.api
    start = len(api.sent)
    api.user_sends(AUNT, None, "打完疫苗能洗澡吗")
    answer = await bot.said(AUNT, contains("24小时后可以正常洗澡"), start=start)
    assert answer.button_texts == []
    api.user_sends(AUNT, None, "/faq")
    listing = await bot.said(AUNT, contains("常见问题"), start=start)
    assert "1. 新冠疫苗在哪里打？" in (listing.plain_text or "")
    api.user_sends(AUNT, None, "/faq 老人体检是哪天")
    await bot.said(AUNT, contains("空腹"), start=start)
    assert await open_tickets(bot) == 0


async def test_no_good_match_offers_a_person_who_gets_a_health_ticket(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, LIU, UNCLE)
    start = len(api.sent)
    question = api.user_sends(UNCLE, GROUP, "降压药在哪里可以开？")
    miss = await bot.said(GROUP, contains("答不上来"), start=start)
    assert miss.reply_to_message_id == question["message_id"]
    assert miss.button_texts == ["🙋 问工作人员"]
    assert await open_tickets(bot) == 0

    api.user_presses(STRANGER, miss.message_id, GROUP, miss.callback_data[0])
    await answer_with(api, "只有提交")
    api.user_presses(UNCLE, miss.message_id, GROUP, miss.callback_data[0])
    await answer_with(api, "已提交")
    card = await bot.said(LIU, contains("#1"), start=start)  # the health station's doctor
    assert "降压药" in (card.plain_text or "")
    api.user_presses(UNCLE, miss.message_id, GROUP, miss.callback_data[0])  # again: once
    await answer_with(api, "已经处理过")
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, 1)
    assert ticket is not None and ticket.category == "health"
    assert ticket.state is TicketState.ASSIGNED and ticket.assignee_key == "liu"
    assert await open_tickets(bot) == 1


async def test_private_miss_does_not_swallow_the_next_message(bot: Bot) -> None:
    api = bot.api
    start = len(api.sent)
    api.user_sends(AUNT, None, "孩子的疫苗本丢了怎么补办？")
    miss = await bot.said(AUNT, contains("答不上来"), start=start)
    # A repair request right after is its own draft, not merged into the parked question.
    api.user_sends(AUNT, None, "3号楼2单元楼道灯不亮了")
    prompt = await bot.said(AUNT, contains("确认提交"), start=start)
    assert "疫苗本" not in (prompt.plain_text or "")
    api.user_presses(AUNT, miss.message_id, AUNT, miss.callback_data[0])
    await answer_with(api, "已提交")
    async with bot.desk.db.reading() as tx:
        ticket = await tickets.get_ticket(tx, 1)
    assert ticket is not None and ticket.category == "health" and "疫苗本" in ticket.text
