"""Escalation clocks, followers, once-a-day runs and deadline queries."""

from __future__ import annotations

import datetime as dt

from bot.models import Follower, Ticket
from storage.db import Tx, require_time, to_db_time
from storage.tickets import _ticket

_OPEN = "('new', 'assigned', 'accepted', 'reopened')"


async def arm(tx: Tx, ticket_id: int, step: int, next_at: dt.datetime, repeats: int = 0) -> None:
    await tx.execute(
        "INSERT INTO escalations (ticket_id, step, repeats, next_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(ticket_id) DO UPDATE SET step = excluded.step,"
        " repeats = excluded.repeats, next_at = excluded.next_at",
        (ticket_id, step, repeats, to_db_time(next_at)),
    )


async def disarm(tx: Tx, ticket_id: int) -> None:
    await tx.execute("DELETE FROM escalations WHERE ticket_id = ?", (ticket_id,))


async def due(tx: Tx, now: dt.datetime, limit: int = 100) -> list[tuple[int, int, int]]:
    """(ticket_id, step, repeats) whose clock has run out."""
    rows = await tx.fetchall(
        "SELECT ticket_id, step, repeats FROM escalations WHERE next_at <= ?"
        " ORDER BY next_at LIMIT ?",
        (to_db_time(now), limit),
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def current(tx: Tx, ticket_id: int) -> tuple[int, int, dt.datetime] | None:
    row = await tx.fetchone(
        "SELECT step, repeats, next_at FROM escalations WHERE ticket_id = ?", (ticket_id,)
    )
    return None if row is None else (row[0], row[1], require_time(row[2]))


# --- deadlines ----------------------------------------------------------------------------


async def needing_reminder(tx: Tx, remind_from: dt.datetime, now: dt.datetime) -> list[Ticket]:
    """Open tickets whose resolution deadline is near (before `remind_from`) but not past."""
    rows = await tx.fetchall(
        f"SELECT * FROM tickets WHERE state IN {_OPEN} AND deadline_reminded_at IS NULL"
        " AND resolve_due_at IS NOT NULL AND resolve_due_at <= ? AND resolve_due_at > ?"
        " ORDER BY resolve_due_at",
        (to_db_time(remind_from), to_db_time(now)),
    )
    return [_ticket(row) for row in rows]


async def overdue(tx: Tx, now: dt.datetime, limit: int = 100) -> list[Ticket]:
    rows = await tx.fetchall(
        f"SELECT * FROM tickets WHERE state IN {_OPEN} AND resolve_due_at IS NOT NULL"
        " AND resolve_due_at < ? ORDER BY resolve_due_at LIMIT ?",
        (to_db_time(now), limit),
    )
    return [_ticket(row) for row in rows]


async def follow_ups_due(tx: Tx, now: dt.datetime) -> list[Ticket]:
    rows = await tx.fetchall(
        "SELECT * FROM tickets WHERE follow_up_at IS NOT NULL AND follow_up_at <= ? ORDER BY id",
        (to_db_time(now),),
    )
    return [_ticket(row) for row in rows]


async def claim_daily(tx: Tx, name: str, local_date: dt.date, now: dt.datetime) -> bool:
    changed = await tx.changes(
        "INSERT OR IGNORE INTO daily_runs (name, local_date, at) VALUES (?, ?, ?)",
        (name, local_date.isoformat(), to_db_time(now)),
    )
    return changed > 0


# --- duplicates and followers ---------------------------------------------------------------


async def open_similar_candidates(
    tx: Tx, category: str, building: str, since: dt.datetime
) -> list[Ticket]:
    rows = await tx.fetchall(
        f"SELECT * FROM tickets WHERE state IN {_OPEN} AND category = ? AND building = ?"
        " AND created_at >= ? ORDER BY id DESC LIMIT 20",
        (category, building, to_db_time(since)),
    )
    return [_ticket(row) for row in rows]


async def add_follower(tx: Tx, follower: Follower, text: str, now: dt.datetime) -> bool:
    changed = await tx.changes(
        "INSERT OR IGNORE INTO followers (ticket_id, user_id, display_name, chat_id, message_id,"
        " is_group, text, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            follower.ticket_id,
            follower.user_id,
            follower.display_name,
            follower.chat_id,
            follower.message_id,
            int(follower.is_group),
            text,
            to_db_time(now),
        ),
    )
    return changed > 0


async def followers_of(tx: Tx, ticket_id: int) -> list[tuple[Follower, str]]:
    rows = await tx.fetchall(
        "SELECT * FROM followers WHERE ticket_id = ? ORDER BY added_at, user_id", (ticket_id,)
    )
    return [
        (
            Follower(
                ticket_id=row["ticket_id"],
                user_id=row["user_id"],
                display_name=row["display_name"],
                chat_id=row["chat_id"],
                message_id=row["message_id"],
                is_group=bool(row["is_group"]),
            ),
            row["text"],
        )
        for row in rows
    ]


async def remove_follower(tx: Tx, ticket_id: int, user_id: int) -> None:
    await tx.execute(
        "DELETE FROM followers WHERE ticket_id = ? AND user_id = ?", (ticket_id, user_id)
    )


async def move_followers(tx: Tx, from_ticket: int, to_ticket: int) -> None:
    await tx.execute(
        "UPDATE OR IGNORE followers SET ticket_id = ? WHERE ticket_id = ?", (to_ticket, from_ticket)
    )
    await tx.execute("DELETE FROM followers WHERE ticket_id = ?", (from_ticket,))


async def follower_count(tx: Tx, ticket_id: int) -> int:
    value = await tx.scalar("SELECT COUNT(*) FROM followers WHERE ticket_id = ?", (ticket_id,))
    return int(value or 0)
