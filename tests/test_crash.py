"""Crash and restart: the real `community-bot run` process against the fake Bot API,
killed with SIGKILL in the middle of a burst, restarted on the same database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.cli import demo_config_path
from bot.emulator import FakeBotApi
from bot.models import Outgoing
from storage import outbox
from storage.db import Database
from tests.conftest import GROUP

BURST = 200
FIRST_USER = 30000


@asynccontextmanager
async def bot_process(api: FakeBotApi, db: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "PYTHONUNBUFFERED": "1",
    }
    polls = len(api.calls_to("getUpdates"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(demo_config_path()),
        "--db",
        str(db),
        "--no-rate-limit",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for(lambda: len(api.calls_to("getUpdates")) > polls, timeout=30)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


def acks_by_request(api: FakeBotApi) -> Counter[int]:
    return Counter(
        m.reply_to_message_id or 0 for m in api.sent_to(GROUP) if "已登记为" in (m.plain_text or "")
    )


async def test_sigkill_mid_burst_then_restart_files_each_request_once(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite3"
    async with FakeBotApi() as api:
        api.add_group(GROUP, "幸福里居民群")
        api.add_group(-1001000000002, "幸福里工作群")
        requests = []
        for index in range(BURST):
            api.add_user(FIRST_USER + index, f"居民{index}")
        async with bot_process(api, db) as first:
            for index in range(BURST):
                message = api.user_sends(
                    FIRST_USER + index, GROUP, f"#报修 {index + 1}号楼单元门坏了关不上"
                )
                requests.append(message["message_id"])
            await api.wait_for(lambda: len(acks_by_request(api)) >= BURST // 4, timeout=60)
            first.kill()  # SIGKILL: no cleanup at all
            await first.wait()
        killed_at = len(acks_by_request(api))
        assert killed_at < BURST, "the burst finished before the kill; nothing was tested"

        async with bot_process(api, db) as second:
            await api.wait_for(lambda: set(acks_by_request(api)) >= set(requests), timeout=90)
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
            assert second.returncode == 0, stderr.decode()[-2000:]

    acks = acks_by_request(api)
    assert set(acks) == set(requests)
    # Telegram has no idempotency key: the one send in flight to the group at the kill can
    # have been delivered without being recorded, and is then sent again after restart.
    assert sum(count - 1 for count in acks.values()) <= 1
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT origin_message_id, COUNT(*) FROM tickets GROUP BY 1").fetchall()
        pending = conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()
    assert len(rows) == BURST and all(count == 1 for _, count in rows)
    assert pending == (0,)


async def test_sigterm_finishes_cleanly(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        api.add_group(GROUP, "幸福里居民群")
        api.add_user(FIRST_USER, "张阿姨")
        async with bot_process(api, tmp_path / "desk.sqlite3") as process:
            api.user_sends(FIRST_USER, GROUP, "#报修 3号楼楼道灯不亮了")
            await api.wait_for(lambda: len(acks_by_request(api)) == 1, timeout=30)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    assert b"Traceback" not in stderr


async def test_sigkill_mid_broadcast_then_restart_sends_each_copy_once(tmp_path: Path) -> None:
    """1,000 DMs queued the way a broadcast queues them (one outbox row per recipient, in one
    transaction), the process killed half-way, restarted on the same database."""
    recipients = [FIRST_USER + 1000 + index for index in range(1000)]
    db_path = tmp_path / "desk.sqlite3"
    db = await Database.open(db_path)
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as tx:
        for user_id in recipients:
            message = Outgoing(key=f"notice:1:{user_id}", chat_id=user_id, text="健康大讲堂")
            await outbox.enqueue(tx, message, now)
    await db.close()

    async with FakeBotApi() as api:
        for user_id in recipients:
            api.add_user(user_id, f"居民{user_id}")

        def delivered() -> Counter[int]:
            return Counter(m.chat_id for m in api.sent if m.text == "健康大讲堂")

        async with bot_process(api, db_path) as first:
            await api.wait_for(lambda: len(delivered()) >= 300, timeout=60)
            first.kill()
            await first.wait()
        assert len(delivered()) < len(recipients), "finished before the kill"
        async with bot_process(api, db_path) as second:
            await api.wait_for(lambda: len(delivered()) == len(recipients), timeout=90)
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.communicate(), timeout=30)

    copies = delivered()
    assert set(copies) == set(recipients)
    # At most the sends in flight at the kill (one per chat, a few chats at once) repeat.
    assert sum(count - 1 for count in copies.values()) <= 8
