"""Rebuilds the JobQueue at start from config and the database. Job names are predictable
(`<feature>:<id>`), and a rebuilt job replaces any job of the same name, so a restart
never leaves two copies of anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any

from bot import digest, escalation, jobs, lifecycle
from bot.context import App, Context
from handlers import notices

JobCallback = Callable[[Context], Coroutine[Any, Any, None]]


def replace_repeating(
    application: App, name: str, callback: JobCallback, interval: dt.timedelta, first: float = 60
) -> None:
    queue = application.job_queue
    assert queue is not None
    for job in queue.get_jobs_by_name(name):
        job.schedule_removal()
    queue.run_repeating(callback, interval=interval, first=first, name=name)


async def run_due(application: App) -> None:
    """Every feature's due work at the clock's current time. Each step is idempotent, so
    the playground's fast-forward (and anything else) may call this at any moment."""
    desk = application.bot_data.require_desk()
    await lifecycle.close_unrated(desk)
    await escalation.run_due(desk)
    await escalation.remind_deadlines(desk)
    await escalation.follow_ups(desk)
    await escalation.report_overdue(desk)
    await notices.run_due(application)  # posts, reminders, DMs held through quiet hours
    await digest.run_due(application)  # weekly staff digest, monthly public summary


async def rebuild(application: App) -> None:
    """Called from post_init; each feature adds its jobs here."""
    replace_repeating(application, "core:close-unrated", jobs.close_unrated, dt.timedelta(hours=1))
    # Escalation clocks are rows in the database; a short tick re-arms them after a restart.
    replace_repeating(
        application, "core:escalation", jobs.escalation_tick, dt.timedelta(seconds=30), first=5
    )
    # Notices: config upserted, missed occurrences caught up, `notice:<id>` + `notices:tick`.
    await notices.start(application)
    # Weekly digest and monthly summary: `digest:weekly`, `digest:monthly`.
    await digest.schedule(application)
