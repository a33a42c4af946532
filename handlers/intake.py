"""Resident messages: /report, group triggers (mention, reply, hashtag, plain text when
privacy mode is off) and everything sent in a private chat."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import faq, intake, lifecycle
from bot.context import Context
from bot.intake import Trigger
from handlers import notices
from handlers.common import (
    actor_of,
    attachment_of,
    desk_of,
    incoming_of,
    is_group,
    reply,
    text_of,
)

MEDIA = filters.PHOTO | filters.VOICE | filters.AUDIO | filters.LOCATION | filters.Document.ALL


def _entity_values(message: Message, kind: str) -> list[str]:
    return [
        *message.parse_entities([kind]).values(),
        *message.parse_caption_entities([kind]).values(),
    ]


def _from_bot(message: Message | None, context: Context) -> bool:
    return (
        message is not None
        and message.from_user is not None
        and message.from_user.id == context.bot.id
    )


def _group_trigger(message: Message, context: Context) -> tuple[Trigger, str]:
    """Which way a group message reached us, and its text without the trigger itself."""
    text = text_of(message)
    username = f"@{context.bot.username}".lower()
    for value in _entity_values(message, MessageEntity.MENTION):
        if value.lower() == username:
            return Trigger.MENTION, text.replace(value, " ").strip()
    if _from_bot(message.reply_to_message, context):
        return Trigger.REPLY, text
    tags = {t.lower() for t in desk_of(context).config.hashtags}
    for value in _entity_values(message, MessageEntity.HASHTAG):
        if value.lower() in tags:
            return Trigger.HASHTAG, text.replace(value, " ").strip()
    return Trigger.PLAIN, text


async def _submit(update: Update, context: Context, trigger: Trigger, text: str) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    desk = desk_of(context)
    replied = message.reply_to_message
    reply_ticket = None
    if replied is not None and _from_bot(replied, context):
        reply_ticket = await intake.ticket_for_reply(desk, message.chat_id, replied.message_id)
    incoming = incoming_of(
        update, message, user, text, trigger, attachment_of(message), reply_ticket
    )
    # A question the FAQ answers (or a health question it offers a person for) is not filed.
    if reply_ticket is None and incoming.attachment is None and await faq.respond(desk, incoming):
        return
    await intake.submit(desk, incoming)


def _community_chat(update: Update, context: Context) -> bool:
    chat = update.effective_chat
    config = desk_of(context).config
    return chat is not None and (not config.group_chats or chat.id in config.group_chats)


async def _pending(update: Update, context: Context) -> bool:
    """A staff member's result note or a resident's rating comment, if one was asked for."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return False
    desk = desk_of(context)
    photo = attachment_of(message)
    outcome = await lifecycle.pending_input(desk, actor_of(user), text_of(message).strip(), photo)
    if outcome is None:
        return False
    await reply(update, outcome.answer)
    return True


async def report_command(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is None or (is_group(chat) and not _community_chat(update, context)):
        return
    text = " ".join(context.args or [])
    trigger = Trigger.COMMAND if is_group(chat) else Trigger.PRIVATE
    await _submit(update, context, trigger, text)


async def group_message(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is None:
        return
    if message.chat_id == desk_of(context).config.staff_chat:
        await _pending(update, context)  # staff reply with a result note; nothing else here
        return
    if not _community_chat(update, context):
        return
    if await _pending(update, context):
        return
    trigger, text = _group_trigger(message, context)
    await _submit(update, context, trigger, text)


async def private_message(update: Update, context: Context) -> None:
    if await _pending(update, context):
        return
    if await notices.draft_input(update, context):  # a staff member writing a /notice
        return
    message = update.effective_message
    assert message is not None
    await _submit(update, context, Trigger.PRIVATE, text_of(message))


async def private_other(update: Update, context: Context) -> None:
    """Stickers, contacts, polls…: explain what the bot can take."""
    user = update.effective_user
    if user is None:
        return
    desk = desk_of(context)
    await reply(
        update,
        desk.texts.render(
            actor_of(user).locale, "intake_reply", code="unsupported", hashtags=desk.config.hashtags
        ),
    )


HANDLERS: list[BaseHandler[Update, Context, None]] = [
    CommandHandler("report", report_command),
    MessageHandler(
        filters.ChatType.GROUPS & (filters.TEXT | filters.CAPTION | MEDIA) & ~filters.COMMAND,
        group_message,
    ),
    MessageHandler(
        filters.ChatType.PRIVATE & (filters.TEXT | MEDIA) & ~filters.COMMAND, private_message
    ),
    MessageHandler(
        filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, private_other
    ),
]
