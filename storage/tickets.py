"""Tickets, their events, attachments, drafts, declines and posted messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import aiosqlite

from bot.models import Attachment, Draft, Ticket, TicketEvent, TicketState
from storage.db import Tx, from_db_time, require_time, to_db_time

_OPEN = ("new", "assigned", "accepted", "reopened")
_OPEN_SQL = ",".join("?" * len(_OPEN))


def _ticket(row: aiosqlite.Row) -> Ticket:
    return Ticket(
        id=row["id"],
        reporter_id=row["reporter_id"],
        reporter_name=row["reporter_name"],
        origin_chat_id=row["origin_chat_id"],
        origin_message_id=row["origin_message_id"],
        origin_is_group=bool(row["origin_is_group"]),
        text=row["text"],
        category=row["category"],
        building=row["building"],
        unit=row["unit"],
        room=row["room"],
        urgent=bool(row["urgent"]),
        state=TicketState(row["state"]),
        assignee_key=row["assignee_key"],
        created_at=require_time(row["created_at"]),
        assigned_at=from_db_time(row["assigned_at"]),
        accepted_at=from_db_time(row["accepted_at"]),
        resolved_at=from_db_time(row["resolved_at"]),
        closed_at=from_db_time(row["closed_at"]),
        resolution_note=row["resolution_note"],
        rating=row["rating"],
        rated_at=from_db_time(row["rated_at"]),
        rating_comment=row["rating_comment"],
        parent_id=row["parent_id"],
        ack_due_at=from_db_time(row["ack_due_at"]),
        resolve_due_at=from_db_time(row["resolve_due_at"]),
        resolution_kind=row["resolution_kind"],
        follow_up_at=from_db_time(row["follow_up_at"]),
        on_behalf=bool(row["on_behalf"]),
    )


def _draft(row: aiosqlite.Row) -> Draft:
    return Draft(
        id=row["id"],
        reporter_id=row["reporter_id"],
        reporter_name=row["reporter_name"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        is_group=bool(row["is_group"]),
        text=row["text"],
        category=row["category"],
        building=row["building"],
        unit=row["unit"],
        room=row["room"],
        urgent=bool(row["urgent"]),
        created_at=require_time(row["created_at"]),
        state=row["state"],
        ticket_id=row["ticket_id"],
    )


async def insert_ticket(
    tx: Tx,
    *,
    reporter_id: int,
    reporter_name: str,
    origin_chat_id: int,
    origin_message_id: int | None,
    origin_is_group: bool,
    text: str,
    category: str,
    building: str | None,
    unit: str | None,
    room: str | None,
    urgent: bool,
    now: dt.datetime,
    ack_due_at: dt.datetime,
    resolve_due_at: dt.datetime,
    on_behalf: bool = False,
) -> Ticket:
    row = await tx.fetchone(
        "INSERT INTO tickets (reporter_id, reporter_name, origin_chat_id, origin_message_id,"
        " origin_is_group, text, category, building, unit, room, urgent, state, created_at,"
        " ack_due_at, resolve_due_at, on_behalf)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?) RETURNING *",
        (
            reporter_id,
            reporter_name,
            origin_chat_id,
            origin_message_id,
            int(origin_is_group),
            text,
            category,
            building,
            unit,
            room,
            int(urgent),
            to_db_time(now),
            to_db_time(ack_due_at),
            to_db_time(resolve_due_at),
            int(on_behalf),
        ),
    )
    assert row is not None
    return _ticket(row)


async def get_ticket(tx: Tx, ticket_id: int) -> Ticket | None:
    row = await tx.fetchone("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
    return None if row is None else _ticket(row)


# Columns a state change may touch; keeps update_ticket's SQL built from known names only.
_UPDATABLE = {
    "state",
    "assignee_key",
    "assigned_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "resolution_note",
    "rating",
    "rated_at",
    "rating_comment",
    "category",
    "parent_id",
    "ack_due_at",
    "resolve_due_at",
    "resolution_kind",
    "follow_up_at",
    "deadline_reminded_at",
}


async def update_ticket(
    tx: Tx, ticket_id: int, expected_state: TicketState | None = None, **changes: Any
) -> Ticket | None:
    """Apply changes; with `expected_state`, only if the ticket is still in that state
    (so two staff pressing Accept at once cannot both win). Returns the new ticket or None."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    values: list[Any] = []
    for value in changes.values():
        if isinstance(value, dt.datetime):
            values.append(to_db_time(value))
        elif isinstance(value, TicketState):
            values.append(value.value)
        else:
            values.append(value)
    assignments = ", ".join(f"{column} = ?" for column in changes)
    sql = f"UPDATE tickets SET {assignments} WHERE id = ?"
    params: list[Any] = [*values, ticket_id]
    if expected_state is not None:
        sql += " AND state = ?"
        params.append(expected_state.value)
    row = await tx.fetchone(sql + " RETURNING *", params)
    return None if row is None else _ticket(row)


async def add_event(
    tx: Tx,
    ticket_id: int,
    kind: str,
    now: dt.datetime,
    *,
    actor_id: int | None = None,
    actor_key: str | None = None,
    note: str | None = None,
) -> int:
    return await tx.insert(
        "INSERT INTO ticket_events (ticket_id, at, actor_id, actor_key, kind, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (ticket_id, to_db_time(now), actor_id, actor_key, kind, note),
    )


async def events_for(tx: Tx, ticket_id: int) -> list[TicketEvent]:
    rows = await tx.fetchall(
        "SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )
    return [
        TicketEvent(
            id=row["id"],
            ticket_id=row["ticket_id"],
            at=require_time(row["at"]),
            actor_id=row["actor_id"],
            actor_key=row["actor_key"],
            kind=row["kind"],
            note=row["note"],
        )
        for row in rows
    ]


async def tickets_of_reporter(tx: Tx, reporter_id: int, limit: int = 10) -> list[Ticket]:
    rows = await tx.fetchall(
        "SELECT * FROM tickets WHERE reporter_id = ? ORDER BY id DESC LIMIT ?",
        (reporter_id, limit),
    )
    return [_ticket(row) for row in rows]


async def open_tickets(
    tx: Tx, *, assignee_keys: Sequence[str] | None = None, limit: int = 50
) -> list[Ticket]:
    if assignee_keys is None:
        rows = await tx.fetchall(
            f"SELECT * FROM tickets WHERE state IN ({_OPEN_SQL}) ORDER BY id LIMIT ?",
            (*_OPEN, limit),
        )
    else:
        keys_sql = ",".join("?" * len(assignee_keys)) or "NULL"
        rows = await tx.fetchall(
            f"SELECT * FROM tickets WHERE state IN ({_OPEN_SQL})"
            f" AND assignee_key IN ({keys_sql}) ORDER BY id LIMIT ?",
            (*_OPEN, *assignee_keys, limit),
        )
    return [_ticket(row) for row in rows]


async def open_counts(tx: Tx, staff_keys: Collection[str]) -> dict[str, int]:
    """Open tickets held by each of these staff members (an index range each, however
    many tickets the years have piled up)."""
    if not staff_keys:
        return {}
    marks = ",".join("?" * len(staff_keys))
    rows = await tx.fetchall(
        f"SELECT assignee_key, COUNT(*) FROM tickets WHERE assignee_key IN ({marks})"
        f" AND state IN ({_OPEN_SQL}) GROUP BY assignee_key",
        (*staff_keys, *_OPEN),
    )
    return {row[0]: row[1] for row in rows}


async def last_assigned(tx: Tx, staff_keys: Collection[str]) -> dict[str, dt.datetime]:
    """When each of these staff members was last given a ticket: the round-robin
    tie-breaker. A MAX per member reads one index entry instead of every event."""
    if not staff_keys:
        return {}
    values = ",".join(["(?)"] * len(staff_keys))
    rows = await tx.fetchall(
        f"WITH staff(key) AS (VALUES {values}) SELECT key, (SELECT MAX(at) FROM ticket_events"
        " WHERE kind = 'assigned' AND actor_key = staff.key) FROM staff",
        tuple(staff_keys),
    )
    return {row[0]: require_time(row[1]) for row in rows if row[1] is not None}


async def resolved_unrated_before(tx: Tx, cutoff: dt.datetime) -> list[Ticket]:
    rows = await tx.fetchall(
        "SELECT * FROM tickets WHERE state = 'resolved' AND resolved_at < ? ORDER BY id",
        (to_db_time(cutoff),),
    )
    return [_ticket(row) for row in rows]


async def add_decline(tx: Tx, ticket_id: int, staff_key: str) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO declines (ticket_id, staff_key) VALUES (?, ?)",
        (ticket_id, staff_key),
    )


async def declined_by(tx: Tx, ticket_id: int) -> set[str]:
    rows = await tx.fetchall("SELECT staff_key FROM declines WHERE ticket_id = ?", (ticket_id,))
    return {row[0] for row in rows}


async def clear_declines(tx: Tx, ticket_id: int) -> None:
    await tx.execute("DELETE FROM declines WHERE ticket_id = ?", (ticket_id,))


async def add_attachment(
    tx: Tx,
    attachment: Attachment,
    now: dt.datetime,
    *,
    ticket_id: int | None = None,
    draft_id: int | None = None,
    added_by: int | None = None,
) -> None:
    await tx.insert(
        "INSERT INTO attachments (ticket_id, draft_id, kind, file_id, latitude, longitude,"
        " added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ticket_id,
            draft_id,
            attachment.kind,
            attachment.file_id,
            attachment.latitude,
            attachment.longitude,
            added_by,
            to_db_time(now),
        ),
    )


def _attachment(row: aiosqlite.Row) -> Attachment:
    return Attachment(
        kind=row["kind"],
        file_id=row["file_id"],
        latitude=row["latitude"],
        longitude=row["longitude"],
    )


async def attachments_for(tx: Tx, ticket_id: int) -> list[Attachment]:
    rows = await tx.fetchall(
        "SELECT * FROM attachments WHERE ticket_id = ? ORDER BY id", (ticket_id,)
    )
    return [_attachment(row) for row in rows]


async def move_draft_attachments(tx: Tx, draft_id: int, ticket_id: int) -> None:
    await tx.execute(
        "UPDATE attachments SET ticket_id = ?, draft_id = NULL WHERE draft_id = ?",
        (ticket_id, draft_id),
    )


async def insert_draft(
    tx: Tx,
    *,
    reporter_id: int,
    reporter_name: str,
    chat_id: int,
    message_id: int | None,
    is_group: bool,
    text: str,
    category: str,
    building: str | None,
    unit: str | None,
    room: str | None,
    urgent: bool,
    now: dt.datetime,
) -> Draft:
    row = await tx.fetchone(
        "INSERT INTO drafts (reporter_id, reporter_name, chat_id, message_id, is_group, text,"
        " category, building, unit, room, urgent, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            reporter_id,
            reporter_name,
            chat_id,
            message_id,
            int(is_group),
            text,
            category,
            building,
            unit,
            room,
            int(urgent),
            to_db_time(now),
        ),
    )
    assert row is not None
    return _draft(row)


async def get_draft(tx: Tx, draft_id: int) -> Draft | None:
    row = await tx.fetchone("SELECT * FROM drafts WHERE id = ?", (draft_id,))
    return None if row is None else _draft(row)


async def open_draft_of(tx: Tx, reporter_id: int, chat_id: int) -> Draft | None:
    row = await tx.fetchone(
        "SELECT * FROM drafts WHERE reporter_id = ? AND chat_id = ? AND state = 'open'"
        " ORDER BY id DESC LIMIT 1",
        (reporter_id, chat_id),
    )
    return None if row is None else _draft(row)


async def close_draft(tx: Tx, draft_id: int, state: str, ticket_id: int | None = None) -> bool:
    changed = await tx.changes(
        "UPDATE drafts SET state = ?, ticket_id = ? WHERE id = ? AND state = 'open'",
        (state, ticket_id, draft_id),
    )
    return changed > 0


async def update_draft_text(tx: Tx, draft_id: int, text: str) -> None:
    await tx.execute("UPDATE drafts SET text = ? WHERE id = ?", (text, draft_id))


async def record_message(
    tx: Tx, ticket_id: int, chat_id: int, message_id: int, purpose: str
) -> None:
    await tx.execute(
        "INSERT OR REPLACE INTO ticket_messages (ticket_id, chat_id, message_id, purpose)"
        " VALUES (?, ?, ?, ?)",
        (ticket_id, chat_id, message_id, purpose),
    )


async def messages_for(tx: Tx, ticket_id: int, purpose: str) -> list[tuple[int, int]]:
    rows = await tx.fetchall(
        "SELECT chat_id, message_id FROM ticket_messages WHERE ticket_id = ? AND purpose = ?",
        (ticket_id, purpose),
    )
    return [(row[0], row[1]) for row in rows]


async def ticket_for_message(tx: Tx, chat_id: int, message_id: int) -> int | None:
    value = await tx.scalar(
        "SELECT ticket_id FROM ticket_messages WHERE chat_id = ? AND message_id = ?",
        (chat_id, message_id),
    )
    return None if value is None else int(value)


async def move_draft_attachments_to_draft(tx: Tx, old_draft_id: int, new_draft_id: int) -> None:
    await tx.execute(
        "UPDATE attachments SET draft_id = ? WHERE draft_id = ?", (new_draft_id, old_draft_id)
    )
