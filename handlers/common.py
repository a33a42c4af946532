"""Small translations between Telegram objects and the services' dataclasses."""

from __future__ import annotations

from telegram import Chat, Message, Update, User

from bot.context import Context
from bot.intake import Incoming, Trigger
from bot.models import Actor, Attachment, Button
from bot.services import Desk
from bot.texts import normalize_locale
from bot.transport import keyboard

MAX_INPUT = 4096  # Telegram's own message limit; anything longer is not from a real client


def desk_of(context: Context) -> Desk:
    return context.bot_data.require_desk()


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        display_name=user.full_name[:64],
        locale=normalize_locale(user.language_code),
        username=user.username,
    )


def is_group(chat: Chat) -> bool:
    return chat.type in (Chat.GROUP, Chat.SUPERGROUP)


def attachment_of(message: Message) -> Attachment | None:
    if message.photo:
        return Attachment("photo", file_id=message.photo[-1].file_id)
    if message.voice:
        return Attachment("voice", file_id=message.voice.file_id)
    if message.audio:
        return Attachment("voice", file_id=message.audio.file_id)
    if message.location:
        return Attachment(
            "location", latitude=message.location.latitude, longitude=message.location.longitude
        )
    if message.document:
        return Attachment("document", file_id=message.document.file_id)
    return None


def incoming_of(
    update: Update,
    message: Message,
    user: User,
    text: str,
    trigger: Trigger,
    attachment: Attachment | None = None,
    reply_to_ticket: int | None = None,
) -> Incoming:
    """A resident's message as the intake and FAQ services take it."""
    actor = actor_of(user)
    return Incoming(
        update_id=update.update_id,
        user_id=user.id,
        display_name=actor.display_name,
        username=user.username,
        locale=actor.locale,
        chat_id=message.chat_id,
        is_group=is_group(message.chat),
        message_id=message.message_id,
        text=text,
        trigger=trigger,
        attachment=attachment,
        reply_to_ticket=reply_to_ticket,
    )


def text_of(message: Message) -> str:
    return (message.text or message.caption or "")[:MAX_INPUT]


async def reply(update: Update, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
    """Immediate answers to the person who acted (not owed messages: those use the outbox)."""
    message = update.effective_message
    if message is None or not text:
        return
    await message.reply_text(text, reply_markup=keyboard(buttons), do_quote=is_group(message.chat))


def args_text(context: Context) -> str:
    return " ".join(context.args or [])
