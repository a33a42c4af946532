"""JobQueue callbacks: thin wrappers that call services (tests call these directly)."""

from __future__ import annotations

import logging

from bot import lifecycle
from bot.context import Context

log = logging.getLogger(__name__)


async def close_unrated(context: Context) -> None:
    closed = await lifecycle.close_unrated(context.bot_data.require_desk())
    if closed:
        log.info("closed %d resolved tickets nobody rated", closed)
