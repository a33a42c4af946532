"""Scheduled notices: definitions, per-occurrence sent-records, RSVPs, subscriptions, held
DMs and the /notice conversation's drafts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot import recurrence
from bot.models import Outgoing
from bot.recurrence import Rule
from storage import outbox
from storage.db import Tx, from_db_time, require_time, to_db_time


@dataclass(frozen=True, slots=True)
class MonthTopic:
    """One month's topic in a lecture series (speaker/notes override the series')."""

    title: str
    speaker: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class NoticeSpec:
    """What defines a notice, from the config file or the /notice conversation."""

    kind: str  # announcement, lecture, vaccine
    title: str
    rule: Rule
    body: str = ""
    speaker: str | None = None
    place: str | None = None
    notes: str | None = None
    eligible: str | None = None
    bring: str | None = None
    topics: dict[str, MonthTopic] = field(default_factory=dict)  # "YYYY-MM" -> topic
    topic: str | None = None  # subscription topic
    announce_before: dt.timedelta = dt.timedelta(0)
    chats: tuple[int, ...] = ()
    capacity: int | None = None  # None: no sign-up


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    config_id: str | None
    spec: NoticeSpec
    state: str  # active, paused, cancelled, retired
    checked_until: dt.datetime
    created_by: int | None
    created_at: dt.datetime

    @property
    def rsvp(self) -> bool:
        return self.spec.capacity is not None and self.spec.capacity > 0


@dataclass(frozen=True, slots=True)
class Rsvp:
    notice_id: int
    occurs_at: dt.datetime
    user_id: int
    display_name: str
    status: str  # going, waiting, cancelled
    seq: int
    created_at: dt.datetime
    confirmed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class HeldDm:
    key: str
    user_id: int
    message: Outgoing
    deliver_after: dt.datetime
    expires_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Draft:
    user_id: int
    step: str
    data: dict[str, Any]
    updated_at: dt.datetime


# --- notices -----------------------------------------------------------------------------


def _topics_json(topics: dict[str, MonthTopic]) -> str:
    data = {
        month: {k: v for k, v in topic_fields(t).items() if v is not None}
        for month, t in sorted(topics.items())
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def topic_fields(topic: MonthTopic) -> dict[str, str | None]:
    return {"title": topic.title, "speaker": topic.speaker, "notes": topic.notes}


def _topics(text: str) -> dict[str, MonthTopic]:
    return {month: MonthTopic(**entry) for month, entry in json.loads(text).items()}


def _notice(row: aiosqlite.Row) -> Notice:
    spec = NoticeSpec(
        kind=row["kind"],
        title=row["title"],
        rule=recurrence.from_json(row["rule"]),
        body=row["body"],
        speaker=row["speaker"],
        place=row["place"],
        notes=row["notes"],
        eligible=row["eligible"],
        bring=row["bring"],
        topics=_topics(row["topics"]),
        topic=row["topic"],
        announce_before=dt.timedelta(minutes=row["announce_minutes"]),
        chats=tuple(json.loads(row["chats"])),
        capacity=row["capacity"],
    )
    return Notice(
        id=row["id"],
        config_id=row["config_id"],
        spec=spec,
        state=row["state"],
        checked_until=require_time(row["checked_until"]),
        created_by=row["created_by"],
        created_at=require_time(row["created_at"]),
    )


def _spec_columns(spec: NoticeSpec) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "title": spec.title,
        "body": spec.body,
        "speaker": spec.speaker,
        "place": spec.place,
        "notes": spec.notes,
        "eligible": spec.eligible,
        "bring": spec.bring,
        "topics": _topics_json(spec.topics),
        "topic": spec.topic,
        "rule": recurrence.to_json(spec.rule),
        "announce_minutes": int(spec.announce_before.total_seconds() // 60),
        "chats": json.dumps(list(spec.chats)),
        "capacity": spec.capacity,
    }


async def insert_notice(
    tx: Tx,
    spec: NoticeSpec,
    now: dt.datetime,
    *,
    created_by: int | None = None,
    config_id: str | None = None,
    config_hash: str | None = None,
) -> Notice:
    columns = _spec_columns(spec) | {
        "config_id": config_id,
        "config_hash": config_hash,
        "state": "active",
        "checked_until": to_db_time(now),
        "created_by": created_by,
        "created_at": to_db_time(now),
        "updated_at": to_db_time(now),
    }
    names = ", ".join(columns)
    marks = ", ".join(f":{name}" for name in columns)
    notice_id = await tx.insert(f"INSERT INTO notices ({names}) VALUES ({marks})", columns)
    notice = await get_notice(tx, notice_id)
    assert notice is not None
    return notice


async def update_spec(
    tx: Tx, notice_id: int, spec: NoticeSpec, now: dt.datetime, config_hash: str | None = None
) -> None:
    columns = _spec_columns(spec) | {"updated_at": to_db_time(now), "id": notice_id}
    assignments = ", ".join(f"{name} = :{name}" for name in columns if name != "id")
    if config_hash is not None:
        assignments += ", config_hash = :config_hash"
        columns["config_hash"] = config_hash
    await tx.execute(f"UPDATE notices SET {assignments} WHERE id = :id", columns)


async def get_notice(tx: Tx, notice_id: int) -> Notice | None:
    row = await tx.fetchone("SELECT * FROM notices WHERE id = ?", (notice_id,))
    return None if row is None else _notice(row)


async def config_notices(tx: Tx) -> dict[str, tuple[int, str | None]]:
    """config_id -> (notice id, hash of the definition last applied)."""
    rows = await tx.fetchall(
        "SELECT config_id, id, config_hash FROM notices WHERE config_id IS NOT NULL"
    )
    return {row[0]: (row[1], row[2]) for row in rows}


async def notices(tx: Tx, states: Sequence[str] = ("active",)) -> list[Notice]:
    marks = ", ".join("?" for _ in states)
    rows = await tx.fetchall(
        f"SELECT * FROM notices WHERE state IN ({marks}) ORDER BY id", tuple(states)
    )
    return [_notice(row) for row in rows]


async def set_state(tx: Tx, notice_id: int, state: str, now: dt.datetime) -> None:
    await tx.execute(
        "UPDATE notices SET state = ?, updated_at = ? WHERE id = ?",
        (state, to_db_time(now), notice_id),
    )


async def set_checked_until(tx: Tx, notice_id: int, moment: dt.datetime) -> None:
    # Never moves back: an occurrence once decided stays decided.
    await tx.execute(
        "UPDATE notices SET checked_until = MAX(checked_until, ?) WHERE id = ?",
        (to_db_time(moment), notice_id),
    )


async def reset_checked_until(tx: Tx, notice_id: int, moment: dt.datetime) -> None:
    """On resume: what fell due while paused is not 'missed', it was not wanted."""
    await tx.execute(
        "UPDATE notices SET checked_until = ? WHERE id = ?", (to_db_time(moment), notice_id)
    )


# --- occurrences (the sent-records) ------------------------------------------------------


async def record_occurrence(
    tx: Tx,
    notice_id: int,
    occurs_at: dt.datetime,
    post_at: dt.datetime,
    outcome: str,
    now: dt.datetime,
) -> bool:
    """False when this occurrence was decided before (sent, or skipped) — never twice."""
    changed = await tx.changes(
        "INSERT OR IGNORE INTO notice_occurrences (notice_id, occurs_at, post_at, outcome,"
        " decided_at) VALUES (?, ?, ?, ?, ?)",
        (notice_id, to_db_time(occurs_at), to_db_time(post_at), outcome, to_db_time(now)),
    )
    return changed > 0


async def occurrence_outcome(tx: Tx, notice_id: int, occurs_at: dt.datetime) -> str | None:
    value = await tx.scalar(
        "SELECT outcome FROM notice_occurrences WHERE notice_id = ? AND occurs_at = ?",
        (notice_id, to_db_time(occurs_at)),
    )
    return None if value is None else str(value)


# --- RSVPs ---------------------------------------------------------------------------------


def _rsvp(row: aiosqlite.Row) -> Rsvp:
    return Rsvp(
        notice_id=row["notice_id"],
        occurs_at=require_time(row["occurs_at"]),
        user_id=row["user_id"],
        display_name=row["display_name"],
        status=row["status"],
        seq=row["seq"],
        created_at=require_time(row["created_at"]),
        confirmed_at=from_db_time(row["confirmed_at"]),
    )


async def get_rsvp(tx: Tx, notice_id: int, occurs_at: dt.datetime, user_id: int) -> Rsvp | None:
    row = await tx.fetchone(
        "SELECT * FROM notice_rsvps WHERE notice_id = ? AND occurs_at = ? AND user_id = ?",
        (notice_id, to_db_time(occurs_at), user_id),
    )
    return None if row is None else _rsvp(row)


async def rsvps(
    tx: Tx, notice_id: int, occurs_at: dt.datetime, status: str | None = None
) -> list[Rsvp]:
    """In queue order; optionally only one status."""
    sql = "SELECT * FROM notice_rsvps WHERE notice_id = ? AND occurs_at = ?"
    params: list[Any] = [notice_id, to_db_time(occurs_at)]
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    rows = await tx.fetchall(sql + " ORDER BY seq", params)
    return [_rsvp(row) for row in rows]


async def count_going(tx: Tx, notice_id: int, occurs_at: dt.datetime) -> int:
    value = await tx.scalar(
        "SELECT COUNT(*) FROM notice_rsvps WHERE notice_id = ? AND occurs_at = ?"
        " AND status = 'going'",
        (notice_id, to_db_time(occurs_at)),
    )
    return int(value or 0)


async def waitlist_position(tx: Tx, rsvp: Rsvp) -> int:
    value = await tx.scalar(
        "SELECT COUNT(*) FROM notice_rsvps WHERE notice_id = ? AND occurs_at = ?"
        " AND status = 'waiting' AND seq <= ?",
        (rsvp.notice_id, to_db_time(rsvp.occurs_at), rsvp.seq),
    )
    return int(value or 0)


async def put_rsvp(
    tx: Tx,
    notice_id: int,
    occurs_at: dt.datetime,
    user_id: int,
    display_name: str,
    status: str,
    now: dt.datetime,
) -> Rsvp:
    """Sign up (again): a new place at the end of the queue."""
    seq = int(await tx.scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM notice_rsvps"))
    confirmed = to_db_time(now) if status == "going" else None
    await tx.execute(
        "INSERT INTO notice_rsvps (notice_id, occurs_at, user_id, display_name, status, seq,"
        " created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(notice_id, occurs_at, user_id) DO UPDATE SET"
        " display_name = excluded.display_name, status = excluded.status, seq = excluded.seq,"
        " confirmed_at = excluded.confirmed_at",
        (notice_id, to_db_time(occurs_at), user_id, display_name, status, seq,
         to_db_time(now), confirmed),
    )  # fmt: skip
    rsvp = await get_rsvp(tx, notice_id, occurs_at, user_id)
    assert rsvp is not None
    return rsvp


async def set_rsvp_status(
    tx: Tx, rsvp: Rsvp, status: str, now: dt.datetime, *, expect: str
) -> bool:
    """Compare-and-set, so two concurrent presses cannot both change the same row."""
    confirmed = to_db_time(now) if status == "going" else None
    changed = await tx.changes(
        "UPDATE notice_rsvps SET status = ?, confirmed_at = COALESCE(?, confirmed_at)"
        " WHERE notice_id = ? AND occurs_at = ? AND user_id = ? AND status = ?",
        (status, confirmed, rsvp.notice_id, to_db_time(rsvp.occurs_at), rsvp.user_id, expect),
    )
    return changed > 0


async def rsvps_of(tx: Tx, user_id: int, after: dt.datetime) -> list[Rsvp]:
    rows = await tx.fetchall(
        "SELECT * FROM notice_rsvps WHERE user_id = ? AND occurs_at > ?"
        " AND status != 'cancelled' ORDER BY occurs_at",
        (user_id, to_db_time(after)),
    )
    return [_rsvp(row) for row in rows]


async def rsvp_occurrences(tx: Tx, after: dt.datetime) -> list[tuple[int, dt.datetime]]:
    """(notice id, occurrence) of future occurrences somebody holds a place for."""
    rows = await tx.fetchall(
        "SELECT DISTINCT notice_id, occurs_at FROM notice_rsvps WHERE status = 'going'"
        " AND occurs_at > ? ORDER BY occurs_at",
        (to_db_time(after),),
    )
    return [(row[0], require_time(row[1])) for row in rows]


async def upcoming_rsvps(tx: Tx, notice_id: int, after: dt.datetime) -> list[Rsvp]:
    rows = await tx.fetchall(
        "SELECT * FROM notice_rsvps WHERE notice_id = ? AND occurs_at > ?"
        " AND status != 'cancelled' ORDER BY occurs_at, seq",
        (notice_id, to_db_time(after)),
    )
    return [_rsvp(row) for row in rows]


# --- subscriptions -------------------------------------------------------------------------


async def subscribe(tx: Tx, user_id: int, topic: str, now: dt.datetime) -> bool:
    changed = await tx.changes(
        "INSERT OR IGNORE INTO notice_subscriptions (user_id, topic, created_at) VALUES (?, ?, ?)",
        (user_id, topic, to_db_time(now)),
    )
    return changed > 0


async def unsubscribe(tx: Tx, user_id: int, topic: str | None) -> int:
    if topic is None:
        return await tx.changes("DELETE FROM notice_subscriptions WHERE user_id = ?", (user_id,))
    return await tx.changes(
        "DELETE FROM notice_subscriptions WHERE user_id = ? AND topic = ?", (user_id, topic)
    )


async def topics_of(tx: Tx, user_id: int) -> list[str]:
    rows = await tx.fetchall(
        "SELECT topic FROM notice_subscriptions WHERE user_id = ? ORDER BY topic", (user_id,)
    )
    return [row[0] for row in rows]


async def subscribers(tx: Tx, topic: str) -> list[int]:
    rows = await tx.fetchall(
        "SELECT user_id FROM notice_subscriptions WHERE topic = ? ORDER BY user_id", (topic,)
    )
    return [row[0] for row in rows]


# --- DMs (held through quiet hours) --------------------------------------------------------


async def hold_dm(
    tx: Tx,
    message: Outgoing,
    user_id: int,
    deliver_after: dt.datetime,
    expires_at: dt.datetime | None,
) -> bool:
    """False when a DM with this key was owed before (sent, waiting or dropped)."""
    changed = await tx.changes(
        "INSERT OR IGNORE INTO notice_dms (idem_key, user_id, payload, deliver_after,"
        " expires_at) VALUES (?, ?, ?, ?, ?)",
        (
            message.key,
            user_id,
            outbox.encode(message),
            to_db_time(deliver_after),
            None if expires_at is None else to_db_time(expires_at),
        ),
    )
    return changed > 0


async def due_dms(tx: Tx, now: dt.datetime, limit: int = 500) -> list[HeldDm]:
    rows = await tx.fetchall(
        "SELECT * FROM notice_dms WHERE released_at IS NULL AND deliver_after <= ?"
        " ORDER BY deliver_after, idem_key LIMIT ?",
        (to_db_time(now), limit),
    )
    return [
        HeldDm(
            key=row["idem_key"],
            user_id=row["user_id"],
            message=outbox.decode(row["payload"]),
            deliver_after=require_time(row["deliver_after"]),
            expires_at=from_db_time(row["expires_at"]),
        )
        for row in rows
    ]


async def release_dm(tx: Tx, key: str, now: dt.datetime, *, dropped: bool = False) -> None:
    await tx.execute(
        "UPDATE notice_dms SET released_at = ?, dropped = ? WHERE idem_key = ?",
        (to_db_time(now), int(dropped), key),
    )


async def held_count(tx: Tx) -> int:
    value = await tx.scalar("SELECT COUNT(*) FROM notice_dms WHERE released_at IS NULL")
    return int(value or 0)


# --- /notice drafts --------------------------------------------------------------------------


async def get_draft(tx: Tx, user_id: int) -> Draft | None:
    row = await tx.fetchone("SELECT * FROM notice_drafts WHERE user_id = ?", (user_id,))
    if row is None:
        return None
    return Draft(
        user_id=row["user_id"],
        step=row["step"],
        data=json.loads(row["data"]),
        updated_at=require_time(row["updated_at"]),
    )


async def put_draft(
    tx: Tx, user_id: int, step: str, data: dict[str, Any], now: dt.datetime
) -> None:
    await tx.execute(
        "INSERT OR REPLACE INTO notice_drafts (user_id, step, data, updated_at)"
        " VALUES (?, ?, ?, ?)",
        (user_id, step, json.dumps(data, ensure_ascii=False), to_db_time(now)),
    )


async def drop_draft(tx: Tx, user_id: int) -> None:
    await tx.execute("DELETE FROM notice_drafts WHERE user_id = ?", (user_id,))


# --- FAQ: questions parked as drafts until the resident asks for a person ----------------


async def unpark_faq_draft(tx: Tx, draft_id: int) -> bool:
    """'faq' → 'open' so the usual intake can file it. A parked draft is not 'open' (the
    private-chat intake would otherwise merge the resident's next message into it)."""
    changed = await tx.changes(
        "UPDATE drafts SET state = 'open' WHERE id = ? AND state = 'faq'", (draft_id,)
    )
    return changed > 0
