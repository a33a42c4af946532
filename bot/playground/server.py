"""The playground: the real bot application against the in-repo Bot API emulator, plus a
small web page (served by the same aiohttp server) that lets a person act as any resident
or staff member. Nothing here talks to Telegram or leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from bot import scheduler
from bot.app import build_application
from bot.clock import OffsetClock
from bot.config import CommunityConfig, OutboxSettings, Settings
from bot.context import App
from bot.emulator import FakeBotApi
from bot.texts import default_texts

log = logging.getLogger(__name__)

JSON = dict[str, Any]
STATIC_DIR = Path(__file__).parent / "static"

# Demo residents (proper names, not text the bot says): two Chinese speakers and one
# English speaker, so both locales show up. Ids stay clear of the config's staff ids.
DEMO_RESIDENTS: tuple[tuple[int, str, str], ...] = (
    (1001, "张阿姨", "zh-hans"),
    (1002, "老刘", "zh-hans"),
    (1003, "Ms. Li", "en"),
)
# Used when the config names no chats ([community] group_chats empty / no staff_chat).
DEFAULT_GROUP = -1001000000001
DEFAULT_STAFF_GROUP = -1001000000002
# Staff without a telegram_id get a stand-in account (they still need `/invite <key>`).
UNLINKED_STAFF_BASE = 910000
SAMPLE_LOCATION = (31.2304, 121.4737)
MAX_UPLOAD = 10 * 1024 * 1024  # Telegram's photo limit
MAX_ADVANCE = dt.timedelta(days=31)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
_QUEUE_LIMIT = 1000  # events buffered per page; a page that falls behind reconnects
_KEEPALIVE_SECONDS = 15.0
_RASTER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_STATIC_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


class BadInput(Exception):
    """A request from the page that cannot be carried out (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    name: str
    kind: Literal["resident", "staff"]
    role: str
    locale: str
    staff_key: str | None = None


@dataclass(frozen=True, slots=True)
class ChatView:
    chat_id: int
    kind: Literal["residents", "staff", "private"]
    title: str


def image_type(data: bytes) -> str | None:
    """The MIME type of a PNG/JPEG/GIF/WebP image, None for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _RASTER_MAGIC if data.startswith(magic)), None)


def demo_people(community: CommunityConfig) -> list[Person]:
    staff_ids = {member.telegram_id for member in community.staff}
    people = [
        Person(user_id, name, "resident", "", locale)
        for user_id, name, locale in DEMO_RESIDENTS
        if user_id not in staff_ids
    ]
    for index, member in enumerate(community.staff):
        user_id = member.telegram_id or UNLINKED_STAFF_BASE + index
        people.append(Person(user_id, member.name, "staff", member.role, "zh-hans", member.key))
    return people


class Playground:
    """Emulator + real application + page, started and stopped together."""

    def __init__(
        self,
        community: CommunityConfig,
        db_path: Path,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        outbox: OutboxSettings | None = None,
        clock: OffsetClock | None = None,
    ) -> None:
        self.community = community
        self.db_path = db_path
        self.clock = clock or OffsetClock()
        self.outbox = outbox or OutboxSettings(poll_interval=0.5)
        self.people = demo_people(community)
        self.chats = self._chat_views()
        self.api = FakeBotApi(host=host, port=port, now=lambda: self.clock.now().timestamp())
        self.api.add_routes(self._routes())
        self.api.on_change.append(self._on_emulator_change)
        self.app: App | None = None
        self._static = {
            path.name: path.read_bytes() for path in STATIC_DIR.iterdir() if path.is_file()
        }
        self._listeners: set[asyncio.Queue[tuple[str, JSON] | None]] = set()
        self._presses: dict[str, int] = {}  # callback query id -> who pressed
        self._force_replies: set[tuple[int, int]] = set()  # (chat, message) with force_reply

    # ------------------------------------------------------------------ set-up

    def _chat_views(self) -> list[ChatView]:
        config = self.community
        texts = default_texts()

        def title(kind: str) -> str:
            label = texts.render(config.locale, "label", kind="playground", name=kind)
            return f"{config.name} · {label}"

        groups = config.group_chats or (DEFAULT_GROUP,)
        views = [ChatView(chat_id, "residents", title("residents_group")) for chat_id in groups]
        staff_chat = config.staff_chat
        if staff_chat is None and DEFAULT_STAFF_GROUP not in groups:
            staff_chat = DEFAULT_STAFF_GROUP
        if staff_chat is not None and staff_chat not in groups:
            views.append(ChatView(staff_chat, "staff", title("staff_group")))
        views.extend(ChatView(p.user_id, "private", p.name) for p in self.people)
        return views

    def _populate(self) -> None:
        for person in self.people:
            username = f"staff_{person.staff_key}" if person.staff_key else f"user{person.user_id}"
            self.api.add_user(
                person.user_id, person.name, username=username, language_code=person.locale
            )
        for view in self.chats:
            if view.kind != "private":
                self.api.add_group(view.chat_id, view.title)
        for view in self.chats:
            if view.kind == "staff":
                for person in self.people:
                    if person.kind == "staff":
                        self.api.set_member_status(view.chat_id, person.user_id, "member")

    def settings(self) -> Settings:
        return Settings(
            community=self.community,
            token=self.api.token,
            db_path=self.db_path,
            api_base_url=self.api.base_url,
            api_file_url=self.api.base_file_url,
            clock=self.clock,
            outbox=self.outbox,
        )

    @property
    def url(self) -> str:
        return f"{self.api.url}/"

    async def start(self) -> None:
        self._populate()
        await self.api.start()
        try:
            # The same sequence as Application.run_polling, minus its signal handling (ours
            # lives in run_playground) — post_init only runs by itself inside run_polling.
            app = build_application(self.settings())
            self.app = app
            await app.initialize()
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                poll_interval=0,
                timeout=dt.timedelta(seconds=1),
                allowed_updates=ALLOWED_UPDATES,
            )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for queue in list(self._listeners):
            self._offer(queue, None)  # ends the page's event stream
        app, self.app = self.app, None
        if app is not None:
            try:
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.shutdown()  # a no-op if initialize() never ran
                if app.post_shutdown is not None:
                    await app.post_shutdown(app)
            except Exception:
                log.exception("the playground's bot did not shut down cleanly")
        await self.api.stop()

    # ------------------------------------------------------------------ page state

    def _person(self, user_id: Any) -> Person:
        person = next((p for p in self.people if p.user_id == user_id), None)
        if person is None or isinstance(user_id, bool):
            raise BadInput(f"unknown person {user_id!r}")
        return person

    def _chat(self, person: Person, chat_id: Any) -> ChatView:
        view = next((c for c in self.chats if c.chat_id == chat_id), None)
        if view is None or isinstance(chat_id, bool):
            raise BadInput(f"unknown chat {chat_id!r}")
        if view.kind == "private" and view.chat_id != person.user_id:
            raise BadInput("a person can only write in their own private chat")
        return view

    def clock_json(self) -> JSON:
        return {
            "now": self.clock.now().isoformat(),
            "offset_seconds": self.clock.offset.total_seconds(),
        }

    def state(self) -> JSON:
        snapshot = self.api.snapshot()
        by_id = {int(entry["chat"]["id"]): entry for entry in snapshot["chats"]}
        chats = []
        for view in self.chats:
            entry = by_id.get(view.chat_id, {"messages": [], "blocked": False})
            chats.append(
                {
                    **asdict(view),
                    "blocked": entry["blocked"],
                    "messages": [self._message_json(view.chat_id, m) for m in entry["messages"]],
                }
            )
        return {
            "community": {
                "name": self.community.name,
                "timezone": str(self.community.timezone),
                "locale": self.community.locale,
            },
            "bot": snapshot["bot"],
            "people": [asdict(p) for p in self.people],
            "chats": chats,
            "clock": self.clock_json(),
        }

    def _message_json(self, chat_id: int, message: JSON) -> JSON:
        # Telegram's Message objects leave out force_reply markup; the page needs it to
        # open the reply the bot asked for, as Telegram's own clients do.
        force = (chat_id, int(message["message_id"])) in self._force_replies
        return {**message, "force_reply": force}

    # ------------------------------------------------------------------ live events

    def _on_emulator_change(self, event: JSON) -> None:
        kind = event.get("type")
        if kind in ("sent", "user_message", "edited"):
            chat_id, message = int(event["chat_id"]), event["message"]
            if kind == "sent" and self.api.sent:
                record = self.api.sent[-1]
                same = (record.chat_id, record.message_id) == (chat_id, message["message_id"])
                if same and (record.reply_markup or {}).get("force_reply"):
                    self._force_replies.add((chat_id, record.message_id))
            self._broadcast(
                "message", {"chat_id": chat_id, "message": self._message_json(chat_id, message)}
            )
        elif kind == "deleted":
            self._broadcast(
                "deleted", {"chat_id": event["chat_id"], "message_id": event["message_id"]}
            )
        elif kind == "callback_answer":
            user_id = self._presses.pop(str(event["callback_query_id"]), None)
            self._broadcast(
                "answer",
                {"user_id": user_id, "text": event["text"], "show_alert": event["show_alert"]},
            )

    def _broadcast(self, name: str, data: JSON) -> None:
        for queue in list(self._listeners):
            self._offer(queue, (name, data))

    def _offer(self, queue: asyncio.Queue[tuple[str, JSON] | None], item: Any) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            # Drop the lagging page's stream; EventSource reconnects and gets a snapshot.
            self._listeners.discard(queue)
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
            queue.put_nowait(None)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        queue: asyncio.Queue[tuple[str, JSON] | None] = asyncio.Queue(_QUEUE_LIMIT)
        # Snapshot and subscription with no await in between: no event can fall in the gap.
        first = _sse("snapshot", self.state())
        self._listeners.add(queue)
        try:
            await response.write(first)
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), _KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                await response.write(_sse(*item))
        except ConnectionResetError:
            pass  # the page went away
        finally:
            self._listeners.discard(queue)
        return response

    # ------------------------------------------------------------------ page actions

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self._index),
            web.get("/static/{name}", self._static_file),
            web.get("/api/state", self._state),
            web.get("/api/events", self._events),
            web.get("/api/file/{file_id}", self._file),
            web.post("/api/send", _action(self._send)),
            web.post("/api/photo", _action(self._photo)),
            web.post("/api/press", _action(self._press)),
            web.post("/api/clock", _action(self._advance)),
        ]

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return self._static_response("index.html")

    async def _static_file(self, request: web.Request) -> web.StreamResponse:
        return self._static_response(request.match_info["name"])

    def _static_response(self, name: str) -> web.StreamResponse:
        body = self._static.get(name)
        if body is None:
            raise web.HTTPNotFound()
        content_type = _STATIC_TYPES.get(Path(name).suffix, "application/octet-stream")
        charset = "utf-8" if content_type.startswith("text/") else None
        return web.Response(
            body=body,
            content_type=content_type,
            charset=charset,
            headers={"Cache-Control": "no-cache"},
        )

    async def _state(self, request: web.Request) -> web.StreamResponse:
        return _json_response(self.state())

    async def _file(self, request: web.Request) -> web.StreamResponse:
        data = self.api.file_data(request.match_info["file_id"])
        if data is None:
            raise web.HTTPNotFound()
        mime = image_type(data)
        if mime is None:  # never let the page's origin serve arbitrary uploaded content
            return web.Response(
                body=data,
                content_type="application/octet-stream",
                headers={"Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
            )
        return web.Response(body=data, content_type=mime)

    async def _send(self, request: web.Request) -> JSON:
        body = await _json_body(request)
        person = self._person(body.get("user_id"))
        view = self._chat(person, body.get("chat_id"))
        text = body.get("text")
        location = SAMPLE_LOCATION if body.get("location") else None
        if location is None and (not isinstance(text, str) or not text.strip()):
            raise BadInput("nothing to send")
        message = self.api.user_sends(
            person.user_id,
            view.chat_id,
            None if location else text,
            location=location,
            reply_to_message_id=_optional_int(body.get("reply_to")),
        )
        return {"message_id": message["message_id"]}

    async def _photo(self, request: web.Request) -> JSON:
        form = await request.post()
        person = self._person(_optional_int(form.get("user_id")))
        view = self._chat(person, _optional_int(form.get("chat_id")))
        upload = form.get("file")
        if isinstance(upload, web.FileField):
            data = upload.file.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise BadInput("photo too large")
        else:
            data = self._static["sample.png"]
        if image_type(data) is None:
            raise BadInput("not a PNG, JPEG, GIF or WebP image")
        caption = form.get("caption")
        message = self.api.user_sends(
            person.user_id,
            view.chat_id,
            photo=data,
            caption=caption if isinstance(caption, str) and caption.strip() else None,
            reply_to_message_id=_optional_int(form.get("reply_to")),
        )
        return {"message_id": message["message_id"]}

    async def _press(self, request: web.Request) -> JSON:
        body = await _json_body(request)
        person = self._person(body.get("user_id"))
        view = self._chat(person, body.get("chat_id"))
        data = body.get("data")
        message_id = _optional_int(body.get("message_id"))
        if not isinstance(data, str) or message_id is None:
            raise BadInput("press needs message_id and data")
        query_id = self.api.user_presses(person.user_id, message_id, view.chat_id, data)
        self._presses[query_id] = person.user_id
        return {"callback_query_id": query_id}

    async def _advance(self, request: web.Request) -> JSON:
        body = await _json_body(request)
        seconds = body.get("seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
            raise BadInput("seconds must be a positive integer")
        delta = dt.timedelta(seconds=seconds)
        if delta > MAX_ADVANCE:
            raise BadInput("at most 31 days at a time")
        await self.fast_forward(delta)
        return self.clock_json()

    async def fast_forward(self, delta: dt.timedelta) -> None:
        """Jump the clock and run every feature's due work now, instead of waiting for the
        JobQueue's next tick (which still runs on real time)."""
        self.clock.advance(delta)
        if self.app is not None:
            await scheduler.run_due(self.app)
            self.app.bot_data.require_desk().wake_outbox()
        self._broadcast("clock", self.clock_json())


def _sse(name: str, data: JSON) -> bytes:
    # One JSON line per event: json.dumps never emits raw newlines.
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _json_response(data: JSON, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _optional_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadInput(f"expected a number, got {value!r}") from None


async def _json_body(request: web.Request) -> JSON:
    try:
        body = await request.json()
    except ValueError:
        raise BadInput("expected a JSON body") from None
    if not isinstance(body, dict):
        raise BadInput("expected a JSON object")
    return body


def _action(
    handler: Callable[[web.Request], Awaitable[JSON]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wraps a page action: same-origin only (another site open in the browser must not
    drive the bot), and bad input becomes a 400 with a reason instead of a 500."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return _json_response({"error": "cross-origin request refused"}, 403)
        try:
            return _json_response(await handler(request))
        except (BadInput, ValueError) as error:
            return _json_response({"error": str(error)}, 400)

    return wrapped
