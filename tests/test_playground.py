"""The local playground: its page API (in-process), the page itself in real headless
Chromium (driven over the DevTools protocol), and the `playground` command as a process."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import demo_config_path
from bot.config import load_community
from bot.models import TicketState
from bot.playground import Playground
from bot.playground.server import STATIC_DIR
from storage import tickets
from tests.conftest import AUNT, FAST_OUTBOX, GROUP, STAFF_GROUP, WANG

JSON = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Playground]:
    place = Playground(
        load_community(demo_config_path()), tmp_path / "playground.sqlite3", outbox=FAST_OUTBOX
    )
    await place.start()
    try:
        yield place
    finally:
        await place.stop()


def text_of(message: JSON) -> str:
    return str(message.get("text") or message.get("caption") or "")


def buttons_of(message: JSON) -> dict[str, str]:
    """Inline button label -> callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}


class PageClient:
    """Drives the page's HTTP API the way app.js does, and follows its event stream."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.events: list[tuple[str, JSON]] = []
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._stream: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> PageClient:
        response = await self.session.get(self.base + "api/events")
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        self._stream = response
        self._reader = asyncio.create_task(self._read(response))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._stream is not None:
            self._stream.close()

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        name, data = "", ""
        async for raw in response.content:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
            elif not line and name:
                self.events.append((name, json.loads(data)))
                name, data = "", ""
                self._arrived.set()
                self._arrived = asyncio.Event()

    async def wait_event(
        self, name: str, predicate: Callable[[JSON], bool], what: str, start: int = 0
    ) -> JSON:
        """The first event called `name` among events[start:] matching `predicate`, waiting
        for it if need be."""
        try:
            async with asyncio.timeout(TIMEOUT):
                while True:
                    found = [d for n, d in self.events[start:] if n == name and predicate(d)]
                    if found:
                        return found[0]
                    arrived = self._arrived
                    await arrived.wait()
        except TimeoutError:
            seen = [(n, text_of(d.get("message", d))[:40]) for n, d in self.events[-15:]]
            raise AssertionError(f"no {name} event with {what}; last events: {seen}") from None

    async def bot_says(self, chat_id: int, fragment: str, **extra: Any) -> JSON:
        def match(event: JSON) -> bool:
            message = event["message"]
            return (
                event["chat_id"] == chat_id
                and message["from"]["is_bot"]
                and fragment in text_of(message)
                and all(message.get(k) == v for k, v in extra.items())
            )

        found = await self.wait_event("message", match, f"{fragment!r} in chat {chat_id}")
        return dict(found["message"])

    async def post(self, path: str, body: JSON, status: int = 200, **headers: str) -> JSON:
        async with self.session.post(self.base + path, json=body, headers=headers) as response:
            data: JSON = await response.json()
            assert response.status == status, data
            return data

    async def say(self, user_id: int, chat_id: int, text: str, reply_to: int | None = None) -> None:
        body = {"user_id": user_id, "chat_id": chat_id, "text": text, "reply_to": reply_to}
        await self.post("api/send", body)

    async def press(self, user_id: int, chat_id: int, message: JSON, label: str) -> JSON:
        data = buttons_of(message)[label]
        body = {"user_id": user_id, "chat_id": chat_id, "message_id": message["message_id"]}
        start = len(self.events)
        await self.post("api/press", {**body, "data": data})
        return await self.wait_event(
            "answer",
            lambda a: a["user_id"] == user_id and bool(a["text"]),
            f"an answer to {label}",
            start,
        )


async def file_and_resolve(page: PageClient) -> JSON:
    """Resident files in the group; staff accepts and resolves from the private card.
    Returns the group's "resolved" message (with the rating buttons)."""
    await page.say(WANG, WANG, "/start")
    await page.bot_says(WANG, "")
    await page.say(AUNT, GROUP, "#报修 3号楼2单元501 楼道灯不亮了，晚上黑漆漆的 💡")
    ack = await page.bot_says(GROUP, "#1")
    assert ack["reply_to_message"]["text"].endswith("💡")
    card = await page.bot_says(WANG, "#1")
    assert "✅ 接单" in buttons_of(card)
    answer = await page.press(WANG, WANG, card, "✅ 接单")
    assert "处理完" in answer["text"] and answer["show_alert"] is False
    edited = await page.wait_event(
        "message",
        lambda e: (
            e["message"]["message_id"] == card["message_id"]
            and "🏁 办结" in buttons_of(e["message"])
        ),
        "the card's resolve button",
    )
    await page.post(
        "api/press",
        {
            "user_id": WANG,
            "chat_id": WANG,
            "message_id": card["message_id"],
            "data": buttons_of(edited["message"])["🏁 办结"],
        },
    )
    prompt = await page.bot_says(WANG, "处理结果", force_reply=True)
    await page.say(WANG, WANG, "已更换灯泡，现在亮了 👍", reply_to=prompt["message_id"])
    return await page.bot_says(GROUP, "已办结")


async def ticket_state(playground: Playground, ticket_id: int) -> TicketState:
    assert playground.app is not None
    async with playground.app.bot_data.require_desk().db.reading() as tx:
        ticket = await tickets.get_ticket(tx, ticket_id)
    assert ticket is not None
    return ticket.state


# --------------------------------------------------------------------------- page API


async def test_page_api_request_accept_resolve_rate(playground: Playground) -> None:
    async with aiohttp.ClientSession() as session, PageClient(session, playground.url) as page:
        snapshot = await page.wait_event("snapshot", lambda s: True, "the first snapshot")
        names = {p["name"]: p["kind"] for p in snapshot["people"]}
        assert names["张阿姨"] == "resident" and names["Ms. Li"] == "resident"
        assert names["王师傅"] == "staff" and names["李书记"] == "staff"
        kinds = {c["chat_id"]: c["kind"] for c in snapshot["chats"]}
        assert kinds[GROUP] == "residents" and kinds[STAFF_GROUP] == "staff"
        assert kinds[AUNT] == "private" and kinds[WANG] == "private"
        assert snapshot["community"]["timezone"] == "Asia/Shanghai"

        resolved = await file_and_resolve(page)
        assert "已更换灯泡" not in text_of(resolved)  # the note goes by DM only
        assert list(buttons_of(resolved)) == ["★1", "★2", "★3", "★4", "★5"]
        assert await ticket_state(playground, 1) is TicketState.RESOLVED

        answer = await page.press(AUNT, GROUP, resolved, "★5")
        assert "5 星" in answer["text"]
        assert await ticket_state(playground, 1) is TicketState.CLOSED

        # A fresh page load sees the same story in its snapshot, Chinese and emoji intact.
        async with session.get(playground.url + "api/state") as response:
            state = await response.json()
        group = next(c for c in state["chats"] if c["chat_id"] == GROUP)
        texts = [text_of(m) for m in group["messages"]]
        assert any(t.endswith("黑漆漆的 💡") for t in texts)
        assert any("已办结" in t for t in texts)
        private = next(c for c in state["chats"] if c["chat_id"] == WANG)
        prompts = [m for m in private["messages"] if "处理结果" in text_of(m)]
        assert prompts and all(m["force_reply"] for m in prompts)


async def test_page_api_photo_location_and_refusals(playground: Playground) -> None:
    sample = (STATIC_DIR / "sample.png").read_bytes()
    async with aiohttp.ClientSession() as session, PageClient(session, playground.url) as page:
        form = aiohttp.FormData({"user_id": str(AUNT), "chat_id": str(AUNT), "caption": "门口 📷"})
        async with session.post(playground.url + "api/photo", data=form) as response:
            assert response.status == 200, await response.text()
        sent = await page.wait_event(
            "message", lambda e: "photo" in e["message"], "the sample photo"
        )
        assert sent["message"]["caption"] == "门口 📷"
        file_id = sent["message"]["photo"][-1]["file_id"]
        async with session.get(playground.url + f"api/file/{file_id}") as response:
            assert response.content_type == "image/png"
            assert await response.read() == sample

        upload = aiohttp.FormData({"user_id": str(AUNT), "chat_id": str(GROUP)})
        upload.add_field("file", b"<svg onload=alert(1)>", filename="x.svg")
        async with session.post(playground.url + "api/photo", data=upload) as response:
            assert response.status == 400  # only raster images: the page's origin stays clean

        await page.post("api/send", {"user_id": AUNT, "chat_id": AUNT, "location": True})
        located = await page.wait_event(
            "message", lambda e: "location" in e["message"], "the location"
        )
        assert located["chat_id"] == AUNT

        # Acting in someone else's private chat, unknown people and bad data are refused.
        await page.post("api/send", {"user_id": AUNT, "chat_id": WANG, "text": "hi"}, 400)
        await page.post("api/send", {"user_id": 424242, "chat_id": GROUP, "text": "hi"}, 400)
        await page.post("api/send", {"user_id": AUNT, "chat_id": GROUP, "text": " "}, 400)
        await page.post("api/clock", {"seconds": -60}, 400)
        await page.post(
            "api/send",
            {"user_id": AUNT, "chat_id": GROUP, "text": "hi"},
            403,
            Origin="http://evil.example",
        )

    async with aiohttp.ClientSession() as session:
        async with session.get(playground.url) as response:
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert '<html lang="zh-CN">' in await response.text()
        async with session.get(playground.url + "static/app.js") as response:
            assert response.status == 200
        async with session.get(playground.url + "static/..%2Fserver.py") as response:
            assert response.status == 404


async def test_fast_forward_runs_due_work(playground: Playground) -> None:
    async with aiohttp.ClientSession() as session, PageClient(session, playground.url) as page:
        await file_and_resolve(page)  # resolved, never rated
        before = playground.clock.now()
        week = playground.community.sla.close_unrated_after_days
        clock = await page.post("api/clock", {"seconds": (week + 1) * 86400})
        moved = dt.datetime.fromisoformat(clock["now"]) - before
        assert dt.timedelta(days=week + 1) <= moved < dt.timedelta(days=week + 1, minutes=1)
        await page.wait_event(
            "clock", lambda c: c["offset_seconds"] == clock["offset_seconds"], "the clock event"
        )
        # run_due ran at the new time: the unrated ticket closed without waiting a week.
        assert await ticket_state(playground, 1) is TicketState.CLOSED


# --------------------------------------------------------------------------- the command


async def test_playground_command_starts_fast_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "playground",
        "--port",
        "0",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(3):
            line = (await process.stdout.readline()).decode()
            url = line[line.index("http://127.0.0.1:") :].split()[0]
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 200
        started = time.monotonic() - began
        assert started < 3, f"page reachable after {started:.2f}s"
        assert "幸福里社区" in line
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            code = await process.wait()
            errors = (await process.stderr.read()).decode()
        assert code == 0, errors
        assert "Traceback" not in errors
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


# --------------------------------------------------------------------------- in Chromium


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """Headless Chromium over the DevTools protocol (aiohttp's websocket client): enough to
    load a page, click, type, evaluate and take screenshots."""

    def __init__(
        self, process: asyncio.subprocess.Process, ws: aiohttp.ClientWebSocketResponse
    ) -> None:
        self.process = process
        self.ws = ws
        self.session_id = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JSON]] = {}
        self.page_errors: list[str] = []  # uncaught exceptions in the page's scripts
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, profile: Path) -> AsyncIterator[Browser]:
        assert CHROMIUM is not None
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        drain: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(30):
                while True:
                    line = (await process.stderr.readline()).decode(errors="replace")
                    if not line:
                        raise AssertionError("chromium exited before opening DevTools")
                    if line.startswith("DevTools listening on "):
                        endpoint = line.split()[-1]
                        break
            drain = asyncio.create_task(_drain(process.stderr))
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(endpoint, max_msg_size=0) as ws,
            ):
                browser = cls(process, ws)
                try:
                    await browser.open_tab()
                    yield browser
                finally:
                    browser._reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await browser._reader
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    async with asyncio.timeout(10):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()
            if drain is not None:
                drain.cancel()

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                self.page_errors.append(details.get("exception", {}).get("description", ""))
            future = self._pending.pop(message.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(AssertionError(f"CDP error: {message['error']}"))
                else:
                    future.set_result(message.get("result", {}))

    async def send(self, method: str, **params: Any) -> JSON:
        command_id = next(self._ids)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        command: JSON = {"id": command_id, "method": method, "params": params}
        if self.session_id and not method.startswith("Target."):
            command["sessionId"] = self.session_id
        await self.ws.send_json(command)
        async with asyncio.timeout(30):
            return await future

    async def open_tab(self) -> None:
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        self.session_id = attached["sessionId"]
        await self.send("Page.enable")
        await self.send("Runtime.enable")

    async def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        # Input is routed by the compositor: let it draw a frame at the new size first, or
        # an early click can land using the old geometry.
        await self.wait(f"window.innerWidth === {width}")
        await self.evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
        )

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait(
            "document.readyState === 'complete' && document.querySelector('#who option')"
        )

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details["text"]
            raise AssertionError(f"in the page: {description}")
        return result.get("result", {}).get("value")

    async def wait(self, predicate: str, timeout: float = TIMEOUT) -> Any:  # noqa: ASYNC109
        """Wait in the page until the JS expression is truthy; returns its value."""
        script = f"""new Promise((resolve, reject) => {{
            const started = performance.now();
            const check = () => {{
                let value = null;
                try {{ value = ({predicate}); }} catch (error) {{ value = null; }}
                if (value) return resolve(value);
                if (performance.now() - started > {timeout * 1000}) {{
                    return reject(new Error("timed out waiting for: " + {json.dumps(predicate)}
                        + "\\npage shows:\\n" + document.body.innerText.slice(-1500)));
                }}
                setTimeout(check, 50);
            }};
            check();
        }})"""
        return await self.evaluate(script)

    async def click(self, expression: str) -> None:
        """A real mouse click at the centre of the element the JS expression finds (so it
        must be visible and on top, as for a person)."""
        box = await self.wait(
            f"""(() => {{
                const node = {expression};
                if (!node) return null;
                node.scrollIntoView({{block: "center"}});
                const r = node.getBoundingClientRect();
                if (!r.width || !r.height) return null;
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                const top = document.elementFromPoint(x, y);
                return top && (top === node || node.contains(top)) ? {{x, y}} : null;
            }})()"""
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box["x"],
                y=box["y"],
                button="left",
                clickCount=1,
            )

    async def type_into(self, expression: str, text: str) -> None:
        await self.click(expression)
        await self.send("Input.insertText", text=text)

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                text="\r" if kind == "keyDown" else "",
            )

    async def select(self, selector: str, value: str) -> None:
        """Choose an option (native select popups are not drawn in headless mode)."""
        await self.evaluate(
            f"""(() => {{
                const s = document.querySelector({json.dumps(selector)});
                s.value = {json.dumps(value)};
                s.dispatchEvent(new Event("change", {{bubbles: true}}));
            }})()"""
        )

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


async def _drain(stream: asyncio.StreamReader) -> None:
    # Chromium keeps logging to stderr; an unread pipe would eventually block it.
    while await stream.read(65536):
        pass


def chat(chat_id: int) -> str:
    return f"document.querySelector('.chat[data-chat-id=\"{chat_id}\"]')"


def newest(chat_id: int, fragment: str) -> str:
    """JS: the newest message in the chat whose text contains the fragment."""
    return (
        f"[...{chat(chat_id)}.querySelectorAll('.msg')].reverse()"
        f".find(m => m.querySelector('.text')?.textContent.includes({json.dumps(fragment)}))"
    )


def button(message: str, label: str) -> str:
    return (
        f"[...({message})?.querySelectorAll('.kb-button') ?? []]"
        f".find(b => b.textContent === {json.dumps(label)})"
    )


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Chromium (Debian: apt-get install chromium); .ci/run installs it",
)
async def test_page_in_headless_chromium(playground: Playground, tmp_path: Path) -> None:
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", tmp_path))
    async with Browser.launch(tmp_path / "chromium-profile") as browser:
        await browser.viewport(1400, 900)
        await browser.goto(playground.url)

        # Staff member 王师傅 opens the bot in his private chat (START, as in Telegram).
        await browser.select("#who", str(WANG))
        await browser.click(f"{chat(WANG)}.querySelector('.start')")
        await browser.wait(f"{chat(WANG)}.querySelector('.msg.bot')")

        # Resident 张阿姨 files a request in the residents' group.
        await browser.click(f"document.querySelector('.person[data-user-id=\"{AUNT}\"]')")
        composer = f"{chat(GROUP)}.querySelector('.composer input')"
        await browser.type_into(composer, "#报修 3号楼2单元501 楼道灯不亮了，晚上黑漆漆的 💡")
        await browser.press_enter()
        await browser.wait(newest(GROUP, "黑漆漆的 💡") + "?.classList.contains('mine')")
        await browser.wait(newest(GROUP, "#1") + "?.classList.contains('bot')")
        # A resident never sees the staff group.
        assert await browser.evaluate(f"{chat(STAFF_GROUP)} === null")
        await browser.screenshot(shots / "1-resident-filed.png")

        # 王师傅 accepts from the card in his private chat, then resolves with a note.
        await browser.select("#who", str(WANG))
        assert await browser.evaluate(f"{chat(STAFF_GROUP)} !== null")
        card = newest(WANG, "#1")
        await browser.click(button(card, "✅ 接单"))
        await browser.wait(
            "document.querySelector('#toast:not([hidden])')?.textContent.includes('处理完')"
        )
        await browser.click(button(card, "🏁 办结"))
        # The force-reply prompt opens a reply to itself, as Telegram's clients do.
        await browser.wait(
            f"!{chat(WANG)}.querySelector('.reply-bar').hidden && "
            f"{chat(WANG)}.querySelector('.reply-preview').textContent.includes('处理结果')"
        )
        await browser.type_into(f"{chat(WANG)}.querySelector('.composer input')", "已更换灯泡 👍")
        await browser.click(f"{chat(WANG)}.querySelector('.send')")
        note = newest(WANG, "已更换灯泡")
        await browser.wait(f"{note}?.querySelector('.quote')?.textContent.includes('处理结果')")
        await browser.screenshot(shots / "2-staff-resolved.png")

        # Back as 张阿姨: the group shows the result with rating buttons; she gives 5 stars.
        await browser.select("#who", str(AUNT))
        resolved = newest(GROUP, "已办结")
        await browser.click(button(resolved, "★5"))
        toast = await browser.wait(
            "document.querySelector('#toast:not([hidden])')?.textContent.includes('5 星') && "
            "document.querySelector('#toast').textContent"
        )
        assert "感谢" in toast
        # Bot formatting comes through as markup, while what residents type stays text.
        assert await browser.evaluate(
            f"{chat(GROUP)}.querySelectorAll('.msg.bot .text b').length > 0"
        )
        await browser.type_into(composer, "<b>不是粗体</b><script>window.hacked=1</script>")
        await browser.press_enter()
        typed = await browser.wait(newest(GROUP, "不是粗体"))
        assert typed is not None
        assert await browser.evaluate(
            f"{newest(GROUP, '不是粗体')}.querySelector('.text').innerHTML.startsWith('&lt;b&gt;')"
        )
        assert await browser.evaluate("window.hacked === undefined")
        # A photo (the bundled sample) shows up as an image served by the playground.
        await browser.click(f"{chat(GROUP)}.querySelector('.attach')")
        await browser.click(f"{chat(GROUP)}.querySelector('[data-attach=sample]')")
        await browser.wait(
            f"[...{chat(GROUP)}.querySelectorAll('.msg.mine img.photo')]"
            ".some(img => img.complete && img.naturalWidth === 320)"
        )
        # The bot's t.me deep link ("私聊我") opens the private chat with it, as in Telegram.
        await browser.click(f"{resolved}.querySelector('.text a')")
        await browser.wait(f"{chat(AUNT)}.querySelector('.msg.bot')")
        assert await ticket_state(playground, 1) is TicketState.CLOSED
        await browser.screenshot(shots / "3-resident-rated.png")

        # Fast-forward: the simulated clock on the page jumps a day ahead.
        before = await browser.evaluate("document.querySelector('#clock-now').dateTime")
        await browser.click("document.querySelector('[data-advance=\"86400\"]')")
        await browser.wait(
            "Date.parse(document.querySelector('#clock-now').dateTime)"
            f" - Date.parse({json.dumps(before)}) >= 86400000"
        )

        # On a phone: one chat at a time, chosen from tabs; the people list is folded away.
        await browser.viewport(390, 844, mobile=True)
        await browser.wait(
            "getComputedStyle(document.querySelector('#tabs')).display === 'flex' && "
            "[...document.querySelectorAll('.chat')].filter(c => c.offsetWidth > 0).length === 1"
        )
        assert (
            await browser.evaluate("getComputedStyle(document.querySelector('#people')).display")
            == "none"
        )
        await browser.click(f"document.querySelector('.tab[data-chat-id=\"{AUNT}\"]')")
        await browser.wait(f"{chat(AUNT)}.offsetWidth > 0 && {chat(GROUP)}.offsetWidth === 0")
        await browser.click(f"document.querySelector('.tab[data-chat-id=\"{GROUP}\"]')")
        await browser.screenshot(shots / "4-phone.png")
        assert browser.page_errors == []
