"""Smoke test of the benchmarks (bench/): each one runs on a tiny size and reports the
figures the table and bench/results.json are built from. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bench import broadcast_bench, intake_bench, memory_bench, parser_bench, stats_bench
from bench.__main__ import Sizes, render, rows, write_results
from bot.emulator import FakeBotApi, FaultKind, InProcessRequest


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return {
        "intake": intake_bench.run(n=12, concurrency=3),
        "broadcast": broadcast_bench.run_plan([(12, 0.0), (12, 0.25)]),
        "memory": memory_bench.run(tickets=12),
        "parser": parser_bench.run(200),
        "stats": stats_bench.run(300, rounds=1),
    }


def test_intake_compares_the_desk_with_a_bare_bot(raw: dict[str, Any]) -> None:
    result = raw["intake"]
    assert {"throughput_ratio", "p50_ratio", "p99_ratio", "full", "bare"} <= result.keys()
    for side in ("full", "bare"):
        assert {"updates", "updates_per_s", "p50_ms", "p99_ms"} <= result[side].keys()
        assert result[side]["updates"] == 12
    # Every message went the whole way: a ticket each (plus the warm-up's), ack + staff card.
    assert result["full"]["tickets"] >= 12
    assert result["full"]["sends_per_update"] >= 2
    assert result["bare"]["sends_per_update"] == 1
    # The third run replays the desk's own messages: its two per update, nothing more.
    same = result["bare_same_output"]
    assert same["updates"] == 12 and same["sends_per_update"] == 2
    assert {"same_output_throughput_ratio", "same_output_p99_ratio"} <= result.keys()


def test_broadcast_delivers_everything_once_even_with_429s(raw: dict[str, Any]) -> None:
    plain, faulty = raw["broadcast"]
    for result in (plain, faulty):
        assert {"seconds", "time_ratio", "lost", "doubled", "answered_429"} <= result.keys()
        assert (result["lost"], result["doubled"]) == (0, 0)
        assert result["outbox_states"] == {"sent": 12}
    assert faulty["fault_rate"] == 0.25


def test_memory_measures_both_bots_in_fresh_processes(raw: dict[str, Any]) -> None:
    result = raw["memory"]
    assert {"start_ratio", "after_ratio", "full", "bare"} <= result.keys()
    for side in ("full", "bare"):
        assert result[side]["rss_start_kib"] > 0
        assert result[side]["rss_after_kib"] > 0


def test_parser_and_stats_report_their_figures(raw: dict[str, Any]) -> None:
    assert {"messages_per_s", "p99_ms"} <= raw["parser"].keys()
    assert {"month_ms", "stats_command_ms", "year_ms", "tickets"} <= raw["stats"].keys()


def test_report_has_a_row_per_target_and_writes_results(
    raw: dict[str, Any], tmp_path: Path
) -> None:
    table = rows(raw)
    text = render(table)
    for name in ("intake", "broadcast", "memory", "parser", "stats"):
        assert name in text
    path = tmp_path / "results.json"
    write_results(path, raw, {"intake": 1.0}, Sizes(), quick=True)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert {"cpu", "cores", "ram_gib", "python", "python_telegram_bot"} <= written["machine"].keys()
    assert {"intake_throughput", "intake_p99", "memory_after"} <= written["ratios"].keys()
    assert len(written["targets"]) == sum(1 for row in table if row.met is not None)
    # A later single-benchmark run keeps the other figures.
    write_results(path, {"parser": raw["parser"]}, {}, Sizes(), quick=True)
    assert "intake" in json.loads(path.read_text(encoding="utf-8"))["raw"]


async def test_in_process_request_serves_the_emulator_like_http() -> None:
    api = FakeBotApi()
    api.add_user(42, "resident")
    request = InProcessRequest(api, read_timeout=0.2)
    async with Bot(api.token, request=request, get_updates_request=request) as bot:
        assert (await bot.get_me()).username == api.bot_username
        sent = await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert (sent.message_id, api.sent[-1].plain_text) == (1, "hi")
        photo = await bot.send_photo(42, b"\xff\xd8\xffimage", caption="c")
        file = await bot.get_file(photo.photo[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == b"\xff\xd8\xffimage"
        faults: list[tuple[FaultKind, type[Exception]]] = [
            ("drop", NetworkError),
            ("timeout", TimedOut),
            ("forbidden", Forbidden),
            ("retry_after", RetryAfter),
        ]
        for kind, error in faults:
            api.fail_next("sendMessage", kind=kind)
            with pytest.raises(error):
                await bot.send_message(42, "x")
        with pytest.raises(BadRequest, match="not found"):
            await bot.send_message(999, "x")
    await api.stop()
