"""/faq: list the community's common questions or answer one; the "ask a person" button
under an FAQ reply (dispatched here from handlers/notices.py's "n1:" handler)."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler

from bot import faq
from bot.context import Context
from bot.intake import Trigger
from handlers.common import actor_of, args_text, desk_of, incoming_of, is_group, reply


async def faq_command(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    desk, actor = desk_of(context), actor_of(user)
    question = args_text(context).strip()
    if not question:
        locale = desk.config.locale if is_group(message.chat) else actor.locale
        await reply(update, faq.listing(desk, locale))
        return
    incoming = incoming_of(update, message, user, question, Trigger.COMMAND)
    await faq.respond(desk, incoming, force=True)


async def on_ask(query: CallbackQuery, context: Context, draft_id: int) -> None:
    result = await faq.ask_person(desk_of(context), actor_of(query.from_user), draft_id)
    await query.answer(result.answer, show_alert=not result.ok)
    if result.ok:
        with contextlib.suppress(BadRequest):  # already edited or too old to edit
            await query.edit_message_reply_markup(reply_markup=None)


HANDLERS: list[BaseHandler[Update, Context, None]] = [CommandHandler("faq", faq_command)]
