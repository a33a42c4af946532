"""Telegram delivers updates at least once: skip ids already handled, durably."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot import staffdesk
from bot.context import Context
from handlers.common import desk_of


async def skip_seen(update: Update, context: Context) -> None:
    if await staffdesk.update_seen(desk_of(context), update.update_id):
        raise ApplicationHandlerStop


async def mark_handled(update: Update, context: Context) -> None:
    await staffdesk.mark_update(desk_of(context), update.update_id)


BEFORE: list[BaseHandler[Update, Context, None]] = [TypeHandler(Update, skip_seen)]
AFTER: list[BaseHandler[Update, Context, None]] = [TypeHandler(Update, mark_handled)]
