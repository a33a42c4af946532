"""The outbox's Telegram adapter: turns an Outgoing into a Bot API call and Telegram's
errors into the sender's retry / give-up decisions."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bot.models import Attachment, Button, Outgoing
from bot.outbox import Rejected, RetryLater, Transient, Unreachable

_UNREACHABLE_400 = ("chat not found", "user not found", "bot was kicked", "not enough rights")


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in rows
        ]
    )


def _media(attachment: Attachment) -> str | InputFile:
    """A Telegram file id, or a local file (e.g. a digest chart) uploaded as bytes."""
    if attachment.path is None:
        return attachment.file_id or ""
    path = Path(attachment.path)
    try:
        return InputFile(path.read_bytes(), filename=path.name)
    except OSError as exc:  # gone since it was queued: sending again would not help
        raise Rejected(f"cannot read {path.name}: {exc}") from exc


def retry_seconds(error: RetryAfter) -> float:
    # PTB 22 warns when retry_after is read as an int; we accept either form.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramTransport:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(self, message: Outgoing) -> int | None:
        try:
            sent = await self._send(message)
        except RetryAfter as exc:
            raise RetryLater(retry_seconds(exc)) from exc
        except Forbidden as exc:
            raise Unreachable(exc.message) from exc
        except BadRequest as exc:
            if any(marker in exc.message.lower() for marker in _UNREACHABLE_400):
                raise Unreachable(exc.message) from exc
            raise Rejected(exc.message) from exc
        except (TimedOut, NetworkError) as exc:  # TimedOut is a NetworkError; both retry
            raise Transient(str(exc)) from exc
        return sent.message_id

    async def _send(self, message: Outgoing) -> Message:
        markup = keyboard(message.buttons)
        reply = (
            None
            if message.reply_to_message_id is None
            else ReplyParameters(message.reply_to_message_id, allow_sending_without_reply=True)
        )
        attachment = message.attachment
        chat = message.chat_id
        caption = message.text or None
        if attachment is None:
            return await self._bot.send_message(
                chat, message.text, reply_markup=markup, reply_parameters=reply
            )
        if attachment.kind == "location":
            return await self._bot.send_location(
                chat,
                latitude=attachment.latitude,
                longitude=attachment.longitude,
                reply_markup=markup,
                reply_parameters=reply,
            )
        options: dict[str, Any] = {
            "caption": caption,
            "reply_markup": markup,
            "reply_parameters": reply,
        }
        if attachment.kind == "photo":
            return await self._bot.send_photo(chat, _media(attachment), **options)
        if attachment.kind == "voice":
            return await self._bot.send_voice(chat, _media(attachment), **options)
        return await self._bot.send_document(chat, _media(attachment), **options)
