"""Thin Telegram handlers; each feature module exports HANDLERS."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import Context
from handlers import buttons, chats, intake, resident, staff, updates
from handlers.errors import error_handler

__all__ = ["all_handlers", "error_handler"]


def all_handlers() -> list[tuple[int, list[BaseHandler[Update, Context, None]]]]:
    """(group, handlers): dedupe first, features next, then record the update as handled."""
    features = [
        *resident.HANDLERS,
        *staff.HANDLERS,
        *buttons.HANDLERS,
        *chats.HANDLERS,
        *intake.HANDLERS,
    ]
    return [(-1, updates.BEFORE), (0, features), (1, updates.AFTER)]
