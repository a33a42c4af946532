"""Record each update as handled once every feature had its turn. (Redeliveries never
get this far: DeskBot passes on only updates the inbox had not stored before.)"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from bot import staffdesk
from bot.context import Context
from handlers.common import desk_of


async def mark_handled(update: Update, context: Context) -> None:
    await staffdesk.mark_update(desk_of(context), update.update_id)


AFTER: list[BaseHandler[Update, Context, None]] = [TypeHandler(Update, mark_handled)]
