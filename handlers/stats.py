"""/stats [period], /export [period] and /demand [period]: staff and supervisors only
(the services check), and only in a private chat or the staff group, since the figures
name staff members and the export holds residents' details."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot import export, stats
from bot.context import Context
from handlers.common import actor_of, args_text, desk_of, is_group, reply


def _private_enough(update: Update, context: Context) -> bool:
    chat = update.effective_chat
    return chat is not None and (
        not is_group(chat) or chat.id == desk_of(context).config.staff_chat
    )


async def _refuse_in_public(update: Update, context: Context) -> bool:
    """True (after saying why) when the command came from a residents' group."""
    if _private_enough(update, context) or update.effective_user is None:
        return False
    actor = actor_of(update.effective_user)
    await reply(update, stats.refusal(desk_of(context), actor, "private_only").text)
    return True


async def stats_command(update: Update, context: Context) -> None:
    if update.effective_user is None or await _refuse_in_public(update, context):
        return
    answer = await stats.stats_report(
        desk_of(context), actor_of(update.effective_user), args_text(context)
    )
    await reply(update, answer.text)


async def demand_command(update: Update, context: Context) -> None:
    if update.effective_user is None or await _refuse_in_public(update, context):
        return
    answer = await stats.demand_report(
        desk_of(context), actor_of(update.effective_user), args_text(context)
    )
    await reply(update, answer.text)


async def export_command(update: Update, context: Context) -> None:
    message = update.effective_message
    if update.effective_user is None or message is None:
        return
    if await _refuse_in_public(update, context):
        return
    result = await export.export_command(
        desk_of(context), actor_of(update.effective_user), args_text(context)
    )
    if result.data is None:
        await reply(update, result.text)
        return
    await message.reply_document(
        InputFile(result.data, filename=result.filename), caption=result.text
    )


HANDLERS: list[BaseHandler[Update, Context, None]] = [
    CommandHandler("stats", stats_command),
    CommandHandler("export", export_command),
    CommandHandler("demand", demand_command),
]
