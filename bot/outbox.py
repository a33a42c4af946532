"""Drains the outbox: order per chat, Telegram's rate limits, retry_after, backoff on
network errors and 5xx, and the 403 fallback. Knows nothing of Telegram: a Transport
does the talking and reports failures as the exceptions below."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.clock import Clock
from bot.config import OutboxSettings
from bot.models import OutboxRow, Outgoing
from storage import outbox as repo
from storage import people, tickets
from storage.db import Database, Tx

log = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(minutes=5)
CONCURRENT_CHATS = 8


class RetryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(Exception):
    """The recipient blocked the bot, never started it, or removed it from the chat."""


class Rejected(Exception):
    """Telegram refused the message itself (400); sending it again would not help."""


class Transient(Exception):
    """Network error, timeout or 5xx: try again later."""


class Transport(Protocol):
    async def deliver(self, message: Outgoing) -> int | None:
        """Send; return Telegram's message id."""
        ...


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        clock: Clock,
        settings: OutboxSettings,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._transport = transport
        self._clock = clock
        self._settings = settings
        self._monotonic = monotonic
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._chat_ready_at: dict[int, float] = {}
        # One drain at a time: two would both see a row as due and send it twice.
        self._drain_lock = asyncio.Lock()

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Finish the batch in flight; what is left stays in the table for next start."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox drain failed; retrying")
                sent = 0
            if sent or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._settings.poll_interval)

    async def drain_once(self) -> int:
        """Send everything due now; returns how many rows were handled."""
        async with self._drain_lock:
            now = self._clock.now()

            async def due(tx: Tx) -> tuple[list[OutboxRow], set[int]]:
                return await repo.due(tx, now), await repo.blocked_chats(tx, now)

            rows, waiting = await self._db.read(due)
            by_chat: dict[int, list[OutboxRow]] = {}
            for row in rows:
                if row.chat_id not in waiting:
                    by_chat.setdefault(row.chat_id, []).append(row)
            limit = asyncio.Semaphore(CONCURRENT_CHATS)

            async def chat_worker(chat_rows: list[OutboxRow]) -> int:
                async with limit:
                    return await self._send_chat(chat_rows)

            results = await asyncio.gather(*(chat_worker(r) for r in by_chat.values()))
            return sum(results)

    async def _send_chat(self, rows: list[OutboxRow]) -> int:
        handled = 0
        for row in rows:
            if self._stopping:
                break
            await self._pace(row.chat_id)
            if not await self._send_row(row):
                break  # keep per-chat order: later messages wait for this one
            handled += 1
        return handled

    async def _pace(self, chat_id: int) -> None:
        # Private chats: at most one message per interval (Telegram's ~1/s per chat).
        # Groups and the global rate are paced by PTB's AIORateLimiter.
        if chat_id < 0 or self._settings.per_chat_interval <= 0:
            return
        ready = self._chat_ready_at.get(chat_id, 0.0)
        delay = ready - self._monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._chat_ready_at[chat_id] = self._monotonic() + self._settings.per_chat_interval

    async def _send_row(self, row: OutboxRow) -> bool:
        """True when the row is done (sent or finally given up), False to retry later."""
        message = row.message
        try:
            message_id = await self._transport.deliver(message)
        except RetryLater as exc:
            await self._retry(row, dt.timedelta(seconds=exc.seconds), f"429: {exc}")
            return False
        except Transient as exc:
            if row.attempts + 1 >= self._settings.max_attempts:
                await self._give_up(row, "failed", f"transient: {exc}")
                return True
            backoff = min(dt.timedelta(seconds=2**row.attempts), MAX_BACKOFF)
            await self._retry(row, backoff, f"transient: {exc}")
            return False
        except Unreachable as exc:
            await self._unreachable(row, str(exc))
            return True
        except Rejected as exc:
            log.warning("message %s rejected by Telegram: %s", row.key, exc)
            await self._give_up(row, "failed", f"rejected: {exc}")
            return True
        now = self._clock.now()

        async def sent(tx: Tx) -> None:
            await repo.mark_sent(tx, row.id, message_id, now)
            if message.ticket_id is not None and message_id is not None:
                await tickets.record_message(
                    tx, message.ticket_id, message.chat_id, message_id, message.purpose or "notice"
                )

        await self._db.write(sent)
        return True

    async def _retry(self, row: OutboxRow, delay: dt.timedelta, error: str) -> None:
        # 429s are counted as attempts too, but only transient errors are capped.
        next_try = self._clock.now() + delay
        await self._db.write(lambda tx: repo.mark_retry(tx, row.id, next_try, error))

    async def _give_up(self, row: OutboxRow, state: str, error: str) -> None:
        now = self._clock.now()

        async def failed(tx: Tx) -> None:
            await repo.mark_failed(tx, row.id, state, error)
            if row.message.fallback is not None:
                await repo.enqueue(tx, row.message.fallback, now)

        await self._db.write(failed)
        if row.message.fallback is not None:
            self.wake()

    async def _unreachable(self, row: OutboxRow, error: str) -> None:
        now = self._clock.now()

        async def unreachable(tx: Tx) -> None:
            await repo.mark_failed(tx, row.id, "unreachable", error)
            if row.message.recipient_user_id is not None:
                await people.mark_unreachable(tx, row.message.recipient_user_id, now)
            elif row.chat_id < 0:
                await people.mark_chat_removed(tx, row.chat_id, now)
            if row.message.fallback is not None:
                await repo.enqueue(tx, row.message.fallback, now)

        await self._db.write(unreachable)
        log.info(
            "chat %s unreachable (%s); fallback queued: %s",
            row.chat_id,
            error,
            row.message.fallback is not None,
        )
        self.wake()
