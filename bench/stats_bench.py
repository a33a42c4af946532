"""How long /stats takes on a big database.

    python bench/stats_bench.py [n]     # default 100000 tickets

Builds a throwaway database with n tickets spread over the last year (with their
accepted/resolved/rated events), then times the service behind /stats (median of 5 runs):
this month so far (NOW is the 15th), the whole of last month, the full /stats reply, and
the last 365 days (every ticket in the period: the worst case). Target: < 200 ms for a
month at 100,000 tickets; `python -m bench stats` reports it in the project's table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot import stats
from bot.cli import demo_config_path
from bot.clock import FakeClock
from bot.config import load_community
from bot.models import Actor
from bot.parsing import Parser
from bot.routing import team_for
from bot.services import Desk
from bot.texts import Texts
from storage.db import Database
from storage.stats import BulkTicket, bulk_insert

NOW = dt.datetime(2026, 12, 15, 2, 0, tzinfo=dt.UTC)
WISHES = ("想学吉他，能开个班吗", "希望开智能手机课", "书法班什么时候报名", "楼道灯坏了", "")


def _tickets(n: int, desk: Desk, seed: int = 8) -> list[BulkTicket]:
    rng = random.Random(seed)
    config = desk.config
    categories = sorted(config.category_teams)
    members: dict[str, list[str]] = {}
    for member in config.staff:
        for team in member.teams:
            members.setdefault(team, []).append(member.key)
    minute = dt.timedelta(minutes=1)
    rows = []
    for _ in range(n):
        created = NOW - dt.timedelta(seconds=rng.randrange(365 * 86400))
        category = rng.choice(categories)
        staff = members.get(team_for(config, category), ["li"])
        accepted = created + rng.randrange(1, 90) * minute if rng.random() < 0.95 else None
        resolved = None
        if accepted is not None and rng.random() < 0.9:
            resolved = accepted + rng.randrange(10, 14 * 24 * 60) * minute
        if resolved is not None and resolved > NOW:
            resolved = None
        rating = rng.choice((1, 3, 4, 5, 5, 5)) if resolved and rng.random() < 0.6 else None
        state = (
            "closed" if rating else "resolved" if resolved else "accepted" if accepted else "new"
        )
        rows.append(
            BulkTicket(
                created_at=created,
                category=category,
                state="cancelled" if rng.random() < 0.02 else state,
                building=str(rng.randint(1, 20)) if rng.random() < 0.8 else None,
                urgent=rng.random() < 0.05,
                assignee_key=rng.choice(staff) if accepted else None,
                accepted_at=accepted,
                resolved_at=resolved,
                closed_at=resolved if rating else None,
                rating=rating,
                rated_at=resolved + 60 * minute if rating and resolved else None,
                ack_due_at=created + 10 * minute if rng.random() < 0.7 else None,
                resolve_due_at=created + dt.timedelta(days=7) if rng.random() < 0.7 else None,
                text=rng.choice(WISHES),
                reporter_id=rng.randint(1, 5000),
            )
        )
    # Ids grow with time in a real database; keep that, or every index lookup is random.
    rows.sort(key=lambda row: row.created_at)
    return rows


async def _timed(desk: Desk, period: stats.Period, rounds: int) -> tuple[float, int]:
    timings = []
    received = 0
    for _ in range(rounds):
        began = time.perf_counter()
        figures = await stats.compute(desk, period)
        stats.render_figures(desk, "zh", figures)
        timings.append((time.perf_counter() - began) * 1000)
        received = figures.total.received
    return statistics.median(timings), received


async def _run(n: int, rounds: int) -> dict[str, Any]:
    config = load_community(demo_config_path())
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.sqlite3")
        desk = Desk(
            db=db,
            config=config,
            texts=Texts(),
            clock=FakeClock(NOW),
            parser=Parser(config.vocabulary),
        )
        try:
            began = time.perf_counter()
            rows = _tickets(n, desk)
            async with db.transaction() as tx:
                for offset in range(0, len(rows), 10_000):
                    await bulk_insert(tx, rows[offset : offset + 10_000])
            build_s = time.perf_counter() - began
            zone = config.timezone
            month = stats.parse_period("month", NOW, zone)
            last_month = stats.parse_period("2026-11", NOW, zone)
            year = stats.parse_period("365d", NOW, zone)
            month_ms, month_tickets = await _timed(desk, month, rounds)
            full_ms, full_tickets = await _timed(desk, last_month, rounds)
            year_ms, year_tickets = await _timed(desk, year, rounds)
            command = []
            for _ in range(rounds):
                began = time.perf_counter()
                reply = await stats.stats_report(desk, Actor(900001, "li"), "month")
                command.append((time.perf_counter() - began) * 1000)
                assert reply.ok
            command_ms = statistics.median(command)
        finally:
            await db.close()
    return {
        "tickets": n,
        "build_s": round(build_s, 2),
        "month_tickets": month_tickets,
        "month_ms": round(month_ms, 1),
        "stats_command_ms": round(command_ms, 1),
        "last_month_tickets": full_tickets,
        "last_month_ms": round(full_ms, 1),
        "year_tickets": year_tickets,
        "year_ms": round(year_ms, 1),
    }


def run(n: int, rounds: int = 5) -> dict[str, Any]:
    """Build a database with n tickets and time /stats's service call (median of rounds):
    the figures for this month and for the last 365 days, and the whole /stats reply
    (staff check, figures, rendering) for this month."""
    return asyncio.run(_run(n, rounds))


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    result = run(size)
    for name, value in result.items():
        print(f"{name:>18}: {value}")
    print("target: month_ms < 200 ms at 100000 tickets")
