"""Nothing lost, nothing doubled: Telegram's faults injected by the fake Bot API."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.emulator import FaultKind
from storage import people, tickets
from tests.conftest import AUNT, GROUP, STAFF_GROUP, UNCLE, WANG, Bot, contains, onboard

RESIDENTS = range(2001, 2013)


async def deliver_everything(bot: Bot, expected: int, chat_id: int) -> None:
    """Advance the fake clock (retry_after, backoff) until `expected` messages reached chat."""
    api, app = bot.api, bot.app
    assert app is not None and app.bot_data.sender is not None
    for _ in range(200):
        if len(api.sent_to(chat_id)) >= expected:
            return
        before = len(api.calls)
        bot.clock.advance(dt.timedelta(seconds=30))
        app.bot_data.sender.wake()
        try:
            await api.wait_for(lambda: len(api.calls) > before, timeout=2)  # noqa: B023
        except AssertionError:
            continue
    raise AssertionError(f"only {len(api.sent_to(chat_id))} of {expected} delivered")


@pytest.mark.parametrize("kind", ["retry_after", "server_error", "drop", "timeout"])
async def test_storms_deliver_everything_in_order_once(bot: Bot, kind: FaultKind) -> None:
    api = bot.api
    for user_id in RESIDENTS:
        api.add_user(user_id, f"居民{user_id}")
    api.set_fault_rate("sendMessage", kind, 0.4 if kind != "timeout" else 0.2, seed=7)
    for index, user_id in enumerate(RESIDENTS, start=1):
        api.user_sends(user_id, GROUP, f"#报修 {index}号楼楼道灯不亮了")
    await api.wait_until_idle()
    await deliver_everything(bot, len(RESIDENTS), GROUP)
    acks = [m for m in api.sent_to(GROUP) if "已登记为" in (m.plain_text or "")]
    numbers = [int((m.plain_text or "").split("#")[1].split("（")[0]) for m in acks]
    assert numbers == sorted(numbers) == list(range(1, len(RESIDENTS) + 1))  # once, in order
    assert any(e.method == "sendMessage" for e in api.errors) or kind == "timeout"


async def test_retry_after_is_honoured(bot: Bot) -> None:
    api = bot.api
    api.fail_next("sendMessage", kind="retry_after", retry_after=20, chat_id=GROUP)
    api.user_sends(AUNT, GROUP, "#报修 1号楼门禁坏了")
    await api.wait_for(lambda: any(e.error_code == 429 for e in api.errors))
    await bot.settle()  # the retry time is recorded against the clock as it was
    assert bot.app is not None and bot.app.bot_data.sender is not None
    bot.clock.advance(dt.timedelta(seconds=19))
    await bot.app.bot_data.sender.drain_once()
    assert not api.sent_to(GROUP)  # still waiting out retry_after
    bot.clock.advance(dt.timedelta(seconds=1))
    bot.app.bot_data.sender.wake()
    await bot.said(GROUP, contains("已登记为"))


async def test_same_update_twice_also_after_restart_files_once(bot: Bot) -> None:
    api = bot.api
    message = {
        "message_id": 4242,
        "date": 1_780_000_000,
        "chat": {"id": GROUP, "type": "supergroup", "title": "幸福里居民群"},
        "from": {"id": AUNT, "is_bot": False, "first_name": "张阿姨", "language_code": "zh"},
        "text": "#报修 7号楼水管爆了",
        "entities": [{"type": "hashtag", "offset": 0, "length": 3}],
    }
    api.inject_update({"update_id": 500, "message": message})
    api.inject_update({"update_id": 500, "message": message})
    await bot.said(GROUP, contains("已登记为"))
    await bot.restart()
    api.inject_update({"update_id": 500, "message": message})
    api.user_sends(UNCLE, GROUP, "#报修 2号楼电梯坏了")  # a fresh one still works
    await bot.said(GROUP, contains("#2"))
    async with bot.desk.db.reading() as tx:
        assert len(await tickets.open_tickets(tx)) == 2


async def test_malformed_updates_are_logged_and_the_bot_keeps_running(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    api = bot.api
    api.inject_update({"update_id": 900, "message": {"message_id": "not a number"}})
    api.inject_update({"update_id": 901, "callback_query": {"id": "q", "data": "t1:acc:1"}})
    api.inject_update({"update_id": 902, "edited_message": None})
    api.user_sends(AUNT, GROUP, "#报修 3号楼路灯坏了")
    await bot.said(GROUP, contains("已登记为"))


async def test_flood_from_one_account_is_capped_and_others_still_served(bot: Bot) -> None:
    api = bot.api
    for index in range(25):
        api.user_sends(AUNT, GROUP, f"#报修 {index + 1}号楼第{index}次反映：路灯坏了")
    api.user_sends(UNCLE, GROUP, "#报修 9号楼垃圾桶满了没人清")
    await bot.said(
        GROUP,
        lambda m: (
            ("老刘" not in (m.text or "") and "垃圾" in (m.plain_text or ""))
            or "环境卫生" in (m.plain_text or "")
        ),
    )
    await api.wait_until_idle()
    await bot.settle()
    async with bot.desk.db.reading() as tx:
        aunt = await tickets.tickets_of_reporter(tx, AUNT, limit=100)
        uncle = await tickets.tickets_of_reporter(tx, UNCLE, limit=100)
    assert len(aunt) == bot.config.intake_per_hour and len(uncle) == 1
    throttled = [m for m in api.sent_to(GROUP) if "比较多" in (m.plain_text or "")]
    assert len(throttled) == 1


async def test_blocked_staff_falls_back_to_staff_group(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, WANG)
    api.user_blocks_bot(WANG)
    api.user_sends(AUNT, GROUP, "#报修 3号楼楼道窗户玻璃碎了")
    card = await bot.said(STAFF_GROUP, contains("#1"))
    assert "王师傅" in (card.plain_text or "")
    async with bot.desk.db.reading() as tx:
        person = await people.get_person(tx, WANG)
    assert person is not None and person.unreachable_since is not None
    # Known unreachable now: the next card goes straight to the group, no failed call.
    errors = len(api.errors)
    api.user_sends(UNCLE, GROUP, "#报修 4号楼楼道灯坏了")
    await bot.said(STAFF_GROUP, contains("#2"))
    assert len(api.errors) == errors
    # Unblocking and /start makes them reachable again.
    api.user_unblocks_bot(WANG)
    await onboard(bot, WANG)
    async with bot.desk.db.reading() as tx:
        person = await people.get_person(tx, WANG)
    assert person is not None and person.unreachable_since is None


async def test_bot_removed_from_group_is_recorded_and_dm_still_works(bot: Bot) -> None:
    api = bot.api
    await onboard(bot, UNCLE, WANG)
    api.user_sends(UNCLE, GROUP, "#报修 3号楼单元门关不上")
    card = await bot.said(WANG, contains("#1"))
    api.bot_removed_from(GROUP)
    await api.wait_until_idle()
    api.user_presses(WANG, card.message_id, WANG, "t1:acc:1")
    await bot.said(UNCLE, contains("已由"))  # the reporter started the bot: DM, not group
    async with bot.desk.db.reading() as tx:
        assert await people.chat_removed(tx, GROUP)
