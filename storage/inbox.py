"""Raw updates kept until handled (see migration 006)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from storage.db import Tx, to_db_time


async def save(tx: Tx, updates: Sequence[dict[str, Any]], now: dt.datetime) -> set[int]:
    """Keep each update; the ids of those not kept before (the rest were fetched already)."""
    new: set[int] = set()
    for update in updates:
        if await tx.changes(
            "INSERT OR IGNORE INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)",
            (update["update_id"], json.dumps(update, ensure_ascii=False), to_db_time(now)),
        ):
            new.add(update["update_id"])
    return new


async def unhandled(tx: Tx) -> list[dict[str, Any]]:
    rows = await tx.fetchall(
        "SELECT i.payload FROM inbox i LEFT JOIN processed_updates p"
        " ON p.update_id = i.update_id WHERE p.update_id IS NULL ORDER BY i.update_id"
    )
    return [json.loads(row[0]) for row in rows]


async def prune(tx: Tx, before: dt.datetime) -> None:
    await tx.execute("DELETE FROM inbox WHERE received_at < ?", (to_db_time(before),))
