"""What the benchmarks share: request texts, the two applications under test (the full
community desk and a bare python-telegram-bot), a simulated community in the emulator, and
a closed-loop driver that times each request until the bot's reply reaches the emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import sqlite3
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters
from telegram.request import BaseRequest

from bot.app import build_application
from bot.cli import demo_config_path
from bot.clock import FakeClock
from bot.config import CommunityConfig, OutboxSettings, Settings, load_community
from bot.context import App
from bot.emulator import FakeBotApi
from bot.emulator.records import JSON
from bot.intake import CONFIDENT
from bot.parsing import Parser
from storage import outbox

ROOT = Path(__file__).resolve().parents[1]
DATA_FILES = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "requests_dev.jsonl",
    ROOT / "data" / "requests_extra.jsonl",
)
# The demo config's chats (bot/demo/community.toml).
GROUP = -1001000000001
STAFF_GROUP = -1001000000002
RESIDENT_BASE = 3_000_000
RESIDENTS = 200
# Monday 10:00 in Shanghai, as in the tests.
START = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
# The same "no limits" outbox the tests use: intake measures work, not pacing.
FAST_OUTBOX = OutboxSettings(
    global_per_second=0, per_chat_interval=0, group_per_minute=0, poll_interval=0.05
)
POLL_TIMEOUT = dt.timedelta(seconds=1)

BareApp = Application[Any, Any, Any, Any, Any, Any]


# ---------------------------------------------------------------- data and figures


def load_request_texts() -> list[str]:
    """Resident messages labelled as requests (category other than "none")."""
    texts: list[str] = []
    for path in DATA_FILES:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    if row.get("category", "none") != "none":
                        texts.append(row["text"])
    if not texts:
        raise RuntimeError(f"no request texts found in {[str(p) for p in DATA_FILES]}")
    return texts


def filed_texts(config: CommunityConfig) -> list[str]:
    """The request texts the community group files at once (the parser is confident), so
    every benchmark message takes the full path: parse, ticket, routing, ack, staff card."""
    parser = Parser(config.vocabulary)
    kept = []
    for text in load_request_texts():
        parsed = parser.parse(text)
        if parsed.is_request and parsed.confidence >= CONFIDENT:
            kept.append(text)
    return kept


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size now (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("VmRSS not found")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = 0.0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_telegram_bot": metadata.version("python-telegram-bot"),
        "aiosqlite": metadata.version("aiosqlite"),
        "sqlite": sqlite3.sqlite_version,
    }


# ---------------------------------------------------------------- the simulated community


def community_api(config: CommunityConfig, **options: Any) -> FakeBotApi:
    """The emulator with the demo community: its chats, its staff and a pool of residents."""
    api = FakeBotApi(**options)
    api.add_group(GROUP, "residents")
    api.add_group(STAFF_GROUP, "staff")
    for member in config.staff:
        if member.telegram_id is not None:
            api.add_user(member.telegram_id, member.name)
    for number in range(RESIDENTS):
        api.add_user(RESIDENT_BASE + number, f"住户{number:03d}")
    return api


def residents() -> list[int]:
    return [RESIDENT_BASE + number for number in range(RESIDENTS)]


def community_config() -> CommunityConfig:
    return load_community(demo_config_path())


def clock_step(texts: int) -> dt.timedelta:
    """Simulated time between two requests: a busy community (one every 4 minutes), but
    never so little that a text comes round again inside the 48-hour window in which a
    neighbour's identical report joins the open ticket instead of filing a new one."""
    return max(dt.timedelta(minutes=4), dt.timedelta(hours=49) / max(texts, 1))


def step_clock(application: App, clock: FakeClock, step: dt.timedelta) -> None:
    """Move the simulated clock on with every update, before any handler sees it."""

    async def tick(update: Update, context: Any) -> None:
        clock.advance(step)

    application.add_handler(TypeHandler(Update, tick), group=-100)


def pause_jobs(application: App) -> None:
    # The simulated clock runs days ahead of the JobQueue's wall clock; escalation ticks
    # would then chase every ticket as overdue, which is not the path being measured.
    assert application.job_queue is not None
    for job in application.job_queue.jobs():
        job.schedule_removal()


# ---------------------------------------------------------------- the two applications


def full_settings(
    config: CommunityConfig,
    token: str,
    db_path: Path,
    clock: FakeClock,
    outbox_settings: OutboxSettings = FAST_OUTBOX,
) -> Settings:
    return Settings(
        community=config, token=token, db_path=db_path, clock=clock, outbox=outbox_settings
    )


def build_full(settings: Settings, request: BaseRequest | None, step: dt.timedelta) -> App:
    application = build_application(settings, request)
    assert isinstance(settings.clock, FakeClock)
    step_clock(application, settings.clock, step)
    original = application.post_init
    assert original is not None

    async def post_init(app: App) -> None:
        await original(app)
        pause_jobs(app)

    application.post_init = post_init
    return application


@dataclass(frozen=True, slots=True)
class SentShape:
    """A message as the desk sent it: where, what, which buttons (replayed by a bare bot)."""

    chat_id: int
    text: str
    parse_mode: str | None
    markup: InlineKeyboardMarkup | None


def sent_shapes(api: FakeBotApi, since: int = 0) -> list[SentShape]:
    """The sendMessage calls the emulator has seen, in order, from call number `since`."""
    shapes: list[SentShape] = []
    for call in api.calls[since:]:
        if call.method != "sendMessage":
            continue
        params = call.params
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        keyboard = None
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            keyboard = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            b["text"], callback_data=b.get("callback_data"), url=b.get("url")
                        )
                        for b in row
                    ]
                    for row in markup["inline_keyboard"]
                ]
            )
        shapes.append(
            SentShape(
                int(params["chat_id"]), str(params["text"]), params.get("parse_mode"), keyboard
            )
        )
    return shapes


def build_bare(
    token: str,
    db_path: Path,
    request: BaseRequest | None,
    replay: list[tuple[SentShape, SentShape]] | None = None,
) -> BareApp:
    """The baseline: echo each text message and write one SQLite row (same pragmas as the
    desk's database), the least a bot that stores requests can do.

    With `replay`, the reply is instead the desk's own acknowledgement (same text, HTML
    and button, quoting the message) followed by its staff card (same chat, text and
    buttons), taken in turn: the same Telegram traffic as the desk, without its work."""
    holder: dict[str, aiosqlite.Connection] = {}
    turn = [0]

    async def post_init(app: BareApp) -> None:
        conn = await aiosqlite.connect(str(db_path), isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, chat_id INTEGER,"
            " message_id INTEGER, user_id INTEGER, text TEXT, at TEXT)"
        )
        holder["db"] = conn

    async def post_shutdown(app: BareApp) -> None:
        conn = holder.pop("db", None)
        if conn is not None:
            await conn.close()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None or message.from_user is None:
            return
        conn = holder["db"]
        await conn.execute(
            "INSERT INTO messages (chat_id, message_id, user_id, text, at) VALUES (?, ?, ?, ?, ?)",
            (
                message.chat_id,
                message.message_id,
                message.from_user.id,
                message.text,
                message.date.isoformat(),
            ),
        )
        if replay is None:
            await message.reply_text(message.text, do_quote=True)
            return
        ack, card = replay[turn[0] % len(replay)]
        turn[0] += 1
        await message.reply_text(
            ack.text, parse_mode=ack.parse_mode, reply_markup=ack.markup, do_quote=True
        )
        await context.bot.send_message(
            card.chat_id, card.text, parse_mode=card.parse_mode, reply_markup=card.markup
        )

    builder = Application.builder().token(token).post_init(post_init).post_shutdown(post_shutdown)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application: BareApp = builder.build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


async def start(application: BareApp | App) -> None:
    """Application.run_polling's start sequence, minus signal handling (as tests/conftest)."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)


async def stop(application: BareApp | App) -> None:
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)


async def onboard_staff(api: FakeBotApi, config: CommunityConfig) -> None:
    """Staff open the bot first, so their cards go to them privately as in real use."""
    for member in config.staff:
        if member.telegram_id is not None:
            before = len(api.sent)
            api.user_starts(member.telegram_id)
            await api.wait_sent(1, timeout=30, chat_id=member.telegram_id, start=before)


async def outbox_drained(application: App) -> None:
    """Wait until the desk's outbox has nothing pending (staff cards included)."""
    desk = application.bot_data.require_desk()
    while True:
        async with desk.db.reading() as tx:
            pending = await outbox.next_due_at(tx)  # an index lookup: cheap to poll
        if pending is None:
            return
        await asyncio.sleep(0.002)


# ---------------------------------------------------------------- the driver


@dataclass
class Drive:
    """Closed loop: `concurrency` residents' messages in flight; the next goes in when the
    bot's reply to one of them reaches the emulator. Latency is from the message being
    posted to that reply."""

    api: FakeBotApi
    texts: list[str]
    concurrency: int
    keep_ids: bool = False  # remember every message, so forget() can delete them
    latencies: list[float] = field(default_factory=list)
    _pending: dict[int, float] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None
    _messages: list[tuple[int, int]] = field(default_factory=list)

    def _on_change(self, event: JSON) -> None:
        if event.get("type") != "sent":
            return
        if self.keep_ids:
            self._messages.append((int(event["chat_id"]), int(event["message"]["message_id"])))
        if event.get("chat_id") != GROUP:
            return
        replied = event["message"].get("reply_to_message") or {}
        began = self._pending.pop(int(replied.get("message_id", 0)), None)
        if began is None:
            return  # not the first reply to a benchmark message
        self.latencies.append(time.perf_counter() - began)
        assert self._slots is not None
        self._slots.release()

    async def run(
        self,
        count: int,
        offset: int = 0,
        timeout: float = 120.0,  # noqa: ASYNC109
    ) -> float:
        """Post `count` messages; returns seconds until the last one was answered."""
        self._slots = asyncio.Semaphore(self.concurrency)
        self.latencies = []
        people = residents()
        self.api.on_change.append(self._on_change)
        try:
            began = time.perf_counter()
            for index in range(offset, offset + count):
                async with asyncio.timeout(timeout):
                    await self._slots.acquire()
                message = self.api.user_sends(
                    people[index % len(people)], GROUP, self.texts[index % len(self.texts)]
                )
                self._pending[int(message["message_id"])] = time.perf_counter()
                if self.keep_ids:
                    self._messages.append((GROUP, int(message["message_id"])))
            await self.api.wait_for(lambda: not self._pending, timeout, what="every reply")
            return time.perf_counter() - began
        finally:
            self.api.on_change.remove(self._on_change)

    async def forget(self) -> None:
        """Delete the messages seen so far and drop the emulator's call records, so a long
        run measures the bot's memory rather than the emulator's chat history."""
        for chat_id, message_id in self._messages:
            await self.api.call(
                self.api.token,
                "deleteMessage",
                {"chat_id": str(chat_id), "message_id": str(message_id)},
            )
        self._messages.clear()
        self.api.sent.clear()
        self.api.calls.clear()
        self.api.errors.clear()
