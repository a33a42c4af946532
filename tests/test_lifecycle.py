"""The state machine: allowed transitions, and services refusing the rest."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import intake, lifecycle
from bot.intake import Incoming, Trigger
from bot.models import Actor, TicketState
from tests.conftest import AUNT, GROUP, UNCLE, WANG, ZHAO, Bot

S = TicketState


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (S.NEW, S.ASSIGNED, True),
        (S.ASSIGNED, S.ACCEPTED, True),
        (S.ACCEPTED, S.RESOLVED, True),
        (S.RESOLVED, S.CLOSED, True),
        (S.RESOLVED, S.REOPENED, True),
        (S.CLOSED, S.REOPENED, True),
        (S.REOPENED, S.ASSIGNED, True),
        (S.NEW, S.RESOLVED, False),
        (S.ASSIGNED, S.RESOLVED, False),
        (S.RESOLVED, S.ACCEPTED, False),
        (S.CLOSED, S.ACCEPTED, False),
        (S.CANCELLED, S.ASSIGNED, False),
        (S.CANCELLED, S.REOPENED, False),
        (S.RESOLVED, S.CANCELLED, False),
    ],
)
def test_transition_table(current: TicketState, target: TicketState, allowed: bool) -> None:
    assert lifecycle.can_move(current, target) is allowed


def actor(user_id: int, name: str) -> Actor:
    return Actor(user_id=user_id, display_name=name)


async def file_one(bot: Bot, text: str = "#报修 3号楼楼道灯不亮了") -> int:
    outcome = await intake.submit(
        bot.desk,
        Incoming(
            update_id=10_000 + int(bot.clock.now().timestamp()) % 10_000,
            user_id=AUNT,
            display_name="张阿姨",
            username=None,
            locale="zh",
            chat_id=GROUP,
            is_group=True,
            message_id=1,
            text=text,
            trigger=Trigger.HASHTAG,
        ),
    )
    assert outcome.ticket is not None
    return outcome.ticket.id


async def test_services_refuse_invalid_transitions(bot: Bot) -> None:
    desk = bot.desk
    ticket_id = await file_one(bot)
    wang, zhao, aunt = actor(WANG, "王师傅"), actor(ZHAO, "赵师傅"), actor(AUNT, "张阿姨")

    refused = await lifecycle.resolve(desk, wang, ticket_id, "修好了")  # not accepted yet
    assert not refused.ok and refused.ticket and refused.ticket.state is S.ASSIGNED
    assert not (await lifecycle.rate(desk, aunt, ticket_id, 5)).ok  # nothing to rate
    assert not (await lifecycle.accept(desk, aunt, ticket_id)).ok  # residents cannot accept

    assert (await lifecycle.accept(desk, wang, ticket_id)).ok
    taken = await lifecycle.accept(desk, zhao, ticket_id)
    assert not taken.ok and "王师傅" in taken.answer
    assert not (await lifecycle.decline(desk, wang, ticket_id)).ok  # accepted: no declining
    assert not (await lifecycle.resolve(desk, zhao, ticket_id, "x")).ok  # not his ticket
    assert (await lifecycle.resolve(desk, wang, ticket_id, "换了灯泡")).ok
    assert not (await lifecycle.cancel(desk, aunt, ticket_id)).ok  # resolved: too late
    assert not (await lifecycle.rate(desk, actor(UNCLE, "老刘"), ticket_id, 1)).ok
    rated = await lifecycle.rate(desk, aunt, ticket_id, 4)
    assert rated.ok and rated.ticket and rated.ticket.state is S.CLOSED

    bot.clock.advance(dt.timedelta(hours=25))  # the rating is final after 24 h
    late = await lifecycle.rate(desk, aunt, ticket_id, 1)
    assert (not late.ok and "不能" in late.answer) or "超过" in late.answer


async def test_unrated_tickets_close_after_seven_days(bot: Bot) -> None:
    desk = bot.desk
    ticket_id = await file_one(bot)
    wang = actor(WANG, "王师傅")
    await lifecycle.accept(desk, wang, ticket_id)
    await lifecycle.resolve(desk, wang, ticket_id, "好了")
    bot.clock.advance(dt.timedelta(days=6, hours=23))
    assert await lifecycle.close_unrated(desk) == 0
    bot.clock.advance(dt.timedelta(hours=2))
    assert await lifecycle.close_unrated(desk) == 1
    assert await lifecycle.close_unrated(desk) == 0
