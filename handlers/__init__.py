"""Thin Telegram handlers; each feature module exports HANDLERS."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import Context
from handlers import buttons, chats, faq, intake, notices, resident, staff, stats, updates
from handlers.errors import error_handler

__all__ = ["all_handlers", "error_handler"]


def all_handlers() -> list[tuple[int, list[BaseHandler[Update, Context, None]]]]:
    """(group, handlers): features, then record the update as handled."""
    features = [
        *resident.HANDLERS,
        *staff.HANDLERS,
        *stats.HANDLERS,
        *notices.HANDLERS,  # its "n1:" button handler must come before buttons' generic one
        *faq.HANDLERS,
        *buttons.HANDLERS,
        *chats.HANDLERS,
        *intake.HANDLERS,
    ]
    return [(0, features), (1, updates.AFTER)]
