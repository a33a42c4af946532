"""Service-quality aggregates, computed in SQL over the tickets received in a period.

Nothing here loads whole ticket rows: counts and sums come back one row per group, and
percentiles come back as the few ranked durations that define them.

Definitions (the denominators matter; bot/stats.py documents them for people):
- cohort: tickets created in [start, end), cancelled ones excluded;
- responded: first acceptance (`first_accepted_at`, kept by triggers from migration 004)
  at or before the acknowledgement deadline (`ack_due_at`, or
  created_at + sla.ack_minutes / urgent_ack_minutes for tickets filed before deadlines
  were stored); response denominator: tickets accepted, or whose deadline has passed;
- resolved in time: resolved_at at or before `resolve_due_at` (fallback created_at + 7 days);
  resolution denominator: tickets resolved, or whose deadline has passed;
- satisfied: rating >= 4 among rated tickets; unrated: resolved or closed with no rating.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import AsyncTx, Tx, to_db_time

DIMENSIONS: tuple[str, ...] = ("all", "category", "building", "team", "staff")
SATISFIED_MIN = 4
FALLBACK_RESOLVE_DAYS = 7


@dataclass(frozen=True, slots=True)
class GroupCounts:
    dimension: str  # one of DIMENSIONS
    key: str  # category / building / team / staff key; "" for "all" and for unknown
    received: int
    responded: int
    response_due: int
    resolved_in_time: int
    resolution_due: int
    resolved: int
    rated: int
    satisfied: int
    rating_sum: int
    unrated: int
    accepted: int  # tickets with a time to accept (the count behind its percentiles)


@dataclass(frozen=True, slots=True)
class RankedDuration:
    """One duration at a rank that a median or 90th percentile needs."""

    dimension: str
    key: str
    measure: str  # accept, resolve
    count: int  # how many durations the group has
    rank: int  # 1-based, in ascending order
    seconds: int


@dataclass(frozen=True, slots=True)
class DayCount:
    day: int  # index into the day boundaries passed in
    category: str
    count: int


@dataclass(frozen=True, slots=True)
class TicketLine:
    """A ticket in a digest list: ids and labels only, no resident details."""

    id: int
    category: str
    building: str | None
    assignee_key: str | None
    state: str
    rating: int | None
    due_at: str | None


@dataclass(frozen=True, slots=True)
class DemandCount:
    keyword: str
    tickets: int
    residents: int


@dataclass(frozen=True, slots=True)
class ExportRow:
    ticket: Mapping[str, Any]
    event_at: str | None
    event_kind: str | None
    event_actor_key: str | None
    event_actor_id: int | None
    event_note: str | None


@dataclass(frozen=True, slots=True)
class BulkTicket:
    """A ticket with its whole history, for fixtures and the benchmark (bulk_insert)."""

    created_at: dt.datetime
    category: str
    state: str = "new"
    building: str | None = None
    urgent: bool = False
    assignee_key: str | None = None
    accepted_at: dt.datetime | None = None
    first_accepted_at: dt.datetime | None = None  # earlier than accepted_at if reopened
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    rating: int | None = None
    rated_at: dt.datetime | None = None
    ack_due_at: dt.datetime | None = None
    resolve_due_at: dt.datetime | None = None
    text: str = ""
    reporter_id: int = 1
    reporter_name: str = "-"


# --- the cohort -------------------------------------------------------------------------

_COHORT = "stats_cohort"  # a TEMP table: private to the connection, dropped after use
_MEASURES = ("accept", "resolve")


def _cohort_select(
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    ack_minutes: int,
    urgent_ack_minutes: int,
    category_teams: Mapping[str, str],
) -> tuple[str, dict[str, Any]]:
    """One row of group keys, flags and durations per ticket received in [start, end)."""
    params: dict[str, Any] = {
        "start": to_db_time(start),
        "end": to_db_time(end),
        "now": to_db_time(now),
        "ack": int(ack_minutes),
        "uack": int(urgent_ack_minutes),
        "resolve_days": FALLBACK_RESOLVE_DAYS,
        # Like routing.team_for: a category without a team of its own goes to "other"'s.
        "fallback_team": category_teams.get("other", ""),
    }
    whens = []
    for index, (category, team) in enumerate(sorted(category_teams.items())):
        params[f"c{index}"], params[f"t{index}"] = category, team
        whens.append(f"WHEN :c{index} THEN :t{index}")
    team = f"CASE t.category {' '.join(whens)} ELSE :fallback_team END" if whens else "''"
    # Fallback deadlines are built in the stored text format (whole seconds from strftime
    # plus the original fraction), so every comparison is an exact text comparison.
    sql = f"""
    SELECT category, building, team, staff, rating,
           acc IS NOT NULL AND acc <= ack_due AS responded,
           acc IS NOT NULL OR ack_due <= :now AS response_due,
           resolved_at IS NOT NULL AND resolved_at <= resolve_due AS resolved_in_time,
           resolved_at IS NOT NULL OR resolve_due <= :now AS resolution_due,
           state IN ('resolved', 'closed') AND rating IS NULL AS unrated,
           CAST(round((julianday(acc) - julianday(created_at)) * 86400) AS INTEGER)
               AS accept_s,
           CAST(round((julianday(resolved_at) - julianday(created_at)) * 86400) AS INTEGER)
               AS resolve_s
    FROM (
        SELECT t.category AS category, COALESCE(t.building, '') AS building,
               {team} AS team, COALESCE(t.assignee_key, '') AS staff,
               t.rating AS rating, t.state AS state,
               t.created_at AS created_at, t.resolved_at AS resolved_at,
               COALESCE(t.first_accepted_at, t.accepted_at) AS acc,
               COALESCE(t.ack_due_at,
                        strftime('%Y-%m-%dT%H:%M:%S', t.created_at,
                                 '+' || (CASE WHEN t.urgent THEN :uack ELSE :ack END)
                                 || ' minutes') || substr(t.created_at, 20)) AS ack_due,
               COALESCE(t.resolve_due_at,
                        strftime('%Y-%m-%dT%H:%M:%S', t.created_at,
                                 '+' || :resolve_days || ' days')
                        || substr(t.created_at, 20)) AS resolve_due
        FROM tickets t
        WHERE t.created_at >= :start AND t.created_at < :end AND t.state != 'cancelled'
    )"""
    return sql, params


_SUMS = ", ".join(
    f"SUM({name})"
    for name in (
        "received",
        "responded",
        "response_due",
        "resolved_in_time",
        "resolution_due",
        "resolved",
        "rated",
        "satisfied",
        "rating_sum",
        "unrated",
        "accepted",
    )
)


def _counts_sql() -> str:
    """Group once by every key (a few hundred rows at most), then roll that up per
    dimension; "all" has no GROUP BY so it is one row even for an empty cohort."""
    parts = []
    for dimension in DIMENSIONS:
        key = "''" if dimension == "all" else dimension
        group = "" if dimension == "all" else f" GROUP BY {dimension}"
        parts.append(f"SELECT '{dimension}', {key}, {_SUMS} FROM g{group}")
    return f"""WITH g AS MATERIALIZED (
        SELECT category, building, team, staff, COUNT(*) AS received,
               SUM(responded) AS responded, SUM(response_due) AS response_due,
               SUM(resolved_in_time) AS resolved_in_time,
               SUM(resolution_due) AS resolution_due, COUNT(resolve_s) AS resolved,
               COUNT(rating) AS rated, SUM(rating >= {SATISFIED_MIN}) AS satisfied,
               SUM(rating) AS rating_sum, SUM(unrated) AS unrated,
               COUNT(accept_s) AS accepted
        FROM {_COHORT} GROUP BY category, building, team, staff
    )
    {" UNION ALL ".join(parts)}"""


def _ranks(n: int) -> tuple[int, int, int]:
    """Median ranks (n+1)/2 and (n+2)/2 (equal when n is odd; averaged) and the nearest
    rank for the 90th percentile, ceil(0.9 n); all 1-based."""
    return (n + 1) // 2, (n + 2) // 2, (9 * n + 9) // 10


async def _spreads(tx: Tx, counts: Sequence[GroupCounts]) -> list[RankedDuration]:
    """Each wanted rank is read with ORDER BY ... LIMIT 1 OFFSET k on an index of
    (group key, duration): no sort per query, and only single durations leave SQLite."""
    found: list[RankedDuration] = []
    for measure in _MEASURES:
        column = f"{measure}_s"
        for dimension in DIMENSIONS:
            key_sql = "" if dimension == "all" else f"{dimension}, "
            await tx.execute(
                f"CREATE INDEX temp.{_COHORT}_{dimension}_{measure}"
                f" ON {_COHORT} ({key_sql}{column})"
            )
            where = "" if dimension == "all" else f" AND {dimension} = ?"
            branch = (
                f"SELECT ?, (SELECT {column} FROM {_COHORT} WHERE {column} IS NOT NULL{where}"
                f" ORDER BY {column} LIMIT 1 OFFSET ?)"
            )
            wanted: list[tuple[GroupCounts, int, int]] = []
            for group in counts:
                n = group.accepted if measure == "accept" else group.resolved
                if group.dimension == dimension and n:
                    wanted.extend((group, n, rank) for rank in sorted(set(_ranks(n))))
            for chunk in range(0, len(wanted), 200):  # under SQLite's compound-select limit
                batch = wanted[chunk : chunk + 200]
                params: list[Any] = []
                for index, (group, _, rank) in enumerate(batch):
                    params.append(index)
                    if dimension != "all":
                        params.append(group.key)
                    params.append(rank - 1)
                rows = await tx.fetchall(" UNION ALL ".join([branch] * len(batch)), params)
                for row in rows:
                    group, n, rank = batch[int(row[0])]
                    found.append(
                        RankedDuration(dimension, group.key, measure, n, rank, int(row[1]))
                    )
    return found


async def cohort_figures(
    tx: Tx,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    ack_minutes: int,
    urgent_ack_minutes: int,
    category_teams: Mapping[str, str],
) -> tuple[list[GroupCounts], list[RankedDuration]]:
    """Counts for the whole cohort ("all": always exactly one row) and for each breakdown
    group, plus the durations at the ranks behind every median and 90th percentile.

    The cohort is computed once into a TEMP table (private to this connection; callers
    hold the database lock), which is dropped again whatever happens."""
    select, params = _cohort_select(
        start, end, now, ack_minutes, urgent_ack_minutes, category_teams
    )
    await tx.execute(f"DROP TABLE IF EXISTS temp.{_COHORT}")
    await tx.execute(f"CREATE TEMP TABLE {_COHORT} AS {select}", params)
    try:
        counts = [
            GroupCounts(row[0], str(row[1]), *(int(value or 0) for value in tuple(row)[2:]))
            for row in await tx.fetchall(_counts_sql())
        ]
        return counts, await _spreads(tx, counts)
    finally:
        await tx.execute(f"DROP TABLE IF EXISTS temp.{_COHORT}")


async def cancelled_count(tx: Tx, start: dt.datetime, end: dt.datetime) -> int:
    value = await tx.scalar(
        "SELECT COUNT(*) FROM tickets WHERE created_at >= ? AND created_at < ?"
        " AND state = 'cancelled'",
        (to_db_time(start), to_db_time(end)),
    )
    return int(value or 0)


async def any_ticket_before(tx: Tx, moment: dt.datetime) -> bool:
    value = await tx.scalar(
        "SELECT 1 FROM tickets WHERE created_at < ? LIMIT 1", (to_db_time(moment),)
    )
    return value is not None


# --- digest data ------------------------------------------------------------------------


async def daily_counts(tx: Tx, boundaries: Sequence[dt.datetime]) -> list[DayCount]:
    """Tickets received per day and category; `boundaries` are the local midnights (in UTC)
    so days are the community's days, whatever its zone's offsets."""
    if len(boundaries) < 2:
        return []
    params: dict[str, Any] = {}
    days = []
    for index in range(len(boundaries) - 1):
        params[f"s{index}"] = to_db_time(boundaries[index])
        params[f"e{index}"] = to_db_time(boundaries[index + 1])
        days.append(f"({index}, :s{index}, :e{index})")
    params["start"], params["end"] = params["s0"], params[f"e{len(boundaries) - 2}"]
    rows = await tx.fetchall(
        f"""WITH days(day, s, e) AS (VALUES {", ".join(days)})
        SELECT d.day, t.category, COUNT(*) FROM tickets t
        JOIN days d ON t.created_at >= d.s AND t.created_at < d.e
        WHERE t.created_at >= :start AND t.created_at < :end AND t.state != 'cancelled'
        GROUP BY d.day, t.category ORDER BY d.day, t.category""",
        params,
    )
    return [DayCount(int(row[0]), row[1], int(row[2])) for row in rows]


async def resolve_time_histogram(
    tx: Tx, start: dt.datetime, end: dt.datetime, edges: Sequence[int]
) -> list[int]:
    """Tickets resolved in [start, end) by time from filing to resolution: one count per
    bucket [0, edges[0]), [edges[0], edges[1]), ..., [edges[-1], inf) in seconds."""
    cases = " ".join(f"WHEN s < {int(edge)} THEN {index}" for index, edge in enumerate(edges))
    rows = await tx.fetchall(
        f"""SELECT CASE {cases} ELSE {len(edges)} END AS bucket, COUNT(*) FROM (
            SELECT (julianday(resolved_at) - julianday(created_at)) * 86400 AS s
            FROM tickets WHERE resolved_at >= ? AND resolved_at < ? AND state != 'cancelled'
        ) GROUP BY bucket""",
        (to_db_time(start), to_db_time(end)),
    )
    counts = [0] * (len(edges) + 1)
    for row in rows:
        counts[int(row[0])] = int(row[1])
    return counts


def _line(row: Any) -> TicketLine:
    return TicketLine(
        id=row["id"],
        category=row["category"],
        building=row["building"],
        assignee_key=row["assignee_key"],
        state=row["state"],
        rating=row["rating"],
        due_at=row["due"],
    )


async def overdue(
    tx: Tx, start: dt.datetime, end: dt.datetime, *, limit: int = 20
) -> tuple[int, list[TicketLine]]:
    """Tickets that were past their resolution deadline at some moment in [start, end):
    deadline before `end`, and not resolved by the deadline nor before `start`."""
    where = """FROM (
        SELECT id, category, building, assignee_key, state, rating, resolved_at,
               COALESCE(resolve_due_at, strftime('%Y-%m-%dT%H:%M:%S', created_at,
                        '+7 days') || substr(created_at, 20)) AS due
        FROM tickets WHERE state != 'cancelled' AND created_at < :end
          AND (resolved_at IS NULL OR resolved_at >= :start)
    ) WHERE due < :end AND (resolved_at IS NULL OR resolved_at > due)"""
    params = {"start": to_db_time(start), "end": to_db_time(end), "limit": limit}
    total = int(await tx.scalar(f"SELECT COUNT(*) {where}", params) or 0)
    rows = await tx.fetchall(f"SELECT * {where} ORDER BY due, id LIMIT :limit", params)
    return total, [_line(row) for row in rows]


async def low_rated(
    tx: Tx, start: dt.datetime, end: dt.datetime, *, max_rating: int, limit: int = 20
) -> tuple[int, list[TicketLine]]:
    """Tickets rated at most `max_rating` stars during [start, end)."""
    where = (
        "FROM tickets WHERE rated_at >= :start AND rated_at < :end AND rating <= :max"
        " AND state != 'cancelled'"
    )
    params = {"start": to_db_time(start), "end": to_db_time(end), "max": max_rating}
    total = int(await tx.scalar(f"SELECT COUNT(*) {where}", params) or 0)
    rows = await tx.fetchall(
        f"SELECT *, resolve_due_at AS due {where} ORDER BY rating, id LIMIT :limit",
        {**params, "limit": limit},
    )
    return total, [_line(row) for row in rows]


# --- demand tally -----------------------------------------------------------------------


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def demand(
    tx: Tx,
    start: dt.datetime,
    end: dt.datetime,
    *,
    keywords: Mapping[str, Sequence[str]],
    markers: Sequence[str],
    category: str = "activity",
) -> list[DemandCount]:
    """Tickets (and distinct residents) wishing for each activity keyword: tickets of the
    activity category mentioning it, or any ticket mentioning it together with a class or
    activity marker (a class or course word). A ticket naming two activities counts for both."""
    params: dict[str, Any] = {
        "start": to_db_time(start),
        "end": to_db_time(end),
        "category": category,
    }
    words = []
    for k_index, (key, patterns) in enumerate(sorted(keywords.items())):
        for p_index, pattern in enumerate(patterns):
            params[f"k{k_index}"] = key
            params[f"w{k_index}_{p_index}"] = _like(pattern)
            words.append(f"(:k{k_index}, :w{k_index}_{p_index})")
    if not words:
        return []
    marker_sql = []
    for index, marker in enumerate(markers):
        params[f"m{index}"] = _like(marker)
        marker_sql.append(f"t.text LIKE :m{index} ESCAPE '\\'")
    wish = " OR ".join(["t.category = :category", *marker_sql])
    rows = await tx.fetchall(
        f"""WITH words(keyword, pattern) AS (VALUES {", ".join(words)})
        SELECT w.keyword, COUNT(DISTINCT t.id), COUNT(DISTINCT t.reporter_id)
        FROM tickets t JOIN words w ON t.text LIKE w.pattern ESCAPE '\\'
        WHERE t.created_at >= :start AND t.created_at < :end AND t.state != 'cancelled'
          AND ({wish})
        GROUP BY w.keyword ORDER BY 2 DESC, 3 DESC, w.keyword""",
        params,
    )
    return [DemandCount(row[0], int(row[1]), int(row[2])) for row in rows]


async def unmatched_activity(
    tx: Tx,
    start: dt.datetime,
    end: dt.datetime,
    *,
    keywords: Sequence[str],
    category: str = "activity",
) -> int:
    """Activity tickets that name none of the known keywords (shown as "other wishes")."""
    params: dict[str, Any] = {
        "start": to_db_time(start),
        "end": to_db_time(end),
        "category": category,
    }
    clauses = []
    for index, word in enumerate(keywords):
        params[f"w{index}"] = _like(word)
        clauses.append(f"text NOT LIKE :w{index} ESCAPE '\\'")
    extra = "".join(f" AND {clause}" for clause in clauses)
    value = await tx.scalar(
        "SELECT COUNT(*) FROM tickets WHERE created_at >= :start AND created_at < :end"
        f" AND state != 'cancelled' AND category = :category{extra}",
        params,
    )
    return int(value or 0)


# --- export -----------------------------------------------------------------------------


async def export_rows(
    tx: AsyncTx, start: dt.datetime, end: dt.datetime, *, batch: int = 500
) -> AsyncIterator[ExportRow]:
    """Every ticket created in [start, end) with each of its events (a ticket without
    events still gets one row), streamed in batches rather than loaded at once."""
    async with tx.conn.execute(
        """SELECT t.*, e.at AS event_at, e.kind AS event_kind, e.actor_key AS event_actor_key,
                  e.actor_id AS event_actor_id, e.note AS event_note
           FROM tickets t LEFT JOIN ticket_events e ON e.ticket_id = t.id
           WHERE t.created_at >= ? AND t.created_at < ?
           ORDER BY t.id, e.id""",
        (to_db_time(start), to_db_time(end)),
    ) as cursor:
        while True:
            rows = await cursor.fetchmany(batch)
            if not rows:
                return
            for row in rows:
                names = row.keys()
                yield ExportRow(
                    ticket={name: row[name] for name in names if not name.startswith("event_")},
                    event_at=row["event_at"],
                    event_kind=row["event_kind"],
                    event_actor_key=row["event_actor_key"],
                    event_actor_id=row["event_actor_id"],
                    event_note=row["event_note"],
                )


# --- report runs (exactly once per period) -----------------------------------------------


async def run_recorded(tx: Tx, kind: str, period: str) -> bool:
    value = await tx.scalar(
        "SELECT 1 FROM report_runs WHERE kind = ? AND period = ?", (kind, period)
    )
    return value is not None


async def record_run(tx: Tx, kind: str, period: str, now: dt.datetime) -> bool:
    """True for the first caller; False when this period was already done."""
    changed = await tx.changes(
        "INSERT OR IGNORE INTO report_runs (kind, period, at) VALUES (?, ?, ?)",
        (kind, period, to_db_time(now)),
    )
    return changed > 0


# --- bulk insert (fixtures, benchmark) ---------------------------------------------------


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else to_db_time(moment)


async def bulk_insert(tx: Tx, rows: Sequence[BulkTicket]) -> list[int]:
    """Insert tickets with their created/accepted/resolved/rated events in a few
    executemany calls; returns the new ticket ids in order."""
    first = int(await tx.scalar("SELECT COALESCE(MAX(id), 0) FROM tickets") or 0) + 1
    ids = list(range(first, first + len(rows)))
    await tx.executemany(
        "INSERT INTO tickets (id, reporter_id, reporter_name, origin_chat_id,"
        " origin_is_group, text, category, building, urgent, state, assignee_key, created_at,"
        " assigned_at, accepted_at, first_accepted_at, resolved_at, closed_at, rating, rated_at,"
        " ack_due_at, resolve_due_at)"
        " VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                ticket_id,
                row.reporter_id,
                row.reporter_name,
                row.reporter_id,
                row.text,
                row.category,
                row.building,
                int(row.urgent),
                row.state,
                row.assignee_key,
                to_db_time(row.created_at),
                _time(row.accepted_at),
                _time(row.accepted_at),
                _time(row.first_accepted_at or row.accepted_at),
                _time(row.resolved_at),
                _time(row.closed_at),
                row.rating,
                _time(row.rated_at),
                _time(row.ack_due_at),
                _time(row.resolve_due_at),
            )
            for ticket_id, row in zip(ids, rows, strict=True)
        ],
    )
    events: list[tuple[int, str, str | None, str, str | None]] = []
    for ticket_id, row in zip(ids, rows, strict=True):
        events.append((ticket_id, to_db_time(row.created_at), None, "created", None))
        accepted = {row.first_accepted_at, row.accepted_at} - {None}
        for moment in sorted(m for m in accepted if m is not None):
            events.append((ticket_id, to_db_time(moment), row.assignee_key, "accepted", None))
        if row.resolved_at is not None:
            at = to_db_time(row.resolved_at)
            events.append((ticket_id, at, row.assignee_key, "resolved", None))
        if row.rated_at is not None:
            events.append((ticket_id, to_db_time(row.rated_at), None, "rated", str(row.rating)))
    await tx.executemany(
        "INSERT INTO ticket_events (ticket_id, at, actor_key, kind, note) VALUES (?, ?, ?, ?, ?)",
        events,
    )
    return ids
