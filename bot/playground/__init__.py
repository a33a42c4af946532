"""`community-bot playground`: try the real bot locally, without Telegram or a token.

Starts the in-repo Bot API emulator on 127.0.0.1, the real application pointed at it, and
a web page (same server) to act as residents and staff. Ctrl-C / SIGTERM stops it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from pathlib import Path

from bot.config import CommunityConfig, ConfigError
from bot.playground.server import Playground
from bot.texts import default_texts

__all__ = ["Playground", "run_playground"]


def run_playground(community: CommunityConfig, db_path: Path | None, port: int) -> int:
    """Runs until interrupted; returns the process exit code."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22: time periods as timedelta
    return asyncio.run(_serve(community, db_path, port))


async def _serve(community: CommunityConfig, db_path: Path | None, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available on every platform; there Ctrl-C still ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    # Without --db the playground is throwaway: a fresh database per run.
    with tempfile.TemporaryDirectory(prefix="community-playground-") as scratch:
        playground = Playground(
            community, db_path or Path(scratch) / "playground.sqlite3", port=port
        )
        try:
            await playground.start()
        except OSError as error:
            raise ConfigError("--port", f"cannot listen on 127.0.0.1:{port}: {error}") from None
        try:
            address = default_texts().render(
                "en", "cli", code="playground", community=community.name, url=playground.url
            )
            print(address, flush=True)
            await stop.wait()
        finally:
            await playground.stop()
    return 0
