"""A fake Telegram Bot API server for end-to-end tests and the local playground.

Point python-telegram-bot at it with ``base_url``/``base_file_url``; script users with the
synchronous ``user_*`` methods and observe what the bot did through ``sent``,
``messages_in()`` and friends. Everything runs on the caller's event loop: scripting
methods mutate state synchronously and wake long-polls, so tests never need to sleep.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.emulator.formatting import (
    EntityParseError,
    UnsupportedParseMode,
    detect_entities,
    format_text,
    strip_text,
    utf16_len,
    utf16_slice,
)
from bot.emulator.records import (
    JSON,
    ApiCall,
    ApiErrorRecord,
    CallbackAnswer,
    ChatMessage,
    FaultKind,
    RateLimits,
    SentMessage,
    UploadedFile,
)

__all__ = [
    "FAKE_BOT_API_KEY",
    "ApiCall",
    "ApiErrorRecord",
    "CallbackAnswer",
    "ChatMessage",
    "FakeBotApi",
    "FaultKind",
    "RateLimits",
    "SentMessage",
    "UploadedFile",
]

_LOGGER = logging.getLogger(__name__)

ChangeHook = Callable[[JSON], Awaitable[None] | None]
Handler = Callable[[str, JSON], Awaitable[Any]]

# Parameters that are plain strings in the Bot API. Everything else arrives JSON-encoded in
# form bodies (PTB json.dumps()es every non-str value), so "123" must stay text for these.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "file_id",
        "photo",
        "voice",
        "document",
        "audio",
        "video",
        "animation",
        "sticker",
        "thumbnail",
        "data",
        "title",
        "description",
        "short_description",
        "name",
        "emoji",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "address",
        "custom_title",
    }
)
_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
)
_FAKE_BYTES = {
    "photo": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00fake-photo\xff\xd9",
    "voice": b"OggS\x00\x02fake-voice",
    "document": b"%PDF-1.4\n% fake document\n%%EOF\n",
}
_TELEGRAM_SERVICE_USER: JSON = {"id": 777000, "is_bot": False, "first_name": "Telegram"}


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


class _Dropped(ConnectionResetError):
    """A "drop" fault: the connection closes without an answer."""


@dataclass(slots=True)
class _Chat:
    info: JSON  # the Chat object embedded in messages
    members: dict[int, str] = field(default_factory=dict)  # user id -> ChatMember status
    messages: dict[int, JSON] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False  # private chats: the user blocked the bot
    reply_keyboard: JSON | None = None  # the custom keyboard the user currently sees

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def is_private(self) -> bool:
        return bool(self.info["type"] == "private")


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    kind: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(slots=True)
class _Fault:
    method: str  # lower-case method name or "*"
    kind: FaultKind
    retry_after: int
    chat_id: int | None
    description: str | None
    remaining: int | None = None  # fail_next: calls left to fail
    probability: float = 0.0  # set_fault_rate
    rng: random.Random | None = None

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or self.chat_id == chat_id


def _coerce(name: str, value: Any) -> Any:
    """Decode one parameter the way the Bot API reads form fields."""
    if isinstance(value, UploadedFile) or not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _strip_reply(message: JSON) -> JSON:
    """Telegram embeds replied-to messages one level deep only."""
    embedded = copy.deepcopy(message)
    embedded.pop("reply_to_message", None)
    return embedded


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


def _media_kind(message: JSON) -> str | None:
    for kind in ("photo", "voice", "document", "location"):
        if kind in message:
            return kind
    return None


def _shorten(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "-"
    text = text.replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class FakeBotApi:
    """An in-process Telegram Bot API server speaking HTTP on 127.0.0.1.

    ``limits`` enables 429 responses when sends exceed Telegram's documented rates
    (``True`` for the defaults, or a :class:`RateLimits`). ``group_privacy`` delivers only
    commands, mentions and replies to the bot from groups, as Telegram does for bots with
    privacy mode on. ``now`` supplies unix time for message dates; ``monotonic`` drives the
    rate limiter, so both can be faked.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "community_desk_bot",
        first_name: str = "社区服务台",
        *,
        limits: bool | RateLimits = False,
        group_privacy: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        routes: Iterable[web.AbstractRouteDef] = (),
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.first_name = first_name
        self.group_privacy = group_privacy
        self.host = host
        self._port = port
        self._now = now
        self._monotonic = monotonic
        self.limits: RateLimits | None = (
            RateLimits() if limits is True else (limits if isinstance(limits, RateLimits) else None)
        )
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": bot_username,
        }

        # Observable state (see the class docstring of each record type).
        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.errors: list[ApiErrorRecord] = []
        self.on_change: list[ChangeHook] = []

        self._users: dict[int, JSON] = {}
        self._chats: dict[int, _Chat] = {}
        self._updates: list[JSON] = []  # queued and not yet confirmed via offset
        self._injected: set[Any] = set()  # update ids from inject_update()
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._callbacks: dict[str, bool] = {}  # callback query id -> answered
        self._next_callback_id = 1
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._next_file = 1
        self._faults: list[_Fault] = []
        self._windows: dict[object, deque[float]] = {}

        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

        self._methods: dict[str, Handler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "logOut": self._ok,
                "close": self._ok,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendVoice": self._send_voice,
                "sendDocument": self._send_document,
                "sendLocation": self._send_location,
                "copyMessage": self._copy_message,
                "forwardMessage": self._forward_message,
                "sendChatAction": self._send_chat_action,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "getChatMemberCount": self._get_chat_member_count,
                "leaveChat": self._leave_chat,
                "getFile": self._get_file,
                # Cosmetic settings the emulator accepts without modelling.
                "setMyDescription": self._ok,
                "setMyShortDescription": self._ok,
                "setMyName": self._ok,
                "setChatMenuButton": self._ok,
                "setMessageReaction": self._ok,
                "pinChatMessage": self._ok,
                "unpinChatMessage": self._ok,
                "unpinAllChatMessages": self._ok,
            }.items()
        }

        # Large client_max_size: uploads arrive in one multipart body (aiohttp's default is 1 MiB).
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app[FAKE_BOT_API_KEY] = self
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self.app.add_routes(list(routes))

    # ------------------------------------------------------------------ lifecycle

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Extra routes (e.g. the playground page) on the same server; only before start()."""
        if self._runner is not None:
            raise RuntimeError("add_routes() must be called before start()")
        self.app.add_routes(list(routes))

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeBotApi already started")
        self._stopping.clear()
        # handler_cancellation: a long-poll or held request whose client went away is
        # cancelled instead of lingering until its timeout.
        runner = web.AppRunner(
            self.app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port)
        await site.start()
        self._runner = runner
        self._bound_port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._stopping.set()  # releases long-polls and "timeout" faults
        self._bump()
        if self._hook_tasks:
            await asyncio.gather(*self._hook_tasks, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``base_url=``; PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``base_file_url=``; PTB appends the token."""
        return f"{self.url}/file/bot"

    # ------------------------------------------------------------------ change notification

    def _bump(self) -> None:
        # A fresh Event per generation instead of asyncio.Condition: the scripting methods
        # are synchronous and cannot acquire a Condition's lock to notify it.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _emit(self, event: JSON) -> None:
        self._bump()
        for hook in list(self.on_change):
            try:
                result = hook(event)
            except Exception:
                _LOGGER.exception("on_change hook failed for %s", event.get("type"))
                continue
            if inspect.isawaitable(result):
                self._schedule_hook(result)

    def _schedule_hook(self, awaitable: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                _LOGGER.exception("async on_change hook failed")
            self._bump()  # waiters may be watching what the hook did

        try:
            task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:  # scripted before any loop runs: nobody can be listening yet
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            return
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    # ------------------------------------------------------------------ HTTP layer

    @staticmethod
    def _respond(code: int, description: str, parameters: JSON | None = None) -> web.Response:
        body: JSON = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code, dumps=_dumps)

    async def _read_params(self, request: web.Request) -> JSON:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise _bad("JSON request body must be an object")
                raw.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = UploadedFile(
                            field=key,
                            # Some clients percent-encode non-ASCII names; httpx sends UTF-8.
                            filename=unquote(value.filename) if value.filename else None,
                            content_type=value.content_type,
                            data=value.file.read(),
                        )
                    else:
                        raw[key] = value
        return {key: _coerce(key, value) for key, value in raw.items()}

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.calls.append(ApiCall(method, {}))
            self.errors.append(ApiErrorRecord(method, 401, "Unauthorized"))
            self._bump()
            return self._respond(401, "Unauthorized")
        try:
            params = await self._read_params(request)
        except _ApiError as error:
            params = {}
            self.calls.append(ApiCall(method, params))
            return self._error(method, error)
        try:
            code, body = await self._call(method, params)
        except _Dropped:
            if request.transport is not None:
                request.transport.close()
            # Nothing is written: the client sees the connection closed mid-request.
            raise asyncio.CancelledError from None
        return web.json_response(body, status=code, dumps=_dumps)

    async def call(self, token: str, method: str, raw: dict[str, Any]) -> tuple[int, JSON]:
        """Answer one Bot API call without HTTP (see bot.emulator.inprocess).

        ``raw`` holds form-style values (non-string parameters JSON-encoded, uploads as
        UploadedFile), decoded exactly as the HTTP layer decodes them. Returns (HTTP status,
        response body). A "drop" fault raises ConnectionResetError; "timeout" holds the call
        until the caller gives up or stop() runs.
        """
        if token != self.token:
            self.calls.append(ApiCall(method, {}))
            return self._failure(method, _ApiError(401, "Unauthorized"))
        return await self._call(method, {key: _coerce(key, value) for key, value in raw.items()})

    def file_at(self, token: str, path: str) -> bytes | None:
        """The bytes a file download URL (``/file/bot<token>/<path>``) serves, if any."""
        stored = self._files_by_path.get(path) if token == self.token else None
        return None if stored is None else stored.data

    async def _call(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Record one decoded call and answer it, whatever the transport."""
        self.calls.append(ApiCall(method, params))
        self._bump()

        key = method.lower()
        fault = self._take_fault(key, params)
        if fault is not None:
            return await self._inject_fault(method, fault)
        handler = self._methods.get(key)
        if handler is None:
            return self._failure(method, _ApiError(404, "Not Found: method not found"))
        try:
            result = await handler(method, params)
        except _ApiError as error:
            return self._failure(method, error)
        return 200, {"ok": True, "result": result}

    def _failure(self, method: str, error: _ApiError) -> tuple[int, JSON]:
        self.errors.append(ApiErrorRecord(method, error.code, error.description))
        self._bump()
        body: JSON = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return error.code, body

    def _error(self, method: str, error: _ApiError) -> web.Response:
        code, body = self._failure(method, error)
        return web.json_response(body, status=code, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._respond(401, "Unauthorized")
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._respond(404, "Not Found")
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        *,
        kind: FaultKind,
        count: int = 1,
        retry_after: int = 1,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` ("*" = any) fail.

        kinds: "retry_after" (429 + parameters.retry_after), "server_error" (500),
        "timeout" (never answered until the client gives up or the server stops), "drop"
        (connection closed without a response), "bad_request" (400), "forbidden" (403).
        ``chat_id`` restricts the fault to calls addressed to that chat.
        """
        self._faults.append(
            _Fault(method.lower(), kind, retry_after, chat_id, description, remaining=count)
        )

    def set_fault_rate(
        self,
        method: str,
        kind: FaultKind,
        probability: float,
        seed: int = 0,
        *,
        retry_after: int = 1,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Fail each call of ``method`` with ``probability``, reproducibly for a given seed.

        Replaces an earlier rate for the same method and kind; probability 0 removes it.
        """
        key = method.lower()
        self._faults = [
            f
            for f in self._faults
            if not (f.remaining is None and (f.method, f.kind) == (key, kind))
        ]
        if probability > 0:
            self._faults.append(
                _Fault(
                    key,
                    kind,
                    retry_after,
                    chat_id,
                    description,
                    probability=probability,
                    rng=random.Random(seed),
                )
            )

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, params: JSON) -> _Fault | None:
        chat_id = params.get("chat_id")
        target = chat_id if isinstance(chat_id, int) and not isinstance(chat_id, bool) else None
        for fault in self._faults:
            if not fault.matches(method, target):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
            if fault.rng is not None and fault.rng.random() < fault.probability:
                return fault
        return None

    async def _inject_fault(self, method: str, fault: _Fault) -> tuple[int, JSON]:
        if fault.kind == "timeout":
            self.errors.append(ApiErrorRecord(method, 0, "request held unanswered (timeout)"))
            self._bump()
            # The client gives up first (its handler is then cancelled); stop() releases
            # anything still held.
            await self._stopping.wait()
            return 504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"}
        if fault.kind == "drop":
            self.errors.append(ApiErrorRecord(method, 0, "connection dropped"))
            self._bump()
            raise _Dropped("connection dropped")
        error = {
            "retry_after": _ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            ),
            "server_error": _ApiError(500, fault.description or "Internal Server Error"),
            "bad_request": _ApiError(400, fault.description or "Bad Request: injected failure"),
            "forbidden": _ApiError(403, fault.description or "Forbidden: injected failure"),
        }[fault.kind]
        return self._failure(method, error)

    # ------------------------------------------------------------------ rate limits

    def _check_rate(self, chat: _Chat | None) -> None:
        if self.limits is None:
            return
        now = self._monotonic()
        windows: list[tuple[object, tuple[int, float]]] = [("overall", self.limits.overall)]
        if chat is not None:
            limit = self.limits.private_chat if chat.is_private else self.limits.group_chat
            windows.append((chat.id, limit))
        retry = 0.0
        for key, (count, period) in windows:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - period:
                window.popleft()
            if len(window) >= count:
                retry = max(retry, window[0] + period - now)
        if retry > 0:
            seconds = max(1, math.ceil(retry))
            raise _ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        for key, _ in windows:
            self._windows[key].append(now)

    # ------------------------------------------------------------------ state helpers

    def _chat(self, chat_id: Any) -> _Chat:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for candidate in self._chats.values():
                if candidate.info.get("username", "").lower() == chat_id[1:].lower():
                    return candidate
            raise _bad("chat not found")
        chat = self._chats.get(_as_int(chat_id, "chat_id"))
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _bot_status(self, chat: _Chat) -> str:
        if chat.is_private:
            return "kicked" if chat.blocked else "member"
        return chat.members.get(self.bot_id, "left")

    def _require_access(self, chat: _Chat) -> None:
        if chat.is_private:
            if chat.blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            return
        status = self._bot_status(chat)
        if status == "kicked":
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat.info['type']} chat")
        if status == "left":
            raise _ApiError(403, f"Forbidden: bot is not a member of the {chat.info['type']} chat")

    def _new_message(self, chat: _Chat, sender: JSON, content: JSON) -> JSON:
        message: JSON = {
            "message_id": chat.next_message_id,
            "from": copy.deepcopy(sender),
            "date": int(self._now()),
            "chat": copy.deepcopy(chat.info),
        }
        message.update(content)
        chat.next_message_id += 1
        chat.messages[message["message_id"]] = message
        return message

    def _queue(self, payload: JSON) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **payload})
        self._bump()
        return update_id

    def _user(self, user_id: int) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}; call add_user() first")
        return user

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> _StoredFile:
        number = self._next_file
        self._next_file += 1
        prefix = {"photo": "AgACAgUAAxkB", "voice": "AwACAgUAAxkB", "document": "BQACAgUAAxkB"}
        file_id = f"{prefix.get(kind, 'CAACAgUAAxkB')}{number:010d}"
        extension = {"photo": "jpg", "voice": "oga", "document": "pdf"}.get(kind, "bin")
        if kind == "document" and file_name and "." in file_name:
            extension = file_name.rsplit(".", 1)[1]
        folder = {"photo": "photos", "voice": "voice", "document": "documents"}.get(kind, "files")
        stored = _StoredFile(
            file_id=file_id,
            file_unique_id=f"AQADBAADr{number:08d}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _media_json(self, stored: _StoredFile, duration: int = 1) -> Any:
        if stored.kind == "photo":
            # Telegram returns several sizes; they all resolve to the uploaded bytes here.
            sizes = []
            for suffix, (width, height) in (("s", (90, 68)), ("m", (320, 240)), ("x", (1280, 960))):
                size_id = stored.file_id if suffix == "x" else f"{stored.file_id}-{suffix}"
                if size_id not in self._files:
                    self._files[size_id] = stored
                sizes.append(
                    {
                        "file_id": size_id,
                        "file_unique_id": f"{stored.file_unique_id}{suffix}",
                        "file_size": len(stored.data),
                        "width": width,
                        "height": height,
                    }
                )
            return sizes
        result: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.mime_type:
            result["mime_type"] = stored.mime_type
        if stored.kind == "voice":
            result["duration"] = duration
        if stored.kind == "document" and stored.file_name:
            result["file_name"] = stored.file_name
        return result

    def _resolve_input_file(self, kind: str, value: Any, params: JSON) -> _StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            return self._store_file(
                kind,
                value.data,
                file_name=value.filename,
                mime_type=value.content_type
                or {"photo": "image/jpeg", "voice": "audio/ogg"}.get(kind),
            )
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]
            if value.startswith(("http://", "https://")):
                return self._store_file(kind, _FAKE_BYTES.get(kind, b"fake"))
        raise _bad("wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------ generic methods

    async def _ok(self, method: str, params: JSON) -> Any:
        return True

    async def _get_me(self, method: str, params: JSON) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_webhook(self, method: str, params: JSON) -> Any:
        self._webhook_url = str(params.get("url") or "")
        if _as_bool(params.get("drop_pending_updates", False)):
            self._drop_pending()
        return True

    async def _delete_webhook(self, method: str, params: JSON) -> Any:
        self._webhook_url = ""
        if _as_bool(params.get("drop_pending_updates", False)):
            self._drop_pending()
        return True

    async def _get_webhook_info(self, method: str, params: JSON) -> Any:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _drop_pending(self) -> None:
        if self._updates:
            self._updates.clear()
            self._bump()

    # ------------------------------------------------------------------ getUpdates

    async def _get_updates(self, method: str, params: JSON) -> Any:
        if self._webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset", 0), "offset")
        limit = min(max(_as_int(params.get("limit", 100), "limit"), 1), 100)
        timeout = max(float(params.get("timeout", 0) or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATE_TYPES

        self._poll_generation += 1
        generation = self._poll_generation
        self._bump()  # an older long-poll must notice it has been superseded
        self._confirm(offset)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._deliverable(limit)
            if batch or self._stopping.is_set():
                break
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            changed = self._changed
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                pass
        if batch:
            self._emit({"type": "updates_fetched", "update_ids": [u["update_id"] for u in batch]})
        return copy.deepcopy(batch)

    def _confirm(self, offset: int) -> None:
        before = len(self._updates)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if len(self._updates) != before:
            self._emit({"type": "updates_confirmed", "pending": len(self._updates)})

    def _deliverable(self, limit: int) -> list[JSON]:
        # Updates of types the bot did not ask for are discarded, as Telegram does; injected
        # ones are always delivered so tests can feed the bot anything, malformed included.
        kept = [
            u
            for u in self._updates
            if _update_type(u) in self._allowed_updates or u.get("update_id") in self._injected
        ]
        if len(kept) != len(self._updates):
            self._updates = kept
            self._bump()
        return kept[:limit]

    # ------------------------------------------------------------------ commands

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not isinstance(scope, dict) or not scope.get("type"):
            return "default"
        parts = [str(scope["type"])]
        for key in ("chat_id", "user_id"):
            if key in scope:
                parts.append(str(scope[key]))
        return ":".join(parts)

    async def _set_my_commands(self, method: str, params: JSON) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            description = command.get("description", "") if isinstance(command, dict) else ""
            if not (1 <= len(name) <= 32) or not all(
                c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in name
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not (1 <= len(description) <= 256):
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = copy.deepcopy(commands)
        self._emit({"type": "commands", "scope": key[0], "language_code": key[1]})
        return True

    async def _get_my_commands(self, method: str, params: JSON) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, method: str, params: JSON) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    @property
    def commands(self) -> dict[tuple[str, str], list[JSON]]:
        """setMyCommands state keyed by (scope, language_code).

        Scopes are "default", "all_private_chats", "chat:<chat_id>",
        "chat_member:<chat_id>:<user_id>", ...; language "" means all languages.
        """
        return self._commands

    # ------------------------------------------------------------------ sending

    def _formatted(
        self, params: JSON, text_key: str, entities_key: str, limit: int, label: str
    ) -> tuple[str, list[JSON]]:
        raw = params.get(text_key)
        text = "" if raw is None else str(raw)
        entities = params.get(entities_key)
        if entities is not None and not isinstance(entities, list):
            raise _bad(f"can't parse {entities_key} JSON object")
        try:
            plain, parsed = format_text(text, params.get("parse_mode"), entities)
        except EntityParseError as error:
            raise _bad(f"can't parse entities: {error}") from None
        except UnsupportedParseMode:
            raise _bad("unsupported parse_mode") from None
        if utf16_len(plain) > limit:
            raise _bad(f"{label} is too long")
        return plain, parsed

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        inline = markup.get("inline_keyboard")
        if inline is None:
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise _bad("can't parse reply keyboard markup JSON object")
            return markup
        if not isinstance(inline, list) or not all(isinstance(row, list) for row in inline):
            raise _bad("can't parse inline keyboard markup JSON object")
        actions = ("callback_data", "url", "switch_inline_query", "web_app", "login_url", "pay")
        for row in inline:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                if not any(key in button for key in actions) and not any(
                    key.startswith(("switch_inline", "copy_text", "callback_game"))
                    for key in button
                ):
                    raise _bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not (1 <= len(str(data).encode()) <= 64):
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                    raise _bad("BUTTON_URL_INVALID")
        return markup

    def _reply_target(self, chat: _Chat, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        allow = _as_bool(params.get("allow_sending_without_reply", False))
        message_id: Any = params.get("reply_to_message_id")
        target_chat = chat
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = _as_bool(reply.get("allow_sending_without_reply", allow))
            if reply.get("chat_id") is not None:
                target_chat = self._chat(reply["chat_id"])
        elif reply is not None:
            raise _bad("can't parse reply parameters JSON object")
        if message_id is None:
            return None
        target = target_chat.messages.get(_as_int(message_id, "message_id"))
        if target is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        return target

    async def _send(
        self,
        method: str,
        params: JSON,
        content: Callable[[_Chat], tuple[JSON, str | None, str | None]],
    ) -> JSON:
        """Shared send path. ``content`` builds (message fields, plain text, media kind).

        Validation happens before the rate check and nothing is stored on failure, so a
        failed call never shows up in ``sent``.
        """
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        fields, plain, media = content(chat)
        self._check_rate(chat)

        if markup is not None and "inline_keyboard" in markup:
            fields["reply_markup"] = copy.deepcopy(markup)
        elif markup is not None:
            # Reply keyboards are not part of Message; remember what the user now sees.
            chat.reply_keyboard = None if markup.get("remove_keyboard") else copy.deepcopy(markup)
        if reply_to is not None:
            fields["reply_to_message"] = _strip_reply(reply_to)
        message = self._new_message(chat, self.bot_user, fields)

        raw_text = params.get("text", params.get("caption"))
        record = SentMessage(
            method=method,
            chat_id=chat.id,
            message_id=message["message_id"],
            text=None if raw_text is None else str(raw_text),
            reply_markup=copy.deepcopy(markup),
            reply_to_message_id=None if reply_to is None else reply_to["message_id"],
            parse_mode=params.get("parse_mode"),
            media=media,
            params=params,
            time=self._now(),
            plain_text=plain,
            message=copy.deepcopy(message),
        )
        self.sent.append(record)
        self._emit({"type": "sent", "chat_id": chat.id, "message": copy.deepcopy(message)})
        return copy.deepcopy(message)

    def _caption_fields(self, params: JSON) -> tuple[JSON, str | None]:
        if params.get("caption") is None:
            return {}, None
        caption, entities = self._formatted(
            params, "caption", "caption_entities", 1024, "message caption"
        )
        fields: JSON = {}
        if caption:
            fields["caption"] = caption
        if entities:
            fields["caption_entities"] = entities
        return fields, caption or None

    async def _send_message(self, method: str, params: JSON) -> Any:
        def content(chat: _Chat) -> tuple[JSON, str | None, str | None]:
            text, entities = self._formatted(params, "text", "entities", 4096, "message")
            if not text:
                raise _bad("message text is empty")
            fields: JSON = {"text": text}
            if entities:
                fields["entities"] = entities
            return fields, text, None

        return await self._send(method, params, content)

    def _media_sender(self, kind: str) -> Handler:
        async def send(method: str, params: JSON) -> Any:
            def content(chat: _Chat) -> tuple[JSON, str | None, str | None]:
                fields, caption = self._caption_fields(params)
                if params.get(kind) is None:
                    raise _bad(f"there is no {kind} in the request")
                stored = self._resolve_input_file(kind, params[kind], params)
                duration = _as_int(params.get("duration", 1), "duration")
                fields[kind] = self._media_json(stored, duration)
                return fields, caption, kind

            return await self._send(method, params, content)

        return send

    async def _send_photo(self, method: str, params: JSON) -> Any:
        return await self._media_sender("photo")(method, params)

    async def _send_voice(self, method: str, params: JSON) -> Any:
        return await self._media_sender("voice")(method, params)

    async def _send_document(self, method: str, params: JSON) -> Any:
        return await self._media_sender("document")(method, params)

    async def _send_location(self, method: str, params: JSON) -> Any:
        def content(chat: _Chat) -> tuple[JSON, str | None, str | None]:
            try:
                latitude = float(params["latitude"])
                longitude = float(params["longitude"])
            except (KeyError, TypeError, ValueError):
                raise _bad("wrong latitude/longitude specified") from None
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise _bad("wrong latitude/longitude specified")
            return {"location": {"latitude": latitude, "longitude": longitude}}, None, "location"

        return await self._send(method, params, content)

    def _source_message(self, params: JSON) -> JSON:
        source_chat = self._chat(params.get("from_chat_id"))
        source = source_chat.messages.get(_as_int(params.get("message_id"), "message_id"))
        if source is None:
            raise _bad("message to copy not found")
        return source

    async def _copy_message(self, method: str, params: JSON) -> Any:
        source = self._source_message(params)

        def content(chat: _Chat) -> tuple[JSON, str | None, str | None]:
            keep = ("text", "entities", "photo", "voice", "document", "location")
            fields = {k: copy.deepcopy(v) for k, v in source.items() if k in keep}
            plain = source.get("text")
            if "caption" in params:
                caption_fields, plain = self._caption_fields(params)
                fields.update(caption_fields)
            elif "caption" in source:
                fields["caption"] = source["caption"]
                if "caption_entities" in source:
                    fields["caption_entities"] = copy.deepcopy(source["caption_entities"])
                plain = source["caption"]
            return fields, plain, _media_kind(source)

        message = await self._send(method, params, content)
        return {"message_id": message["message_id"]}

    async def _forward_message(self, method: str, params: JSON) -> Any:
        source = self._source_message(params)

        def content(chat: _Chat) -> tuple[JSON, str | None, str | None]:
            keep = (
                "text",
                "entities",
                "photo",
                "voice",
                "document",
                "location",
                "caption",
                "caption_entities",
            )
            fields = {k: copy.deepcopy(v) for k, v in source.items() if k in keep}
            fields["forward_origin"] = {
                "type": "user",
                "sender_user": copy.deepcopy(source["from"]),
                "date": source["date"],
            }
            return fields, source.get("text", source.get("caption")), _media_kind(source)

        return await self._send(method, params, content)

    async def _send_chat_action(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        if not params.get("action"):
            raise _bad("wrong parameter action in request")
        self._emit({"type": "chat_action", "chat_id": chat.id, "action": params["action"]})
        return True

    # ------------------------------------------------------------------ editing

    def _editable(self, params: JSON) -> tuple[_Chat, JSON]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")  # inline messages are not modelled
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        message = chat.messages.get(_as_int(params.get("message_id"), "message_id"))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        return chat, message

    def _apply_edit(
        self, method: str, params: JSON, chat: _Chat, message: JSON, fields: JSON
    ) -> JSON:
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        # Omitting reply_markup on an edit removes the inline keyboard, as in Telegram.
        fields["reply_markup"] = markup
        if all(message.get(key) == value for key, value in fields.items()):
            raise _bad(_NOT_MODIFIED)
        self._check_rate(None)  # edits count towards the overall limit only
        for key, value in fields.items():
            if value is None or value == []:
                message.pop(key, None)
            else:
                message[key] = copy.deepcopy(value)
        message["edit_date"] = int(self._now())
        plain = message.get("text", message.get("caption"))
        raw_text = params.get("text", params.get("caption"))
        self.edits.append(
            SentMessage(
                method=method,
                chat_id=chat.id,
                message_id=message["message_id"],
                text=None if raw_text is None else str(raw_text),
                reply_markup=copy.deepcopy(markup),
                reply_to_message_id=message.get("reply_to_message", {}).get("message_id"),
                parse_mode=params.get("parse_mode"),
                media=_media_kind(message),
                params=params,
                time=self._now(),
                plain_text=plain,
                message=copy.deepcopy(message),
            )
        )
        self._emit({"type": "edited", "chat_id": chat.id, "message": copy.deepcopy(message)})
        return copy.deepcopy(message)

    async def _edit_message_text(self, method: str, params: JSON) -> Any:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities", 4096, "message")
        if not text:
            raise _bad("message text is empty")
        return self._apply_edit(
            method, params, chat, message, {"text": text, "entities": entities or None}
        )

    async def _edit_message_caption(self, method: str, params: JSON) -> Any:
        chat, message = self._editable(params)
        if _media_kind(message) in (None, "location"):
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._formatted(
            params, "caption", "caption_entities", 1024, "message caption"
        )
        return self._apply_edit(
            method,
            params,
            chat,
            message,
            {"caption": caption or None, "caption_entities": entities or None},
        )

    async def _edit_message_reply_markup(self, method: str, params: JSON) -> Any:
        chat, message = self._editable(params)
        return self._apply_edit(method, params, chat, message, {})

    async def _delete_message(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        message_id = _as_int(params.get("message_id"), "message_id")
        message = chat.messages.get(message_id)
        if message is None:
            raise _bad("message to delete not found")
        own = message["from"]["id"] == self.bot_id
        if not (own or chat.is_private or self._bot_status(chat) in ("administrator", "creator")):
            raise _bad("message can't be deleted")
        del chat.messages[message_id]
        self._emit({"type": "deleted", "chat_id": chat.id, "message_id": message_id})
        return True

    async def _answer_callback_query(self, method: str, params: JSON) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if self._callbacks.get(query_id, True):  # unknown or already answered
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._callbacks[query_id] = True
        text = params.get("text")
        answer = CallbackAnswer(
            query_id, None if text is None else str(text), _as_bool(params.get("show_alert"))
        )
        self.callback_answers.append(answer)
        self._emit({"type": "callback_answer", **answer._asdict()})
        return True

    # ------------------------------------------------------------------ chats & members

    async def _get_chat(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        return {
            **copy.deepcopy(chat.info),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_json(self, chat: _Chat, user_id: int) -> JSON:
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        status = self._bot_status(chat) if user_id == self.bot_id else None
        if status is None:
            status = "member" if chat.is_private else chat.members.get(user_id, "member")
        member: JSON = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update({"can_be_edited": False, "is_anonymous": False})
            member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _get_chat_member(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        return self._member_json(chat, _as_int(params.get("user_id"), "user_id"))

    async def _get_chat_administrators(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        if chat.is_private:
            raise _bad("there are no administrators in the private chat")
        return [
            self._member_json(chat, user_id)
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    async def _get_chat_member_count(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        if chat.is_private:
            return 2
        return sum(status not in ("left", "kicked") for status in chat.members.values())

    async def _leave_chat(self, method: str, params: JSON) -> Any:
        chat = self._chat(params.get("chat_id"))
        self._require_access(chat)
        if chat.is_private:
            raise _bad("chat member status can't be changed in private chats")
        self._change_bot_status(chat, "left", self.bot_user)
        return True

    async def _get_file(self, method: str, params: JSON) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": str(params["file_id"]),
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ scripting: setup

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> JSON:
        """Register a Telegram user (and their private chat with the bot); returns the User."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat_info: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat_info["last_name"] = last_name
        if username:
            user["username"] = chat_info["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = _Chat(info=chat_info)
        else:
            chat.info = chat_info
        self._emit({"type": "user_added", "user": copy.deepcopy(user)})
        return copy.deepcopy(user)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        bot_is_member: bool = True,
        username: str | None = None,
    ) -> JSON:
        """Register a supergroup (ids are negative, -100…); returns the Chat."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative, e.g. -1001234567890")
        info: JSON = {"id": chat_id, "type": "supergroup", "title": title}
        if username:
            info["username"] = username
        chat = self._chats.setdefault(chat_id, _Chat(info=info))
        chat.info = info
        chat.members[self.bot_id] = "member" if bot_is_member else "left"
        self._emit({"type": "group_added", "chat": copy.deepcopy(info)})
        return copy.deepcopy(info)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Set a user's (or the bot's) ChatMember status in a group.

        One of "creator", "administrator", "member", "left", "kicked". Unset users are
        "member". Changing the bot's status here does not queue a my_chat_member update.
        """
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(f"unsupported status {status!r}")
        chat = self._group(chat_id)
        if user_id != self.bot_id:
            self._user(user_id)
        chat.members[user_id] = status
        self._bump()

    def _group(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.is_private:
            raise ValueError(f"unknown group {chat_id}; call add_group() first")
        return chat

    # ------------------------------------------------------------------ scripting: users act

    def user_sends(
        self,
        user_id: int,
        chat_id: int | None = None,
        text: str | None = None,
        *,
        photo: bool | bytes = False,
        voice: bool = False,
        location: tuple[float, float] | None = None,
        document: bool = False,
        reply_to_message_id: int | None = None,
        caption: str | None = None,
    ) -> JSON:
        """The user posts a message; returns the Message as the bot will receive it.

        ``chat_id=None`` is the user's private chat with the bot. Entities (commands,
        mentions, hashtags, URLs) are detected like Telegram does, in UTF-16 units.
        ``photo`` may be the image bytes (the playground's uploads) instead of ``True``.
        """
        user = self._user(user_id)
        chat = self._chats.get(user_id if chat_id is None else chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        if chat.is_private and chat.id != user_id:
            raise ValueError("a user can only write in their own private chat with the bot")
        if chat.is_private and chat.blocked:
            self.user_unblocks_bot(user_id)  # clients make the user unblock before writing
        fields: JSON = {}
        if text is not None:
            plain, entities = strip_text(text, detect_entities(text))
            if not plain:
                raise ValueError("Telegram does not deliver empty messages")
            fields["text"] = plain
            if entities:
                fields["entities"] = entities
        files = (("photo", photo, None), ("voice", voice, "audio/ogg"))
        for kind, wanted, mime in files:
            if wanted:
                data = wanted if isinstance(wanted, bytes) else _FAKE_BYTES[kind]
                stored = self._store_file(kind, data, mime_type=mime)
                fields[kind] = self._media_json(stored)
        if document:
            stored = self._store_file(
                "document",
                _FAKE_BYTES["document"],
                file_name="document.pdf",
                mime_type="application/pdf",
            )
            fields["document"] = self._media_json(stored)
        if location is not None:
            fields["location"] = {"latitude": location[0], "longitude": location[1]}
        if caption is not None:
            if _media_kind(fields) in (None, "location"):
                raise ValueError("a caption needs photo, voice or document")
            plain_caption, caption_entities = strip_text(caption, detect_entities(caption))
            fields["caption"] = plain_caption
            if caption_entities:
                fields["caption_entities"] = caption_entities
        kinds = [kind for kind in ("photo", "voice", "document", "location") if kind in fields]
        if len(kinds) > 1:
            raise ValueError(f"one message carries one attachment, got {kinds}")
        if "text" in fields and kinds:
            raise ValueError("use caption= for text that goes with an attachment")
        if not fields:
            raise ValueError("nothing to send: pass text, photo, voice, document or location")
        if reply_to_message_id is not None:
            target = chat.messages.get(reply_to_message_id)
            if target is None:
                raise ValueError(f"message {reply_to_message_id} not found in chat {chat.id}")
            fields["reply_to_message"] = _strip_reply(target)
        if not chat.is_private:
            chat.members.setdefault(user_id, "member")

        message = self._new_message(chat, user, fields)
        self._emit({"type": "user_message", "chat_id": chat.id, "message": copy.deepcopy(message)})
        if self._delivers(chat, message):
            self._queue({"message": copy.deepcopy(message)})
        return copy.deepcopy(message)

    def _delivers(self, chat: _Chat, message: JSON) -> bool:
        if chat.is_private:
            return True
        status = self._bot_status(chat)
        if status in ("left", "kicked"):
            return False
        if not self.group_privacy or status in ("administrator", "creator"):
            return True
        reply = message.get("reply_to_message")
        if reply is not None and reply["from"]["id"] == self.bot_id:
            return True
        text = str(message.get("text", message.get("caption", "")))
        entities: list[JSON] = message.get("entities") or message.get("caption_entities") or []
        for entity in entities:
            covered = utf16_slice(text, entity["offset"], entity["length"])
            if entity["type"] == "mention" and covered.lower() == f"@{self.bot_username}".lower():
                return True
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                target = covered.partition("@")[2]
                if not target or target.lower() == self.bot_username.lower():
                    return True
        return False

    def user_starts(self, user_id: int, payload: str | None = None) -> JSON:
        """The user opens the bot (optionally via a t.me/<bot>?start=<payload> link)."""
        return self.user_sends(user_id, None, "/start" if payload is None else f"/start {payload}")

    def user_presses(
        self, user_id: int, message_id: int, chat_id: int, data: str, *, strict: bool = False
    ) -> str:
        """The user taps an inline button; returns the callback query id.

        Any ``data`` is accepted by default, which also models a stale client pressing a
        button that has since been edited away. ``strict=True`` requires a button with
        that data on the message right now (beware: the bot may not have edited it yet).
        """
        user = self._user(user_id)
        chat = self._chats.get(chat_id)
        message = None if chat is None else chat.messages.get(message_id)
        if chat is None or message is None:
            raise ValueError(f"message {message_id} not found in chat {chat_id}")
        if message["from"]["id"] != self.bot_id:
            raise ValueError("only bot messages carry inline keyboards")
        if strict:
            offered = [
                button.get("callback_data")
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
            ]
            if data not in offered:
                raise ValueError(f"no button with callback_data {data!r}; offered: {offered}")
        query_id = f"{self.bot_id}{self._next_callback_id:08d}"
        self._next_callback_id += 1
        self._callbacks[query_id] = False
        query: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(hash((self.bot_id, chat_id))) % 10**18),
            "data": data,
        }
        self._emit({"type": "callback_query", "chat_id": chat_id, "query": copy.deepcopy(query)})
        self._queue({"callback_query": query})
        return query_id

    def user_presses_button(
        self, user_id: int, chat_id: int, label: str, *, message_id: int | None = None
    ) -> str:
        """Tap the inline button labelled ``label`` on the newest bot message showing it."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        if message_id is not None:
            candidates = [chat.messages[message_id]] if message_id in chat.messages else []
        else:
            candidates = sorted(chat.messages.values(), key=lambda m: -int(m["message_id"]))
        labels: list[str] = []
        for message in candidates:
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    labels.append(str(button.get("text")))
                    if button.get("text") == label and "callback_data" in button:
                        return self.user_presses(
                            user_id,
                            message["message_id"],
                            chat_id,
                            button["callback_data"],
                            strict=True,
                        )
        raise ValueError(f"no callback button labelled {label!r}; visible buttons: {labels}")

    def inject_update(self, raw: JSON) -> int:
        """Queue any raw update (even a malformed one); returns its update_id."""
        update = copy.deepcopy(raw)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        update_id = int(update["update_id"])
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._updates.append(update)
        self._injected.add(update_id)
        self._emit({"type": "update_injected", "update_id": update_id})
        return update_id

    # ------------------------------------------------------------------ scripting: membership

    def _change_bot_status(self, chat: _Chat, status: str, actor: JSON) -> None:
        old = self._member_json(chat, self.bot_id)
        if chat.is_private:
            chat.blocked = status == "kicked"
        else:
            chat.members[self.bot_id] = status
        new = self._member_json(chat, self.bot_id)
        self._emit({"type": "bot_status", "chat_id": chat.id, "status": status})
        self._queue(
            {
                "my_chat_member": {
                    "chat": copy.deepcopy(chat.info),
                    "from": copy.deepcopy(actor),
                    "date": int(self._now()),
                    "old_chat_member": old,
                    "new_chat_member": new,
                }
            }
        )

    def _actor(self, chat: _Chat, user_id: int | None) -> JSON:
        if user_id is not None:
            return self._user(user_id)
        for member_id, status in chat.members.items():
            if status in ("creator", "administrator") and member_id in self._users:
                return self._users[member_id]
        return _TELEGRAM_SERVICE_USER

    def bot_removed_from(
        self, chat_id: int, *, kicked: bool = True, by_user_id: int | None = None
    ) -> None:
        """The bot is removed from a group: queues my_chat_member, later sends get 403."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        if chat.is_private:
            self.user_blocks_bot(chat_id)
            return
        self._change_bot_status(chat, "kicked" if kicked else "left", self._actor(chat, by_user_id))

    def bot_added_to(
        self, chat_id: int, *, by_user_id: int | None = None, as_admin: bool = False
    ) -> None:
        """The bot is (re-)added to a group: queues my_chat_member."""
        chat = self._group(chat_id)
        status = "administrator" if as_admin else "member"
        self._change_bot_status(chat, status, self._actor(chat, by_user_id))

    def user_blocks_bot(self, user_id: int) -> None:
        chat = self._chats.get(user_id)
        if chat is None:
            raise ValueError(f"unknown user {user_id}")
        if not chat.blocked:
            self._change_bot_status(chat, "kicked", self._user(user_id))

    def user_unblocks_bot(self, user_id: int) -> None:
        chat = self._chats.get(user_id)
        if chat is None:
            raise ValueError(f"unknown user {user_id}")
        if chat.blocked:
            self._change_bot_status(chat, "member", self._user(user_id))

    # ------------------------------------------------------------------ observing

    def messages_in(self, chat_id: int) -> list[ChatMessage]:
        """Current messages of a chat, oldest first, from users and the bot alike."""
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        return [
            ChatMessage(
                message_id=m["message_id"],
                chat_id=chat.id,
                from_bot=m["from"]["id"] == self.bot_id,
                user_id=m["from"]["id"],
                text=m.get("text", m.get("caption")),
                reply_markup=copy.deepcopy(m.get("reply_markup")),
                reply_to_message_id=m.get("reply_to_message", {}).get("message_id"),
                media=_media_kind(m),
                edited="edit_date" in m,
                raw=copy.deepcopy(m),
            )
            for _, m in sorted(chat.messages.items())
        ]

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The custom (reply) keyboard the bot last showed in the chat, if not removed."""
        chat = self._chats.get(chat_id)
        return None if chat is None else copy.deepcopy(chat.reply_keyboard)

    def snapshot(self) -> JSON:
        """Everything a client UI needs to draw the chats (the playground's page).

        Users and chats in creation order; messages as Message JSON objects (edits
        applied, deleted ones gone), oldest first.
        """
        return {
            "bot": copy.deepcopy(self.bot_user),
            "users": [copy.deepcopy(user) for user in self._users.values()],
            "chats": [
                {
                    "chat": copy.deepcopy(chat.info),
                    "blocked": chat.blocked,
                    "bot_status": self._bot_status(chat),
                    "messages": [copy.deepcopy(m) for _, m in sorted(chat.messages.items())],
                }
                for chat in self._chats.values()
            ],
        }

    def file_data(self, file_id: str) -> bytes | None:
        """The bytes behind a file_id (uploaded by the bot or sent by a user)."""
        stored = self._files.get(file_id)
        return None if stored is None else stored.data

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [record for record in self.sent if record.chat_id == chat_id]

    def calls_to(self, method: str) -> list[JSON]:
        """Parameters of every call of ``method`` (case-insensitive), failed ones included."""
        return [call.params for call in self.calls if call.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[JSON]:
        """Queued updates not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._updates)

    def describe(self, last: int = 15) -> str:
        """A human summary of recent traffic, used in wait_for() failures."""
        lines = [f"sent {len(self.sent)} message(s); last {min(last, len(self.sent))}:"]
        for record in self.sent[-last:]:
            buttons = f" buttons={record.button_texts}" if record.buttons else ""
            lines.append(
                f"  {record.method} chat={record.chat_id} id={record.message_id}: "
                f"{_shorten(record.plain_text)!s}{buttons}"
            )
        if self.errors:
            lines.append(f"errors returned ({len(self.errors)}), last {min(10, len(self.errors))}:")
            lines.extend(f"  {e.method} {e.error_code} {e.description}" for e in self.errors[-10:])
        runs: list[list[Any]] = []  # collapse long-poll streaks: getUpdates×6
        for call in self.calls[-50:]:
            if runs and runs[-1][0] == call.method:
                runs[-1][1] += 1
            else:
                runs.append([call.method, 1])
        recent = [f"{name}×{count}" if count > 1 else name for name, count in runs[-last:]]
        lines.append(f"last calls: {', '.join(recent) or '-'}")
        pending = [_update_type(u) for u in self._updates]
        lines.append(
            f"updates queued so far: {self._next_update_id - 1}; "
            f"not yet confirmed by the bot: {pending or 'none'}"
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the test-facing API; raises AssertionError
        *,
        what: str | None = None,
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking after every API call or update.

        Only server-side changes wake the check; a predicate on other state (a database,
        say) is still re-evaluated whenever the bot talks to the API.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                label = what or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {label}\n{self.describe()}"
                )
            changed = self._changed  # taken right after the check: no update can slip by
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                pass

    async def wait_sent(
        self,
        count_or_predicate: int | Callable[[SentMessage], bool] = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        chat_id: int | None = None,
        start: int = 0,
    ) -> list[SentMessage]:
        """Wait for sends among ``sent[start:]`` (optionally only to ``chat_id``).

        An int waits until at least that many exist and returns them all; a predicate
        waits until one matches and returns the matching ones. Use
        ``start=len(api.sent)`` taken before an action to only look at newer sends.
        """

        def selected() -> list[SentMessage]:
            records = self.sent[start:]
            if chat_id is not None:
                records = [r for r in records if r.chat_id == chat_id]
            if isinstance(count_or_predicate, int):
                return records
            return [r for r in records if count_or_predicate(r)]

        if isinstance(count_or_predicate, int):
            needed = count_or_predicate
            what = f"{needed} sent message(s)" + (f" to chat {chat_id}" if chat_id else "")
        else:
            needed = 1
            what = f"a sent message matching {getattr(count_or_predicate, '__name__', 'it')}"
        await self.wait_for(lambda: len(selected()) >= needed, timeout, what=what)
        return selected()

    async def wait_until_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every queued update has been fetched and confirmed by the bot.

        Confirmation means a later getUpdates carried an offset past the update. PTB's
        Updater requests the next batch as soon as it has put the previous one into
        ``Application.update_queue``, *before* handlers run, so this guarantees the bot
        has received the updates, not that their handlers have finished. Wait for the
        handlers' visible effects (``wait_sent`` / ``wait_for``) for that.
        """
        await self.wait_for(
            lambda: not self._updates, timeout, what="the bot to confirm all updates"
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


FAKE_BOT_API_KEY: web.AppKey[FakeBotApi] = web.AppKey("fake_bot_api", FakeBotApi)
"""``app[FAKE_BOT_API_KEY]`` gives playground routes access to the emulator."""
