"""Typed application state shared by the factory, handlers and jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.outbox import OutboxSender
from bot.services import Desk


@dataclass
class BotData:
    """Typed application state (context.bot_data). Filled in post_init."""

    settings: Settings | None = None
    desk: Desk | None = None
    sender: OutboxSender | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def require_desk(self) -> Desk:
        if self.desk is None:
            raise RuntimeError("application not initialised")
        return self.desk


Context = CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]
App = Application[ExtBot[int], Context, dict[Any, Any], dict[Any, Any], BotData, Any]
