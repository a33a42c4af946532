"""The bot object: PTB's ExtBot, made to survive updates it cannot parse."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram._utils.types import JSONDict
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class DeskBot(ExtBot[None]):
    """PTB parses a getUpdates batch all at once and retries the same batch forever when one
    update is malformed, which would stop the bot for good. Malformed updates are logged
    and replaced by an empty update with the same id, so polling moves past them."""

    async def _post(
        self, endpoint: str, data: JSONDict | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint != "getUpdates" or not isinstance(result, list):
            return result
        return [self._parseable(item) for item in result]

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
