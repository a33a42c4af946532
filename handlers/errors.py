"""The one error handler: log with context, tell the person something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError

from bot.context import Context
from bot.texts import normalize_locale

log = logging.getLogger(__name__)


async def error_handler(update: object, context: Context) -> None:
    error = context.error
    if isinstance(error, Forbidden | NetworkError):
        # Blocked by the user or a network hiccup while answering directly: nothing to tell.
        log.warning("telegram error while handling an update: %s", error)
        return
    log.error("unhandled error for update %r", update, exc_info=error)
    if not isinstance(update, Update) or context.bot_data.desk is None:
        return
    user = update.effective_user
    text = context.bot_data.desk.texts.render(
        normalize_locale(user.language_code if user else None),
        "answer",
        code="internal_error",
        id=None,
        assignee=None,
        state=None,
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except Exception:  # the error path must never raise
        log.exception("could not tell the user about the error")
