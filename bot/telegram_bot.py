"""The bot object: PTB's ExtBot, made to survive crashes and updates it cannot parse."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram._utils.types import JSONDict
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

UpdateSink = Callable[[list[JSONDict]], Awaitable[list[JSONDict]]]


class DeskBot(ExtBot[int]):  # int: AIORateLimiter's per-call argument
    """Two changes to PTB's polling.

    The Updater asks for the next batch, which confirms the previous one to Telegram,
    before the handlers have run, so a crash would lose a whole batch: each batch is stored
    first (the update sink) and replayed at start. The sink passes on only updates it had
    not stored before, which is how a redelivered update is recognised.

    PTB parses a batch all at once and retries the same batch forever when one update is
    malformed, which would stop the bot for good: malformed updates are logged and replaced
    by an empty update with the same id, so polling moves past them."""

    __slots__ = ("_update_sink",)

    def set_update_sink(self, sink: UpdateSink) -> None:
        with self._unfrozen():
            self._update_sink: UpdateSink | None = sink

    async def _post(
        self, endpoint: str, data: JSONDict | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint != "getUpdates" or not isinstance(result, list):
            return result
        try:
            Update.de_list(result, self)
            batch = result
        except Exception:  # find the malformed ones; rare, so parse again one by one
            batch = [self._parseable(item) for item in result]
        sink = getattr(self, "_update_sink", None)
        if batch and sink is not None:
            batch = await sink(batch)
        return batch

    def _parseable(self, item: Any) -> Any:
        try:
            Update.de_json(item, self)
        except Exception:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                raise  # without an id there is no way past it: let PTB report it
            log.error("skipping malformed update %s: %r", update_id, item, exc_info=True)
            return {"update_id": update_id}
        return item
