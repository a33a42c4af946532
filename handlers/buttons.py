"""One entry point for inline buttons: decode strictly, then hand to the right feature."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import callbacks
from bot.context import Context
from handlers import resident, staff
from handlers.common import actor_of, desk_of

STAFF_ACTIONS = frozenset({"acc", "dec", "det", "res", "una", "ref"})


async def on_press(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    press = callbacks.decode(query.data)
    if press is None:  # forged, from an old version, or not ours
        desk = desk_of(context)
        text = desk.texts.render(
            actor_of(query.from_user).locale,
            "answer",
            code="bad_button",
            id=None,
            assignee=None,
            state=None,
        )
        await query.answer(text, show_alert=True)
        return
    if press.scope == "draft":
        await resident.on_draft_press(query, context, press)
    elif press.action in STAFF_ACTIONS:
        await staff.on_ticket_press(query, context, press)
    else:
        await resident.on_ticket_press(query, context, press)


HANDLERS: list[BaseHandler[Update, Context, None]] = [CallbackQueryHandler(on_press)]
