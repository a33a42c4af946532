"""The fake Bot API server, driven by real python-telegram-bot clients."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import FakeBotApi, RateLimits, SentMessage

USER = 1001
OTHER = 1002
GROUP = -1001234567890


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error under our filterwarnings) when it builds RetryAfter with
    # int time periods unless this opt-in is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(USER, "张三", username="zhangsan")
        server.add_user(OTHER, "李四")
        server.add_group(GROUP, "幸福小区业主群")
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


@contextlib.asynccontextmanager
async def running_app(
    api: FakeBotApi, *handlers: Any
) -> AsyncIterator[tuple[Application[Any, Any, Any, Any, Any, Any], list[BaseException]]]:
    """A real Application polling the emulator; yields it and the errors its handlers raised."""
    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    errors: list[BaseException] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    for handler in handlers:
        app.add_handler(handler)
    app.add_error_handler(on_error)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=2))
        try:
            yield app, errors
        finally:
            await app.updater.stop()
            await app.stop()


def _entities(message: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(e["type"], e["offset"], e["length"]) for e in message.get("entities", [])]


# ---------------------------------------------------------------- protocol basics


async def test_get_me_reports_the_configured_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456,
        "community_desk_bot",
        "社区服务台",
        True,
    )


async def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=api.base_url, base_file_url=api.base_file_url):
            pass
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.base_url}999:WRONG/getMe") as response,
    ):
        assert response.status == 401
        assert await response.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }


async def test_unknown_method_is_not_found(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.base_url}{api.token}/sendTelepathy") as response,
    ):
        assert response.status == 404
        body = await response.json()
    assert body["description"] == "Not Found: method not found"


async def test_accepts_json_form_and_multipart_bodies(api: FakeBotApi) -> None:
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    url = f"{api.base_url}{api.token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{url}/sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup}
        ) as response:
            assert (await response.json())["ok"]
        form = {"chat_id": str(USER), "text": "123", "reply_markup": json.dumps(markup)}
        async with session.post(f"{url}/sendMessage", data=form) as response:
            assert (await response.json())["result"]["text"] == "123"  # stays a string
        multipart = aiohttp.FormData()
        multipart.add_field("chat_id", str(GROUP))
        multipart.add_field("document", b"%PDF-1.4", filename="报修单.pdf")
        async with session.post(f"{url}/sendDocument", data=multipart) as response:
            document = (await response.json())["result"]["document"]
    assert document["file_name"] == "报修单.pdf"
    assert [s.reply_markup for s in api.sent[:2]] == [markup, markup]
    assert api.sent[2].media == "document"


# ---------------------------------------------------------------- end to end with Application


async def test_command_reply_callback_and_edit_round_trip(api: FakeBotApi) -> None:
    async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            f"收到报修：<b>{' '.join(context.args or [])}</b>",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("确认", callback_data="confirm:7")]]
            ),
            do_quote=True,
        )

    async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("好的", show_alert=True)
        await query.edit_message_text("✅ 已确认")

    async with running_app(
        api, CommandHandler("report", report), CallbackQueryHandler(confirm)
    ) as (_, errors):
        asked = api.user_sends(USER, text="/report 3号楼 漏水")
        replies: list[SentMessage] = await api.wait_sent(1)
        [reply] = replies
        assert reply.chat_id == USER
        assert reply.plain_text == "收到报修：3号楼 漏水"
        assert reply.parse_mode == "HTML"
        assert reply.reply_to_message_id == asked["message_id"]
        assert reply.callback_data == ["confirm:7"]

        query_id = api.user_presses(USER, reply.message_id, USER, "confirm:7", strict=True)
        await api.wait_for(lambda: len(api.edits) == 1)
        await api.wait_until_idle()
        assert api.callback_answers == [(query_id, "好的", True)]

        [question, answer] = api.messages_in(USER)
        assert (question.from_bot, question.text) == (False, "/report 3号楼 漏水")
        assert (answer.from_bot, answer.text, answer.edited) == (True, "✅ 已确认", True)
        assert answer.reply_markup is None  # edits without reply_markup drop the keyboard
        with pytest.raises(ValueError, match="no button"):
            api.user_presses(USER, reply.message_id, USER, "confirm:7", strict=True)
        assert errors == []
    methods = [call.method for call in api.calls]
    assert methods[0] == "getMe"
    assert "deleteWebhook" in methods


async def test_group_messages_reach_message_handlers_and_kicks_are_reported(
    api: FakeBotApi,
) -> None:
    seen: list[Update] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)

    async with running_app(api, MessageHandler(filters.ALL, record)) as (_, errors):
        api.user_sends(USER, GROUP, "楼道灯坏了 #报修")
        api.user_sends(USER, GROUP, photo=True, caption="照片")
        api.bot_removed_from(GROUP)
        api.inject_update({"not_a_known_update_type": {"x": 1}})  # PTB must shrug it off
        await api.wait_until_idle()
        await api.wait_for(lambda: len(seen) == 2)  # my_chat_member is not a message
        assert errors == []
    assert seen[1].effective_message is not None and seen[1].effective_message.photo
    assert api.calls_to("getUpdates")[-1]["offset"] > 0


# ---------------------------------------------------------------- entities and formatting


async def test_entities_use_utf16_offsets(api: FakeBotApi, bot: Bot) -> None:
    text = "😀请 /report@community_desk_bot 漏水 #报修 找 @community_desk_bot，#123 /x楼"
    sent = api.user_sends(USER, GROUP, text)
    assert _entities(sent) == [
        ("bot_command", 4, 26),
        ("hashtag", 34, 3),
        ("mention", 40, 19),
    ]
    [update] = await bot.get_updates()
    assert update.message is not None
    assert list(update.message.parse_entities().values()) == [
        "/report@community_desk_bot",
        "#报修",
        "@community_desk_bot",
    ]

    message = await bot.send_message(USER, "<b>😀工单</b> <i>已受理</i> &lt;3", parse_mode="HTML")
    assert message.text == "😀工单 已受理 <3"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4),
        ("italic", 5, 3),
    ]


async def test_bad_markup_is_rejected_like_telegram(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: Unsupported start tag"):
        await bot.send_message(USER, "温度 <3 度", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)Character '\.' is reserved"):
        await bot.send_message(USER, "完成.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("长", callback_data="x" * 65)]]
            ),
        )
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "   ")
    assert api.sent == []


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_offset_limit_and_long_poll(api: FakeBotApi, bot: Bot) -> None:
    ids = [api.inject_update({"message": api.user_sends(USER, text=f"第{i}条")}) for i in range(3)]
    # user_sends already queued three updates; the injected copies follow them.
    assert len(api.pending_updates) == 6
    first = await bot.get_updates(limit=2)
    assert [u.update_id for u in first] == [1, 2]
    again = await bot.get_updates(offset=2)
    assert again[0].update_id == 2  # not confirmed yet, so delivered again
    await bot.get_updates(offset=ids[-1] + 1, timeout=0)
    assert api.pending_updates == []
    await api.wait_until_idle()

    polls = len(api.calls_to("getUpdates"))
    loop_time = asyncio.get_running_loop().time
    started = loop_time()
    poll = asyncio.create_task(bot.get_updates(offset=ids[-1] + 1, timeout=5))
    await api.wait_for(lambda: len(api.calls_to("getUpdates")) > polls)
    api.user_sends(USER, text="醒醒")
    [woken] = await poll
    assert woken.message is not None and woken.message.text == "醒醒"
    assert loop_time() - started < 2


async def test_second_poller_terminates_the_first(api: FakeBotApi, bot: Bot) -> None:
    # A second Bot: each Bot sends getUpdates over a single-connection pool.
    async with Bot(api.token, base_url=api.base_url) as rival:
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await api.wait_for(lambda: len(api.calls_to("getUpdates")) == 1)
        second = asyncio.create_task(rival.get_updates(timeout=5))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        api.user_sends(USER, text="hi")
        assert len(await second) == 1


# ---------------------------------------------------------------- errors and faults


async def test_blocked_user_and_kicked_bot_get_403(api: FakeBotApi, bot: Bot) -> None:
    api.user_blocks_bot(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "通知")
    api.user_unblocks_bot(USER)
    await bot.send_message(USER, "通知")

    api.bot_removed_from(GROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "通知")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-100999, "通知")
    assert [s.chat_id for s in api.sent] == [USER]
    kinds = [next(k for k in u if k != "update_id") for u in api.pending_updates]
    assert kinds == ["my_chat_member", "my_chat_member", "my_chat_member"]
    assert api.pending_updates[-1]["my_chat_member"]["new_chat_member"]["status"] == "kicked"


async def test_retry_after_server_error_timeout_and_drop(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", kind="retry_after", retry_after=7)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(USER, "a")
    assert retry.value.retry_after == dt.timedelta(seconds=7)

    api.fail_next("sendMessage", kind="server_error")
    with pytest.raises(NetworkError) as server_error:
        await bot.send_message(USER, "b")
    assert type(server_error.value) is NetworkError  # not BadRequest, which subclasses it

    api.fail_next("sendMessage", kind="timeout")
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "c", read_timeout=0.2)

    api.fail_next("sendMessage", kind="drop")
    with pytest.raises(NetworkError, match="disconnected"):
        await bot.send_message(USER, "d")

    api.fail_next("sendMessage", kind="forbidden", chat_id=OTHER)
    await bot.send_message(USER, "e")  # the fault only targets OTHER
    with pytest.raises(Forbidden):
        await bot.send_message(OTHER, "f")

    assert [s.text for s in api.sent] == ["e"]
    assert len(api.calls_to("sendMessage")) == 6


async def test_fault_rate_is_reproducible(api: FakeBotApi, bot: Bot) -> None:
    async def outcomes() -> list[bool]:
        api.set_fault_rate("getMe", "server_error", 0.5, seed=42)
        results = []
        for _ in range(12):
            try:
                await bot.get_me()
                results.append(True)
            except NetworkError:
                results.append(False)
        return results

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert True in first and False in first
    api.set_fault_rate("getMe", "server_error", 0)
    await bot.get_me()


async def test_rate_limits_answer_429() -> None:
    clock = [100.0]
    async with FakeBotApi(limits=RateLimits(), monotonic=lambda: clock[0]) as api:
        api.add_user(USER, "张三")
        async with Bot(api.token, base_url=api.base_url) as limited:
            await limited.send_message(USER, "一")
            with pytest.raises(RetryAfter):
                await limited.send_message(USER, "二")
            clock[0] += 1.0
            await limited.send_message(USER, "二")
    assert [s.text for s in api.sent] == ["一", "二"]


# ---------------------------------------------------------------- editing, replies, media


async def test_edit_errors_and_replies(api: FakeBotApi, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("查看", callback_data="view")]])
    sent = await bot.send_message(GROUP, "工单 #12", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("工单 #12", GROUP, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", GROUP, 999)
    query_id = api.user_presses_button(OTHER, GROUP, "查看")
    assert api.pending_updates[-1]["callback_query"]["id"] == query_id
    await bot.edit_message_reply_markup(GROUP, sent.message_id)
    assert api.messages_in(GROUP)[-1].reply_markup is None

    reply = api.user_sends(USER, GROUP, "收到", reply_to_message_id=sent.message_id)
    assert reply["reply_to_message"]["from"]["id"] == api.bot_id
    answer = await bot.send_message(
        GROUP, "好的", reply_parameters=ReplyParameters(message_id=reply["message_id"])
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "收到"
    assert api.sent[-1].reply_to_message_id == reply["message_id"]

    assert await bot.delete_message(GROUP, sent.message_id)
    assert [m.message_id for m in api.messages_in(GROUP)] == [2, 3]


async def test_photos_files_and_locations(api: FakeBotApi, bot: Bot) -> None:
    photo = await bot.send_photo(
        USER, photo=b"\xff\xd8jpeg-bytes", caption="<i>现场</i>", parse_mode="HTML"
    )
    assert photo.caption == "现场"
    file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == b"\xff\xd8jpeg-bytes"

    incoming = api.user_sends(USER, photo=True, caption="漏水照片")
    user_file = await bot.get_file(incoming["photo"][-1]["file_id"])
    assert (await user_file.download_as_bytearray()).startswith(b"\xff\xd8")

    location = await bot.send_location(USER, latitude=31.23, longitude=121.47)
    assert location.location is not None and location.location.latitude == 31.23
    voice = await bot.send_voice(USER, voice=b"OggS-voice")
    assert voice.voice is not None
    document = await bot.send_document(GROUP, document=b"%PDF-1.4", filename="报修单.pdf")
    assert document.document is not None and document.document.file_name == "报修单.pdf"
    assert [s.media for s in api.sent] == ["photo", "location", "voice", "document"]


async def test_commands_members_and_chat_info(api: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("report", "报修")], language_code="zh")
    await bot.set_my_commands([BotCommand("stats", "统计")], scope=BotCommandScopeAllGroupChats())
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["report"]
    assert api.commands[("all_group_chats", "")] == [{"command": "stats", "description": "统计"}]

    member = await bot.get_chat_member(GROUP, USER)
    assert member.status == "member"
    api.set_member_status(GROUP, OTHER, "administrator")
    api.set_member_status(GROUP, USER, "creator")
    admins = await bot.get_chat_administrators(GROUP)
    assert sorted(a.user.id for a in admins) == [USER, OTHER]
    chat = await bot.get_chat(GROUP)
    assert chat.title == "幸福小区业主群"


# ---------------------------------------------------------------- observation helpers


async def test_on_change_hooks_and_wait_failure_summary(api: FakeBotApi, bot: Bot) -> None:
    sync_events: list[str] = []
    async_events: list[str] = []

    async def async_hook(event: dict[str, Any]) -> None:
        async_events.append(event["type"])

    api.on_change.append(lambda event: sync_events.append(event["type"]))
    api.on_change.append(async_hook)
    await bot.send_message(USER, "hook")
    api.user_sends(USER, text="回复")
    await api.wait_for(lambda: "user_message" in async_events)
    assert [t for t in sync_events if t in ("sent", "user_message")] == ["sent", "user_message"]

    with pytest.raises(AssertionError, match=r"sendMessage chat=1001 id=1: hook"):
        await api.wait_sent(5, timeout=0.05)


def test_scripting_validates_its_input() -> None:
    server = FakeBotApi()
    server.add_user(USER, "张三")
    with pytest.raises(ValueError, match="unknown user"):
        server.user_sends(42, text="hi")
    with pytest.raises(ValueError, match="not found"):
        server.user_presses(USER, 1, USER, "x")
    with pytest.raises(ValueError, match="only bot messages"):
        server.user_presses(USER, server.user_sends(USER, text="hi")["message_id"], USER, "x")
    message = server.user_starts(USER, "ref_abc")
    assert message["text"] == "/start ref_abc"
    assert _entities(message) == [("bot_command", 0, 6)]
