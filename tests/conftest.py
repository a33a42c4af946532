"""Shared fixtures: the fake Bot API on 127.0.0.1 and the real application against it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.app import build_application
from bot.cli import demo_config_path
from bot.clock import FakeClock
from bot.config import CommunityConfig, OutboxSettings, Settings, load_community
from bot.context import App
from bot.emulator import FakeBotApi, SentMessage
from bot.services import Desk

# PTB 22 warns on RetryAfter unless time periods are timedeltas; warnings are errors here.
os.environ.setdefault("PTB_TIMEDELTA", "true")

GROUP = -1001000000001
STAFF_GROUP = -1001000000002
LI, WANG, ZHAO, CHEN, LIU, SUN = 900001, 900002, 900003, 900004, 900005, 900006
AUNT, UNCLE, STRANGER = 1001, 1002, 1003
# Monday 10:00 in Shanghai.
START = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)

FAST_OUTBOX = OutboxSettings(
    global_per_second=0, per_chat_interval=0, group_per_minute=0, poll_interval=0.05
)


@dataclass
class Bot:
    """The application under test plus what it talks to."""

    api: FakeBotApi
    clock: FakeClock
    db_path: Path
    config: CommunityConfig
    app: App | None = None
    started: list[App] = field(default_factory=list)

    @property
    def desk(self) -> Desk:
        assert self.app is not None
        return self.app.bot_data.require_desk()

    def settings(self) -> Settings:
        return Settings(
            community=self.config,
            token=self.api.token,
            db_path=self.db_path,
            api_base_url=self.api.base_url,
            api_file_url=self.api.base_file_url,
            clock=self.clock,
            outbox=FAST_OUTBOX,
            request_timeout=1.0,  # the emulator's "timeout" fault holds a call until then
        )

    async def start(self) -> App:
        # The same sequence as Application.run_polling, minus signal handling.
        app = build_application(self.settings())
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=1))
        self.app = app
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)

    async def restart(self) -> App:
        await self.stop()
        return await self.start()

    async def settle(self) -> None:
        """Wait until the outbox has nothing left that is due now (each check is a database
        round trip, so this yields to the sender between checks)."""
        from storage import outbox

        for _ in range(5000):
            async with self.desk.db.reading() as tx:
                waiting = await outbox.due(tx, self.clock.now(), limit=1)
            if not waiting:
                return
            await asyncio.sleep(0)
        raise AssertionError("outbox did not drain")

    async def said(
        self, chat_id: int, predicate: Callable[[SentMessage], bool] | None = None, start: int = 0
    ) -> SentMessage:
        """The newest message the bot sent to `chat_id` (matching `predicate`), waiting for it."""
        found = await self.api.wait_sent(
            predicate or (lambda m: True), chat_id=chat_id, start=start
        )
        return found[-1]


def contains(fragment: str) -> Callable[[SentMessage], bool]:
    def check(message: SentMessage) -> bool:
        return fragment in (message.plain_text or message.text or "")

    check.__name__ = f"contains({fragment!r})"
    return check


def last_answer(api: FakeBotApi) -> str:
    return (api.callback_answers[-1].text or "") if api.callback_answers else ""


async def answer_with(api: FakeBotApi, fragment: str) -> str:
    """Wait until the newest callback answer contains `fragment`; return it."""
    await api.wait_for(lambda: fragment in last_answer(api), what=f"an answer with {fragment!r}")
    return last_answer(api)


@pytest.fixture
def config() -> CommunityConfig:
    return load_community(demo_config_path())


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_group(GROUP, "幸福里居民群")
        server.add_group(STAFF_GROUP, "幸福里工作群")
        for user_id, name in [
            (LI, "李书记"),
            (WANG, "王师傅"),
            (ZHAO, "赵师傅"),
            (CHEN, "陈网格员"),
            (LIU, "刘医生"),
            (SUN, "孙老师"),
            (AUNT, "张阿姨"),
            (UNCLE, "老刘"),
            (STRANGER, "路人"),
        ]:
            server.add_user(user_id, name, username=f"user{user_id}")
        yield server


@pytest.fixture
async def bot(api: FakeBotApi, tmp_path: Path, config: CommunityConfig) -> AsyncIterator[Bot]:
    harness = Bot(api=api, clock=FakeClock(START), db_path=tmp_path / "desk.sqlite3", config=config)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def onboard(bot: Bot, *user_ids: int) -> None:
    """Users open the bot (/start) so it may message them privately."""
    for user_id in user_ids:
        start = len(bot.api.sent)
        bot.api.user_starts(user_id)
        await bot.said(user_id, start=start)
