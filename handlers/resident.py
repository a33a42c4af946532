"""Resident commands and buttons: /start, /help, /my, /cancel, the confirm prompt,
cancel and rating buttons."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler

from bot import intake, lifecycle, staffdesk
from bot.callbacks import Press
from bot.context import Context
from bot.transport import keyboard
from handlers import menus
from handlers.common import actor_of, args_text, desk_of, is_group, reply


async def start(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or is_group(chat):
        return
    desk, actor = desk_of(context), actor_of(user)
    answer = await staffdesk.start(desk, actor, args_text(context))
    await reply(update, answer.text)
    if answer.staff:
        await menus.show_staff_menu(context.bot, desk, chat.id, actor.locale)


async def help_command(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    desk = desk_of(context)
    locale = desk.config.locale if is_group(chat) else actor_of(user).locale
    await reply(update, desk.texts.render(locale, "help", hashtags=desk.config.hashtags))


async def my_tickets(update: Update, context: Context) -> None:
    user = update.effective_user
    if user is None:
        return
    answer = await staffdesk.my_tickets(desk_of(context), actor_of(user))
    await reply(update, answer.text)


async def cancel_command(update: Update, context: Context) -> None:
    user = update.effective_user
    if user is None:
        return
    desk, actor = desk_of(context), actor_of(user)
    arg = args_text(context).lstrip("#")
    if not arg.isdigit():
        await reply(update, lifecycle.answer(desk, actor, "cancel_usage"))
        return
    outcome = await lifecycle.cancel(desk, actor, int(arg))
    await reply(update, outcome.answer)


async def on_ticket_press(query: CallbackQuery, context: Context, press: Press) -> None:
    """Cancel and rating buttons: only the reporter's presses count."""
    desk, actor = desk_of(context), actor_of(query.from_user)
    if press.action == "can":
        outcome = await lifecycle.cancel(desk, actor, press.target_id)
        if outcome.ok:
            await _drop_buttons(query)
    else:
        in_private = query.message is not None and not is_group(query.message.chat)
        stars = int(press.arg or 0)
        outcome = await lifecycle.rate(desk, actor, press.target_id, stars, in_private=in_private)
    await query.answer(outcome.answer, show_alert=not outcome.ok)


async def on_draft_press(query: CallbackQuery, context: Context, press: Press) -> None:
    desk, actor = desk_of(context), actor_of(query.from_user)
    result = await intake.press_draft(
        desk, actor.user_id, actor.locale, press.target_id, press.action, press.arg
    )
    await query.answer(result.answer or None, show_alert=not result.ok)
    if result.edit_text is not None:
        await query.edit_message_text(result.edit_text, reply_markup=keyboard(result.edit_buttons))
    elif result.ok:
        await _drop_buttons(query)


async def _drop_buttons(query: CallbackQuery) -> None:
    with contextlib.suppress(BadRequest):  # already edited or too old to edit
        await query.edit_message_reply_markup(reply_markup=None)


HANDLERS: list[BaseHandler[Update, Context, None]] = [
    CommandHandler("start", start),
    CommandHandler("help", help_command),
    CommandHandler("my", my_tickets),
    CommandHandler("cancel", cancel_command),
]
