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
    malformed, which would stop the bot for good: then the batch is parsed one by one and
    each malformed update is logged and replaced by an empty update with the same id, so
    polling moves past it."""

    __slots__ = ("_fetched", "_update_sink")

    def set_update_sink(self, sink: UpdateSink) -> None:
        with self._unfrozen():
            self._update_sink: UpdateSink | None = sink
            self._fetched: list[JSONDict] | None = None

    async def _post(
        self, endpoint: str, data: JSONDict | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint != "getUpdates" or not isinstance(result, list):
            return result
        sink = getattr(self, "_update_sink", None)
        if result and sink is not None:
            result = await sink(result)
        with self._unfrozen():
            self._fetched = result  # for get_updates, should PTB fail to parse it
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        with self._unfrozen():
            self._fetched = None
        try:
            return await super().get_updates(*args, **kwargs)
        except Exception:
            fetched = getattr(self, "_fetched", None)
            if fetched is None:
                raise  # the request failed, not the parsing
        updates = tuple(self.parse_update(item) for item in fetched)
        for update in updates:
            self.insert_callback_data(update)
        return updates

    def parse_update(self, item: Any) -> Update:
        """An update from its JSON; a malformed one becomes an empty update (logged)."""
        try:
            return Update.de_json(item, self)
        except Exception:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                raise  # without an id there is no way past it: let PTB report it
            log.error("skipping malformed update %s: %r", update_id, item, exc_info=True)
            return Update(update_id)
