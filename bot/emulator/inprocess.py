"""python-telegram-bot talking to a FakeBotApi in the same process, without HTTP.

``InProcessRequest(api)`` is a ``telegram.request.BaseRequest``: pass it to
``ApplicationBuilder.request()`` / ``.get_updates_request()`` (or ``build_application(settings,
request=...)``) and every Bot API call goes straight into the emulator's method handlers, with
parameters decoded the way its HTTP layer decodes form fields. No socket is opened, so
benchmarks measure the bot rather than the loopback stack; the server need not be started.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.emulator.records import UploadedFile
from bot.emulator.server import FakeBotApi

_FILE_PREFIX = "/file/bot"
_NOT_FOUND = b'{"ok":false,"error_code":404,"description":"Not Found"}'


def _split(url: str) -> tuple[bool, str, str]:
    """(is a file download, token, method or file path) from a Bot API URL."""
    path = urlsplit(url).path
    download = _FILE_PREFIX in path
    marker = _FILE_PREFIX if download else "/bot"
    rest = path[path.index(marker) + len(marker) :]
    token, _, tail = rest.partition("/")
    return download, unquote(token), unquote(tail)


def _form(data: RequestData | None) -> dict[str, Any]:
    """What a multipart/form POST would carry: JSON text for non-strings, files as uploads."""
    if data is None:
        return {}
    raw: dict[str, Any] = dict(data.json_parameters)
    if data.contains_files:
        for name, (filename, content, mime_type) in data.multipart_data.items():
            body = content if isinstance(content, bytes) else content.read()
            raw[name] = UploadedFile(
                field=name, filename=filename, content_type=mime_type, data=body
            )
    return raw


class InProcessRequest(BaseRequest):
    """Serves PTB's requests from ``api`` on the caller's event loop."""

    def __init__(self, api: FakeBotApi, read_timeout: float | None = 5.0) -> None:
        self._api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        return None  # nothing to open: there is no connection pool

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        download, token, target = _split(url)
        if download:
            data = self._api.file_at(token, target)
            return (200, data) if data is not None else (404, _NOT_FOUND)
        # getUpdates passes its long-poll timeout plus the read timeout; the emulator's
        # "timeout" fault holds a call forever, so the limit must be enforced here.
        limit = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        try:
            async with asyncio.timeout(limit):
                code, body = await self._api.call(token, target, _form(request_data))
        except TimeoutError:
            raise TimedOut(f"no answer to {target} within {limit}s") from None
        return code, json.dumps(body, ensure_ascii=False).encode()
