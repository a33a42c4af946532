"""Memory: resident set size of the full desk against a bare python-telegram-bot.

    python -m bench memory [--tickets 10000]

Each application runs in a fresh Python process (the same one for both kinds of bot:
emulator in process, in-process request, the intake benchmark's driver). RSS (VmRSS) is
read after start, and again after `tickets` resident requests have been answered (for the
desk: filed as tickets, acknowledged and sent to staff). The emulator's own chat history
and call log are deleted every chunk so the figure is the bot's. Target: after / bare
after <= 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    GROUP,
    ROOT,
    START,
    BareApp,
    Drive,
    build_bare,
    build_full,
    clock_step,
    community_api,
    community_config,
    filed_texts,
    full_settings,
    onboard_staff,
    outbox_drained,
    ratio,
    rss_kib,
    start,
    stop,
)
from bot.clock import FakeClock
from bot.context import App
from bot.emulator import InProcessRequest

CHUNK = 100
CONCURRENCY = 8


async def _measure(kind: str, tickets: int) -> dict[str, Any]:
    config = community_config()
    texts = filed_texts(config)
    api = community_api(config)
    api.set_member_status(GROUP, api.bot_id, "administrator")  # may delete residents' posts
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
        folder = Path(name)
        app: App | BareApp
        desk_app: App | None = None  # the full desk, whose outbox must drain each chunk
        if kind == "full":
            clock = FakeClock(START)
            settings = full_settings(config, api.token, folder / "desk.sqlite3", clock)
            app = desk_app = build_full(settings, InProcessRequest(api), clock_step(len(texts)))
        else:
            app = build_bare(api.token, folder / "bare.sqlite3", InProcessRequest(api))
        await start(app)
        try:
            if desk_app is not None:
                await onboard_staff(api, config)
            drive = Drive(api, texts, CONCURRENCY, keep_ids=True)
            await drive.forget()
            gc.collect()
            at_start = rss_kib()
            began = time.perf_counter()
            done = 0
            rates: list[float] = []  # per chunk: does the desk slow down as tickets pile up?
            while done < tickets:
                chunk = min(CHUNK, tickets - done)
                chunk_began = time.perf_counter()
                await drive.run(chunk, offset=done, timeout=300)
                if desk_app is not None:
                    await outbox_drained(desk_app)
                rates.append(chunk / (time.perf_counter() - chunk_began))
                await drive.forget()
                done += chunk
            seconds = time.perf_counter() - began
            gc.collect()
            after = rss_kib()
        finally:
            await stop(app)
    tenth = max(1, len(rates) // 10)
    return {
        "rss_start_kib": at_start,
        "rss_after_kib": after,
        "seconds": round(seconds, 1),
        "updates_per_s_first_tenth": round(sum(rates[:tenth]) / tenth, 1),
        "updates_per_s_last_tenth": round(sum(rates[-tenth:]) / tenth, 1),
    }


def _child(kind: str, tickets: int) -> dict[str, Any]:
    env = {**os.environ, "PTB_TIMEDELTA": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory_bench", "--child", kind, "--tickets", str(tickets)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory benchmark ({kind}) failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(tickets: int = 10_000) -> dict[str, Any]:
    """RSS after start and after `tickets` requests, full desk and bare bot (fresh processes)."""
    bare = _child("bare", tickets)
    full = _child("full", tickets)
    return {
        "tickets": tickets,
        "full": full,
        "bare": bare,
        "start_ratio": round(ratio(full["rss_start_kib"], bare["rss_start_kib"]), 3),
        "after_ratio": round(ratio(full["rss_after_kib"], bare["rss_after_kib"]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=("full", "bare"))
    parser.add_argument("--tickets", type=int, default=10_000)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.child, args.tickets))))
    else:
        print(json.dumps(run(args.tickets), indent=2))


if __name__ == "__main__":
    main()
