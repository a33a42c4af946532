"""Intake throughput and latency: the full desk against a bare python-telegram-bot.

    python -m bench intake [--n 2000] [--concurrency 8]

Both applications run on one event loop against the emulator through the same in-process
request object (no sockets), polled the same way, with the same number of residents'
messages in flight. The desk parses each message, files a ticket, routes it, queues the
acknowledgement and the staff card in its outbox and sends both; the bare bot writes one
SQLite row and echoes the text. Latency is from the message being posted to the bot's reply
reaching the emulator; throughput counts until all work is done (the desk's outbox empty).
Targets: throughput ratio >= 0.75, p99 ratio <= 2.

A third run separates the desk's own work from its Telegram traffic: a bare bot that
answers each message with the desk's recorded acknowledgement and staff card (same texts,
HTML and buttons, so the emulator and PTB do the same work) instead of an echo.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    GROUP,
    START,
    Drive,
    SentShape,
    build_bare,
    build_full,
    clock_step,
    community_api,
    community_config,
    filed_texts,
    full_settings,
    onboard_staff,
    outbox_drained,
    percentile,
    ratio,
    sent_shapes,
    start,
    stop,
)
from bot.clock import FakeClock
from bot.emulator import InProcessRequest

WARMUP = 50


def _figures(n: int, total_s: float, latencies: list[float]) -> dict[str, float]:
    return {
        "updates": n,
        "seconds": round(total_s, 3),
        "updates_per_s": round(n / total_s, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


async def _full(
    texts: list[str], n: int, concurrency: int, folder: Path
) -> tuple[dict[str, Any], list[tuple[SentShape, SentShape]]]:
    """The desk's figures, and the (acknowledgement, staff card) pairs it sent."""
    config = community_config()
    api = community_api(config)
    clock = FakeClock(START)
    settings = full_settings(config, api.token, folder / "desk.sqlite3", clock)
    app = build_full(settings, InProcessRequest(api), clock_step(len(texts)))
    await start(app)
    try:
        await onboard_staff(api, config)
        drive = Drive(api, texts, concurrency)
        await drive.run(min(WARMUP, n))
        await outbox_drained(app)
        sends_before, calls_before = len(api.sent), len(api.calls)
        gc.collect()
        began = time.perf_counter()
        await drive.run(n, offset=WARMUP)
        await outbox_drained(app)
        total = time.perf_counter() - began
        shapes = sent_shapes(api, calls_before)
        figures = _figures(n, total, drive.latencies)
        desk = app.bot_data.require_desk()
        async with desk.db.reading() as tx:
            figures["tickets"] = int(await tx.scalar("SELECT COUNT(*) FROM tickets"))
        figures["sends_per_update"] = round((len(api.sent) - sends_before) / n, 2)
        acks = [shape for shape in shapes if shape.chat_id == GROUP]
        cards = [shape for shape in shapes if shape.chat_id != GROUP]
        return figures, list(zip(acks, cards, strict=False))
    finally:
        await stop(app)


async def _bare(
    texts: list[str],
    n: int,
    concurrency: int,
    folder: Path,
    replay: list[tuple[SentShape, SentShape]] | None = None,
) -> dict[str, Any]:
    config = community_config()
    api = community_api(config)
    for member in config.staff:  # the replayed staff cards go to them
        if member.telegram_id is not None:
            api.user_starts(member.telegram_id)
    name = "bare.sqlite3" if replay is None else "bare-replay.sqlite3"
    app = build_bare(api.token, folder / name, InProcessRequest(api), replay)
    await start(app)
    try:
        drive = Drive(api, texts, concurrency)
        await drive.run(min(WARMUP, n))
        sends_before = len(api.sent)
        gc.collect()
        began = time.perf_counter()
        await drive.run(n, offset=WARMUP)
        total = time.perf_counter() - began
        figures = _figures(n, total, drive.latencies)
        figures["sends_per_update"] = round((len(api.sent) - sends_before) / n, 2)
        return figures
    finally:
        await stop(app)


async def _run(n: int, concurrency: int) -> dict[str, Any]:
    texts = filed_texts(community_config())
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as name:
        folder = Path(name)
        bare = await _bare(texts, n, concurrency, folder)
        full, sent = await _full(texts, n, concurrency, folder)
        same = await _bare(texts, n, concurrency, folder, replay=sent)
    return {
        "n": n,
        "concurrency": concurrency,
        "texts": len(texts),
        "full": full,
        "bare": bare,
        "bare_same_output": same,
        "throughput_ratio": round(ratio(full["updates_per_s"], bare["updates_per_s"]), 3),
        "p99_ratio": round(ratio(full["p99_ms"], bare["p99_ms"]), 3),
        "p50_ratio": round(ratio(full["p50_ms"], bare["p50_ms"]), 3),
        # The desk against a bare bot sending the same messages: the cost of its own work.
        "same_output_throughput_ratio": round(
            ratio(full["updates_per_s"], same["updates_per_s"]), 3
        ),
        "same_output_p99_ratio": round(ratio(full["p99_ms"], same["p99_ms"]), 3),
    }


def run(n: int = 2000, concurrency: int = 8) -> dict[str, Any]:
    """Time n resident requests through each application; ratios are full / bare."""
    return asyncio.run(_run(n, concurrency))


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2000), indent=2))
