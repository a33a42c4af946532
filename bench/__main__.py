"""Run the benchmarks and report them as one table plus bench/results.json.

    python -m bench all [--quick] [--serial]
    python -m bench intake|broadcast|memory|parser|stats [--n N] [--plan 1000,1000:0.05]

`all` takes about four minutes on two cores. The broadcast runs are paced by Telegram's
limits (30 messages/s), not by the CPU, so `all` runs them in a separate process alongside
the others; `--serial` runs everything one after another instead (about eight minutes).
`--quick` (or BENCH_QUICK=1) scales every size down for a check in well under a minute.
Ratios are the desk's figure over the bare python-telegram-bot's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import broadcast_bench, intake_bench, memory_bench, parser_bench, stats_bench
from bench.common import ROOT, machine

RESULTS = ROOT / "bench" / "results.json"
NAMES = ("parser", "intake", "stats", "memory", "broadcast")


@dataclass(frozen=True)
class Sizes:
    intake: int = 2000
    concurrency: int = 8
    # The 429 repeat is run at 1,000 only: at 5,000 it would add three minutes.
    broadcast: tuple[tuple[int, float], ...] = ((1000, 0.0), (1000, 0.05), (5000, 0.0))
    memory: int = 10_000
    parser: int = 20_000
    stats: int = 100_000


FULL = Sizes()
QUICK = Sizes(
    intake=300,
    broadcast=((300, 0.0), (300, 0.05)),
    memory=1000,
    parser=5000,
    stats=10_000,
)

RUNNERS: dict[str, Callable[[Sizes], Any]] = {
    "parser": lambda s: parser_bench.run(s.parser),
    "intake": lambda s: intake_bench.run(s.intake, s.concurrency),
    "stats": lambda s: stats_bench.run(s.stats),
    "memory": lambda s: memory_bench.run(s.memory),
    "broadcast": lambda s: broadcast_bench.run_plan(list(s.broadcast)),
}


def plan_text(plan: tuple[tuple[int, float], ...]) -> str:
    return ",".join(f"{n}:{rate}" for n, rate in plan)


def measure(
    names: tuple[str, ...], sizes: Sizes, *, serial: bool = False
) -> tuple[dict[str, Any], dict[str, float]]:
    """Raw figures per benchmark, and how long each took (seconds)."""
    raw: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    background: subprocess.Popen[str] | None = None
    began = time.perf_counter()
    if "broadcast" in names and not serial and len(names) > 1:
        background = subprocess.Popen(
            [sys.executable, "-m", "bench.broadcast_bench", plan_text(sizes.broadcast)],
            cwd=ROOT,
            env={**os.environ, "PTB_TIMEDELTA": "true"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for name in names:
        if name == "broadcast" and background is not None:
            continue
        print(f"running {name} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        raw[name] = RUNNERS[name](sizes)
        seconds[name] = round(time.perf_counter() - started, 1)
    if background is not None:
        print("waiting for broadcast …", file=sys.stderr, flush=True)
        out, err = background.communicate()
        if background.returncode != 0:
            raise RuntimeError(f"broadcast benchmark failed:\n{err[-3000:]}")
        raw["broadcast"] = json.loads(out.strip().splitlines()[-1])
        seconds["broadcast"] = round(time.perf_counter() - began, 1)
    return raw, seconds


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    desk: str
    bare: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None


def _n(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def rows(raw: dict[str, Any]) -> list[Row]:
    table: list[Row] = []
    if "intake" in raw:
        r = raw["intake"]
        full, bare = r["full"], r["bare"]
        label = f"intake ({r['n']} msgs, {r['concurrency']} in flight)"
        table += [
            Row(
                label,
                "updates/s",
                _n(full["updates_per_s"]),
                _n(bare["updates_per_s"]),
                _n(r["throughput_ratio"], 3),
                ">= 0.75",
                r["throughput_ratio"] >= 0.75,
            ),
            Row(
                label,
                "p50 latency ms",
                _n(full["p50_ms"]),
                _n(bare["p50_ms"]),
                _n(r["p50_ratio"], 2),
            ),
            Row(
                label,
                "p99 latency ms",
                _n(full["p99_ms"]),
                _n(bare["p99_ms"]),
                _n(r["p99_ratio"], 2),
                "<= 2",
                r["p99_ratio"] <= 2,
            ),
        ]
        same = r.get("bare_same_output")
        if same is not None:
            label = f"intake vs bare sending the desk's 2 messages ({r['n']} msgs)"
            table += [
                Row(
                    label,
                    "updates/s",
                    _n(full["updates_per_s"]),
                    _n(same["updates_per_s"]),
                    _n(r["same_output_throughput_ratio"], 3),
                ),
                Row(
                    label,
                    "p99 latency ms",
                    _n(full["p99_ms"]),
                    _n(same["p99_ms"]),
                    _n(r["same_output_p99_ratio"], 2),
                ),
            ]
    for r in raw.get("broadcast", []):
        faults = f" + {r['fault_rate']:.0%} 429" if r["fault_rate"] else ""
        label = f"broadcast ({r['n']} DMs{faults})"
        table += [
            Row(
                label,
                "time / (N/30)",
                f"{r['seconds']} s",
                ratio=_n(r["time_ratio"], 3),
                target="<= 1.05",
                met=r["time_ratio"] <= 1.05,
            ),
            Row(
                label,
                "lost / doubled",
                f"{r['lost']} / {r['doubled']}",
                target="0 / 0",
                met=r["lost"] == 0 and r["doubled"] == 0,
            ),
        ]
    if "memory" in raw:
        r = raw["memory"]
        full, bare = r["full"], r["bare"]
        table += [
            Row(
                "memory",
                "RSS after start MiB",
                _n(full["rss_start_kib"] / 1024),
                _n(bare["rss_start_kib"] / 1024),
                _n(r["start_ratio"], 2),
            ),
            Row(
                "memory",
                f"RSS after {r['tickets']} tickets MiB",
                _n(full["rss_after_kib"] / 1024),
                _n(bare["rss_after_kib"] / 1024),
                _n(r["after_ratio"], 2),
                "<= 1.5",
                r["after_ratio"] <= 1.5,
            ),
        ]
    if "parser" in raw:
        r = raw["parser"]
        table += [
            Row(
                "parser (one core)",
                "messages/s",
                _n(r["messages_per_s"], 0),
                target=">= 5,000",
                met=r["messages_per_s"] >= 5000,
            ),
            Row(
                "parser (one core)",
                "p99 ms / message",
                _n(r["p99_ms"], 3),
                target="< 2",
                met=r["p99_ms"] < 2,
            ),
        ]
    if "stats" in raw:
        r = raw["stats"]
        label = f"stats ({r['tickets']:,} tickets)"
        table += [
            Row(
                label,
                "/stats this month ms",
                _n(r["month_ms"]),
                target="< 200",
                met=r["month_ms"] < 200,
            ),
            Row(label, "/stats command ms", _n(r["stats_command_ms"])),
            Row(label, "365 days ms", _n(r["year_ms"])),
        ]
    return table


def render(table: list[Row]) -> str:
    header = ("benchmark", "figure", "desk", "bare PTB", "ratio", "target", "met")
    cells = [header] + [
        (
            r.benchmark,
            r.figure,
            r.desk,
            r.bare,
            r.ratio,
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in table
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def ratios(raw: dict[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    if "intake" in raw:
        found["intake_throughput"] = raw["intake"]["throughput_ratio"]
        found["intake_p99"] = raw["intake"]["p99_ratio"]
        if "same_output_throughput_ratio" in raw["intake"]:
            found["intake_same_output_throughput"] = raw["intake"]["same_output_throughput_ratio"]
            found["intake_same_output_p99"] = raw["intake"]["same_output_p99_ratio"]
    for r in raw.get("broadcast", []):
        suffix = f"_429_{r['fault_rate']:g}" if r["fault_rate"] else ""
        found[f"broadcast_{r['n']}{suffix}_time"] = r["time_ratio"]
    if "memory" in raw:
        found["memory_start"] = raw["memory"]["start_ratio"]
        found["memory_after"] = raw["memory"]["after_ratio"]
    return found


def write_results(
    path: Path, raw: dict[str, Any], seconds: dict[str, float], sizes: Sizes, quick: bool
) -> dict[str, Any]:
    """Merge into an earlier results file, so single-benchmark runs keep the others."""
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    merged_raw = {**previous.get("raw", {}), **raw}
    runs = {**previous.get("runs", {})}
    for name in raw:
        runs[name] = {"measured_at": now, "seconds": seconds.get(name), "quick": quick}
    table = rows(merged_raw)
    document = {
        "machine": machine(),
        "measured_at": now,
        "sizes": asdict(sizes),
        "ratios": ratios(merged_raw),
        "targets": [asdict(row) for row in table if row.met is not None],
        "runs": runs,
        "raw": merged_raw,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", choices=("all", *NAMES))
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--serial", action="store_true", help="no broadcast in the background")
    parser.add_argument("--n", type=int, help="size for a single benchmark")
    parser.add_argument("--concurrency", type=int, help="intake: messages in flight")
    parser.add_argument("--plan", help='broadcast runs, e.g. "1000,1000:0.05,5000"')
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    if args.n is not None and args.name not in ("all", "broadcast"):
        sizes = replace(sizes, **{args.name: args.n})
    if args.concurrency is not None:
        sizes = replace(sizes, concurrency=args.concurrency)
    if args.plan:
        sizes = replace(sizes, broadcast=tuple(broadcast_bench.parse_plan(args.plan)))
    names = NAMES if args.name == "all" else (args.name,)

    began = time.perf_counter()
    raw, seconds = measure(names, sizes, serial=args.serial)
    wall = time.perf_counter() - began
    write_results(args.output, raw, seconds, sizes, args.quick)
    description = machine()
    print(render(rows(raw)))
    print(
        f"\n{description['cpu']}, {description['cores']} cores, {description['ram_gib']} GiB; "
        f"Python {description['python']}, python-telegram-bot "
        f"{description['python_telegram_bot']}; {wall:.0f} s; written to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
