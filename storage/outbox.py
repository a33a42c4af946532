"""The outbox: every message the bot owes somebody, written in the same transaction as
the state change that causes it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiosqlite

from bot.models import Attachment, Button, OutboxRow, Outgoing
from storage.db import Tx, require_time, to_db_time


def encode(message: Outgoing) -> str:
    return json.dumps(_to_dict(message), ensure_ascii=False, separators=(",", ":"))


def decode(payload: str) -> Outgoing:
    return _from_dict(json.loads(payload))


def _to_dict(message: Outgoing) -> dict[str, Any]:
    data: dict[str, Any] = {"key": message.key, "chat_id": message.chat_id, "text": message.text}
    if message.buttons:
        data["buttons"] = [
            [{"text": b.text, "data": b.data, "url": b.url} for b in row] for row in message.buttons
        ]
    if message.reply_to_message_id is not None:
        data["reply_to"] = message.reply_to_message_id
    if message.attachment is not None:
        a = message.attachment
        data["attachment"] = {
            "kind": a.kind,
            "file_id": a.file_id,
            "latitude": a.latitude,
            "longitude": a.longitude,
        }
        if a.path is not None:
            data["attachment"]["path"] = a.path
    if message.ticket_id is not None:
        data["ticket_id"] = message.ticket_id
    if message.purpose:
        data["purpose"] = message.purpose
    if message.fallback is not None:
        data["fallback"] = _to_dict(message.fallback)
    if message.recipient_user_id is not None:
        data["recipient"] = message.recipient_user_id
    return data


def _from_dict(data: dict[str, Any]) -> Outgoing:
    attachment = data.get("attachment")
    fallback = data.get("fallback")
    return Outgoing(
        key=data["key"],
        chat_id=data["chat_id"],
        text=data.get("text", ""),
        buttons=tuple(
            tuple(Button(text=b["text"], data=b.get("data"), url=b.get("url")) for b in row)
            for row in data.get("buttons", [])
        ),
        reply_to_message_id=data.get("reply_to"),
        attachment=None if attachment is None else Attachment(**attachment),
        ticket_id=data.get("ticket_id"),
        purpose=data.get("purpose", ""),
        fallback=None if fallback is None else _from_dict(fallback),
        recipient_user_id=data.get("recipient"),
    )


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        key=row["idem_key"],
        chat_id=row["chat_id"],
        message=decode(row["payload"]),
        state=row["state"],
        attempts=row["attempts"],
        next_try_at=require_time(row["next_try_at"]),
    )


async def enqueue(tx: Tx, message: Outgoing, now: dt.datetime) -> bool:
    """Queue a message; False when a message with the same key was queued before."""
    changed = await tx.changes(
        "INSERT OR IGNORE INTO outbox (idem_key, chat_id, payload, next_try_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (message.key, message.chat_id, encode(message), to_db_time(now), to_db_time(now)),
    )
    return changed > 0


async def due(tx: Tx, now: dt.datetime, limit: int = 200) -> list[OutboxRow]:
    rows = await tx.fetchall(
        "SELECT * FROM outbox WHERE state = 'pending' AND next_try_at <= ? ORDER BY id LIMIT ?",
        (to_db_time(now), limit),
    )
    return [_row(row) for row in rows]


async def blocked_chats(tx: Tx, now: dt.datetime) -> set[int]:
    """Chats with an earlier message still waiting: later ones must wait too (order per chat)."""
    rows = await tx.fetchall(
        "SELECT DISTINCT chat_id FROM outbox WHERE state = 'pending' AND next_try_at > ?",
        (to_db_time(now),),
    )
    return {row[0] for row in rows}


async def next_due_at(tx: Tx) -> dt.datetime | None:
    value = await tx.scalar("SELECT MIN(next_try_at) FROM outbox WHERE state = 'pending'")
    return None if value is None else require_time(value)


async def mark_sent(tx: Tx, row_id: int, message_id: int | None, now: dt.datetime) -> None:
    await tx.execute(
        "UPDATE outbox SET state = 'sent', sent_at = ?, sent_message_id = ?,"
        " attempts = attempts + 1 WHERE id = ?",
        (to_db_time(now), message_id, row_id),
    )


async def mark_retry(tx: Tx, row_id: int, next_try: dt.datetime, error: str) -> None:
    await tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_try_at = ?, last_error = ? WHERE id = ?",
        (to_db_time(next_try), error[:500], row_id),
    )


async def mark_failed(tx: Tx, row_id: int, state: str, error: str) -> None:
    """state: 'failed' (gave up) or 'unreachable' (403, fallback queued instead)."""
    await tx.execute(
        "UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
        (state, error[:500], row_id),
    )


async def counts_by_state(tx: Tx) -> dict[str, int]:
    rows = await tx.fetchall("SELECT state, COUNT(*) FROM outbox GROUP BY state")
    return {row[0]: row[1] for row in rows}


async def sent_message_id(tx: Tx, key: str) -> int | None:
    value = await tx.scalar(
        "SELECT sent_message_id FROM outbox WHERE idem_key = ? AND state = 'sent'", (key,)
    )
    return None if value is None else int(value)
