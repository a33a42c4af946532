"""CSV export of tickets and their events: /export [period] in Telegram and
`community-bot export --since ... --out FILE.csv` offline.

UTF-8 with a BOM so Excel opens Chinese text correctly; one row per event, each repeating
its ticket's columns (a ticket without events still gets a row), times in the community's
zone. Rows are streamed from SQLite, never loaded all at once."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import jinja2

from bot import stats
from bot.clock import SystemClock
from bot.config import ConfigError, load_community
from bot.models import Actor
from bot.parsing import Parser
from bot.services import Desk
from bot.texts import Texts, default_texts
from storage import stats as repo
from storage.db import Database, from_db_time

ENCODING = "utf-8-sig"  # the BOM tells Excel the file is UTF-8
MAX_UPLOAD = 45 * 1024 * 1024  # Telegram bots may send documents up to 50 MB
COLUMNS: tuple[str, ...] = (
    "ticket",
    "created",
    "category",
    "team",
    "state",
    "urgent",
    "building",
    "unit",
    "room",
    "reporter",
    "text",
    "assignee",
    "accepted",
    "resolved",
    "closed",
    "ack_due",
    "resolve_due",
    "resolution_note",
    "rating",
    "rating_comment",
    "event_time",
    "event",
    "event_by",
    "event_note",
)
# Cells that Excel would run as a formula: residents' text must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ExportResult:
    tickets: int
    rows: int


@dataclass(frozen=True, slots=True)
class ExportReply:
    text: str
    ok: bool = True
    data: bytes | None = None
    filename: str | None = None


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Cells:
    """Turns stored values into what a person reads in the sheet."""

    def __init__(self, desk: Desk, locale: str) -> None:
        self.desk, self.locale = desk, locale
        self.staff = {member.key: member.name for member in desk.config.staff}

    def time(self, value: str | None) -> str:
        moment = from_db_time(value)
        return "" if moment is None else self.desk.local(moment).strftime("%Y-%m-%d %H:%M:%S")

    def label(self, kind: str, name: str | None) -> str:
        if not name:
            return ""
        try:
            return self.desk.label(self.locale, kind, name)
        except jinja2.UndefinedError:  # a name newer than the labels: keep it as stored
            return name

    def team(self, category: str) -> str:
        key = self.desk.config.category_teams.get(
            category, self.desk.config.category_teams.get("other", "")
        )
        team = self.desk.config.teams.get(key)
        return team.name if team else key

    def row(self, item: repo.ExportRow) -> list[str]:
        t = item.ticket
        actor = self.staff.get(item.event_actor_key or "", item.event_actor_key or "")
        if not actor and item.event_actor_id is not None:
            same = item.event_actor_id == t["reporter_id"]
            actor = t["reporter_name"] if same else str(item.event_actor_id)
        values: list[Any] = [
            t["id"],
            self.time(t["created_at"]),
            self.label("category", t["category"]),
            self.team(t["category"]),
            self.label("state", t["state"]),
            "1" if t["urgent"] else "",
            t["building"],
            t["unit"],
            t["room"],
            t["reporter_name"],
            t["text"],
            self.staff.get(t["assignee_key"] or "", t["assignee_key"]),
            self.time(t["accepted_at"]),
            self.time(t["resolved_at"]),
            self.time(t["closed_at"]),
            self.time(t["ack_due_at"]),
            self.time(t["resolve_due_at"]),
            t["resolution_note"],
            t["rating"],
            t["rating_comment"],
            self.time(item.event_at),
            self.label("event", item.event_kind),
            actor,
            item.event_note,
        ]
        return [_safe(value) for value in values]


async def write_csv(desk: Desk, period: stats.Period, out: TextIO, locale: str) -> ExportResult:
    """Write the header and one row per ticket event to `out` (opened with newline="")."""
    writer = csv.writer(out)
    writer.writerow(
        [desk.texts.render(locale, "stats_export", part="column", name=c) for c in COLUMNS]
    )
    cells = _Cells(desk, locale)
    tickets: set[int] = set()
    rows = 0
    async with desk.db.reading() as tx:
        async for item in repo.export_rows(tx, period.start, period.end):
            writer.writerow(cells.row(item))
            tickets.add(int(item.ticket["id"]))
            rows += 1
    return ExportResult(tickets=len(tickets), rows=rows)


def filename(period: stats.Period) -> str:
    return f"tickets-{period.key.replace('..', '_')}.csv"


async def export_command(desk: Desk, actor: Actor, arg: str | None) -> ExportReply:
    """/export [period]: staff only; the CSV comes back as bytes for the handler to send."""
    if not await stats.is_staff(desk, actor):
        return ExportReply(stats.refusal(desk, actor, "not_staff").text, ok=False)
    try:
        period = stats.parse_period(arg, desk.now(), desk.config.timezone)
    except stats.PeriodError:
        return ExportReply(stats.refusal(desk, actor, "usage_export").text, ok=False)
    buffer = io.StringIO(newline="")
    result = await write_csv(desk, period, buffer, actor.locale)
    data = buffer.getvalue().encode(ENCODING)

    def say(part: str) -> str:
        return desk.texts.render(
            actor.locale,
            "stats_export",
            part=part,
            period=period,
            tickets=result.tickets,
            rows=result.rows,
        )

    if len(data) > MAX_UPLOAD:
        return ExportReply(say("too_large"), ok=False)
    return ExportReply(say("caption"), data=data, filename=filename(period))


# --- offline: community-bot export ----------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD (local)")
    parser.add_argument("--until", default=None, help="last day, YYYY-MM-DD (default today)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--db", type=Path, default=None)


def _day(value: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(key, f"expected a date such as 2026-11-01, got {value!r}") from None


async def _export_file(
    desk_config_path: Path, db_path: Path, since: str, until: str | None, out: Path
) -> ExportResult:
    config = load_community(desk_config_path)
    zone = config.timezone
    first = _day(since, "--since")
    last = _day(until, "--until") if until else dt.datetime.now(zone).date()
    if last < first:
        raise ConfigError("--until", f"{last} is before --since {first}")
    db = await Database.open(db_path)
    try:
        desk = Desk(
            db=db,
            config=config,
            texts=Texts(),
            clock=SystemClock(),
            parser=Parser(config.vocabulary),
        )
        period = stats.Period.of_days(first, last, zone)
        with out.open("w", encoding=ENCODING, newline="") as stream:
            return await write_csv(desk, period, stream, config.locale)
    finally:
        await db.close()


def run_cli(args: argparse.Namespace, default_config: Path) -> int:
    """`community-bot export`: the same CSV as /export, written to --out."""
    db_path = args.db or Path(os.environ.get("COMMUNITY_DB", "community-desk.sqlite3"))
    config_path = args.config or Path(os.environ.get("COMMUNITY_CONFIG", default_config))
    if not db_path.exists():  # opening it would create an empty database
        raise ConfigError("--db", f"not found: {db_path}")
    result = asyncio.run(_export_file(config_path, db_path, args.since, args.until, args.out))
    print(
        default_texts().render(
            "en",
            "stats_export",
            part="done",
            tickets=result.tickets,
            rows=result.rows,
            out=args.out,
        )
    )
    return 0
