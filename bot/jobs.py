"""JobQueue callbacks: thin wrappers that call services (tests call these directly)."""

from __future__ import annotations

import logging

from bot import escalation, lifecycle, staffdesk
from bot.context import Context

log = logging.getLogger(__name__)


async def close_unrated(context: Context) -> None:
    desk = context.bot_data.require_desk()
    await staffdesk.prune(desk)
    closed = await lifecycle.close_unrated(desk)
    if closed:
        log.info("closed %d resolved tickets nobody rated", closed)


async def escalation_tick(context: Context) -> None:
    """Acknowledgement escalation, deadline reminders, referral follow-ups and the daily
    overdue report: all clocks live in the database, so a tick just does what is due."""
    desk = context.bot_data.require_desk()
    await escalation.run_due(desk)
    await escalation.remind_deadlines(desk)
    await escalation.follow_ups(desk)
    await escalation.report_overdue(desk)
