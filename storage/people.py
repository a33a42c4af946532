"""People, staff links and invites, duty overrides, pending inputs, chats, intake log."""

from __future__ import annotations

import datetime as dt

import aiosqlite

from bot.models import Person
from storage.db import Tx, from_db_time, to_db_time


def _person(row: aiosqlite.Row) -> Person:
    return Person(
        user_id=row["user_id"],
        display_name=row["display_name"],
        username=row["username"],
        locale=row["locale"],
        started_at=from_db_time(row["started_at"]),
        unreachable_since=from_db_time(row["unreachable_since"]),
    )


async def upsert_person(
    tx: Tx, user_id: int, display_name: str, username: str | None, locale: str
) -> Person:
    row = await tx.fetchone(
        "INSERT INTO people (user_id, display_name, username, locale) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(user_id) DO UPDATE SET display_name = excluded.display_name,"
        " username = excluded.username, locale = excluded.locale RETURNING *",
        (user_id, display_name, username, locale),
    )
    assert row is not None
    return _person(row)


async def get_person(tx: Tx, user_id: int) -> Person | None:
    row = await tx.fetchone("SELECT * FROM people WHERE user_id = ?", (user_id,))
    return None if row is None else _person(row)


async def find_by_username(tx: Tx, username: str) -> Person | None:
    row = await tx.fetchone(
        "SELECT * FROM people WHERE lower(username) = lower(?)", (username.lstrip("@"),)
    )
    return None if row is None else _person(row)


async def mark_started(tx: Tx, user_id: int, now: dt.datetime) -> None:
    """Starting (or unblocking) the bot makes a person reachable by DM again."""
    await tx.execute(
        "UPDATE people SET started_at = COALESCE(started_at, ?), unreachable_since = NULL"
        " WHERE user_id = ?",
        (to_db_time(now), user_id),
    )


async def mark_unreachable(tx: Tx, user_id: int, now: dt.datetime) -> None:
    await tx.execute(
        "UPDATE people SET unreachable_since = ? WHERE user_id = ? AND unreachable_since IS NULL",
        (to_db_time(now), user_id),
    )


# --- staff links and invites ---------------------------------------------------------


async def linked_user(tx: Tx, staff_key: str) -> int | None:
    value = await tx.scalar("SELECT user_id FROM staff_links WHERE staff_key = ?", (staff_key,))
    return None if value is None else int(value)


async def staff_key_of(tx: Tx, user_id: int) -> str | None:
    value = await tx.scalar("SELECT staff_key FROM staff_links WHERE user_id = ?", (user_id,))
    return None if value is None else str(value)


async def all_links(tx: Tx) -> dict[str, int]:
    rows = await tx.fetchall("SELECT staff_key, user_id FROM staff_links WHERE user_id IS NOT NULL")
    return {row[0]: row[1] for row in rows}


async def link_staff(tx: Tx, staff_key: str, user_id: int, now: dt.datetime) -> None:
    # A Telegram account belongs to one staff entry: moving it clears the old link.
    await tx.execute(
        "UPDATE staff_links SET user_id = NULL WHERE user_id = ? AND staff_key != ?",
        (user_id, staff_key),
    )
    await tx.execute(
        "INSERT INTO staff_links (staff_key, user_id, linked_at) VALUES (?, ?, ?)"
        " ON CONFLICT(staff_key) DO UPDATE SET user_id = excluded.user_id,"
        " linked_at = excluded.linked_at, invite_token = NULL",
        (staff_key, user_id, to_db_time(now)),
    )


async def set_invite(tx: Tx, staff_key: str, token: str) -> None:
    await tx.execute(
        "INSERT INTO staff_links (staff_key, invite_token) VALUES (?, ?)"
        " ON CONFLICT(staff_key) DO UPDATE SET invite_token = excluded.invite_token",
        (staff_key, token),
    )


async def staff_for_invite(tx: Tx, token: str) -> str | None:
    value = await tx.scalar("SELECT staff_key FROM staff_links WHERE invite_token = ?", (token,))
    return None if value is None else str(value)


# --- duty overrides -------------------------------------------------------------------


async def set_duty_override(tx: Tx, staff_key: str, local_date: dt.date, on_duty: bool) -> None:
    await tx.execute(
        "INSERT INTO duty_overrides (staff_key, local_date, on_duty) VALUES (?, ?, ?)"
        " ON CONFLICT(staff_key, local_date) DO UPDATE SET on_duty = excluded.on_duty",
        (staff_key, local_date.isoformat(), int(on_duty)),
    )


async def duty_overrides(tx: Tx, local_date: dt.date) -> dict[str, bool]:
    rows = await tx.fetchall(
        "SELECT staff_key, on_duty FROM duty_overrides WHERE local_date = ?",
        (local_date.isoformat(),),
    )
    return {row[0]: bool(row[1]) for row in rows}


# --- pending inputs (what a person's next message is for) ----------------------------


async def set_pending(tx: Tx, user_id: int, kind: str, ticket_id: int, now: dt.datetime) -> None:
    await tx.execute(
        "INSERT OR REPLACE INTO pending_inputs (user_id, kind, ticket_id, created_at)"
        " VALUES (?, ?, ?, ?)",
        (user_id, kind, ticket_id, to_db_time(now)),
    )


async def take_pending(tx: Tx, user_id: int, not_before: dt.datetime) -> tuple[str, int] | None:
    row = await tx.fetchone(
        "SELECT kind, ticket_id, created_at FROM pending_inputs WHERE user_id = ?", (user_id,)
    )
    if row is None:
        return None
    await tx.execute("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,))
    if row["created_at"] < to_db_time(not_before):
        return None
    return str(row["kind"]), int(row["ticket_id"])


async def clear_pending(tx: Tx, user_id: int) -> None:
    await tx.execute("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,))


# --- chats ------------------------------------------------------------------------------


async def mark_chat_removed(tx: Tx, chat_id: int, now: dt.datetime | None) -> None:
    await tx.execute(
        "INSERT INTO known_chats (chat_id, bot_removed_at) VALUES (?, ?)"
        " ON CONFLICT(chat_id) DO UPDATE SET bot_removed_at = excluded.bot_removed_at",
        (chat_id, None if now is None else to_db_time(now)),
    )


async def chat_removed(tx: Tx, chat_id: int) -> bool:
    value = await tx.scalar("SELECT bot_removed_at FROM known_chats WHERE chat_id = ?", (chat_id,))
    return value is not None


# --- intake rate limit and processed updates ----------------------------------------


async def count_recent_intake(tx: Tx, user_id: int, since: dt.datetime) -> int:
    value = await tx.scalar(
        "SELECT COUNT(*) FROM intake_log WHERE user_id = ? AND at >= ?",
        (user_id, to_db_time(since)),
    )
    return int(value or 0)


async def log_intake(tx: Tx, user_id: int, now: dt.datetime) -> None:
    await tx.execute(
        "INSERT INTO intake_log (user_id, at) VALUES (?, ?)", (user_id, to_db_time(now))
    )


async def prune_intake_log(tx: Tx, before: dt.datetime) -> None:
    await tx.execute("DELETE FROM intake_log WHERE at < ?", (to_db_time(before),))


async def claim_update(tx: Tx, update_id: int, now: dt.datetime) -> bool:
    """True the first time an update id is seen; False for a redelivery."""
    changed = await tx.changes(
        "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)",
        (update_id, to_db_time(now)),
    )
    return changed > 0


async def prune_processed_updates(tx: Tx, before: dt.datetime) -> None:
    await tx.execute("DELETE FROM processed_updates WHERE at < ?", (to_db_time(before),))


async def get_people(tx: Tx, user_ids: list[int]) -> dict[int, Person]:
    if not user_ids:
        return {}
    marks = ",".join("?" * len(user_ids))
    rows = await tx.fetchall(f"SELECT * FROM people WHERE user_id IN ({marks})", user_ids)
    return {row["user_id"]: _person(row) for row in rows}
