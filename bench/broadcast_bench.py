"""Broadcast: a notice to N private-chat subscribers through the real outbox sender.

    python -m bench broadcast [--n 1000] [--fault-rate 0.05]

The desk (build_application, post_init starts its OutboxSender and TelegramTransport with
PTB's AIORateLimiter at 30 messages/s) talks to the emulator with Telegram's limits on:
30 sends/s overall and 1/s per private chat, answered with 429 retry_after when exceeded.
One Outgoing per recipient is queued with storage.outbox.enqueue in one transaction, as the
notices feature does; the clock runs from that commit until the emulator has accepted the
last message. Reports time / (N / 30) (target <= 1.05), lost and doubled messages (target 0),
optionally with a share of sendMessage calls answered 429 retry_after=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import community_config, ratio
from bot.app import build_application
from bot.config import OutboxSettings, Settings
from bot.emulator import FakeBotApi, InProcessRequest
from bot.emulator.records import JSON
from bot.models import Outgoing
from bot.texts import Texts
from storage import outbox

TELEGRAM_RATE = 30.0  # Telegram's limit, messages per second, all chats together
RECIPIENT_BASE = 5_000_000
LIMITED = OutboxSettings()  # the bot's defaults: what it would do against Telegram


def notice_text(settings: Settings) -> str:
    """The demo config's first scheduled notice, rendered as the notices feature would."""
    spec = settings.community.raw.get("notices", {}).get("schedule", [{}])[0]
    view = {
        "kind": spec.get("kind", "announcement"),
        "title": spec.get("title", ""),
        "topic": None,
        "body": spec.get("text"),
        "event": False,
        "when": "",
        "place": spec.get("place"),
        "speaker": None,
        "eligible": None,
        "bring": None,
        "notes": None,
        "capacity": None,
    }
    return Texts().render(
        settings.community.locale, "notice_post", n=view, dm=True, sub_topic=None, going=None
    )


async def _run(n: int, fault_rate: float, seed: int) -> dict[str, Any]:
    # Every 429 is expected here and counted below; PTB would log each with a traceback.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    api = FakeBotApi(limits=True)
    recipients = [RECIPIENT_BASE + number for number in range(n)]
    for user_id in recipients:
        api.add_user(user_id, f"订阅者{user_id - RECIPIENT_BASE:05d}")
    wanted = set(recipients)
    delivered: Counter[int] = Counter()
    last_at = [0.0]

    def on_change(event: JSON) -> None:
        if event.get("type") == "sent" and event.get("chat_id") in wanted:
            delivered[int(event["chat_id"])] += 1
            last_at[0] = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as folder:
        settings = Settings(
            community=community_config(),
            token=api.token,
            db_path=Path(folder) / "desk.sqlite3",
            outbox=LIMITED,
        )
        app = build_application(settings, InProcessRequest(api))
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # opens the database and starts the outbox sender
        try:
            desk = app.bot_data.require_desk()
            text = notice_text(settings)
            if fault_rate > 0:
                api.set_fault_rate("sendMessage", "retry_after", fault_rate, seed, retry_after=1)
            api.on_change.append(on_change)
            async with desk.db.transaction() as tx:
                now = desk.now()
                for user_id in recipients:
                    await outbox.enqueue(
                        tx,
                        Outgoing(
                            key=f"bench:notice:{user_id}",
                            chat_id=user_id,
                            text=text,
                            recipient_user_id=user_id,
                            purpose="notice",
                        ),
                        now,
                    )
            began = time.perf_counter()
            desk.wake_outbox()
            ideal = n / TELEGRAM_RATE
            # Lost messages show up as a shortfall in the figures rather than an error.
            with contextlib.suppress(AssertionError):
                await api.wait_for(
                    lambda: len(delivered) == n, timeout=ideal * 3 + 30, what="every notice"
                )
            await asyncio.sleep(0.5)  # anything doubled would show up right behind
            elapsed = last_at[0] - began
            async with desk.db.reading() as tx:
                states = await outbox.counts_by_state(tx)
        finally:
            api.on_change.remove(on_change)
            await app.shutdown()
            assert app.post_shutdown is not None
            await app.post_shutdown(app)
    too_many = [error for error in api.errors if error.error_code == 429]
    return {
        "n": n,
        "fault_rate": fault_rate,
        "seconds": round(elapsed, 2),
        "ideal_seconds": round(ideal, 2),
        "time_ratio": round(ratio(elapsed, ideal), 3),
        "lost": n - len(delivered),
        "doubled": sum(count - 1 for count in delivered.values() if count > 1),
        "answered_429": len(too_many),
        "outbox_states": states,
    }


def run(n: int = 1000, fault_rate: float = 0.0, seed: int = 10) -> dict[str, Any]:
    """Broadcast to n subscribers; fault_rate of sendMessage calls get 429 retry_after=1."""
    return asyncio.run(_run(n, fault_rate, seed))


def run_plan(plan: list[tuple[int, float]]) -> list[dict[str, Any]]:
    return [run(n, rate) for n, rate in plan]


def parse_plan(text: str) -> list[tuple[int, float]]:
    """Turn "1000,1000:0.05,5000" into [(1000, 0.0), (1000, 0.05), (5000, 0.0)]."""
    plan = []
    for item in text.split(","):
        size, _, rate = item.partition(":")
        plan.append((int(size), float(rate or 0)))
    return plan


if __name__ == "__main__":
    import json
    import sys

    # python -m bench.broadcast_bench 1000,1000:0.05  (a JSON list on stdout)
    print(json.dumps(run_plan(parse_plan(sys.argv[1] if len(sys.argv) > 1 else "1000"))))
