"""Parser speed: messages per second, p99 latency per message, start-up time.

Run: ``python bench/parser_bench.py [N]``. Single-threaded, so it measures one core.
Targets: >= 5,000 msg/s, p99 < 2 ms, start-up (constructing a Parser) < 1 s.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.parsing import Parser  # noqa: E402

DATA_FILES = (
    ROOT.parent / "shared" / "data" / "requests_dev.jsonl",
    ROOT / "data" / "requests_extra.jsonl",
)


def load_texts() -> list[str]:
    texts: list[str] = []
    for path in DATA_FILES:
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    return texts


def run(n: int = 20_000) -> dict[str, float]:
    texts = load_texts()
    if not texts:
        raise RuntimeError("no data files found")

    started = time.perf_counter()
    parser = Parser()
    startup_s = time.perf_counter() - started

    for text in texts:  # warm-up: first calls pay for regex caches and allocation
        parser.parse(text)

    latencies = [0] * n
    clock = time.perf_counter_ns
    begin = clock()
    # In order through ~1,900 distinct texts: far more than the Parser's memory of recent
    # messages holds, so every call parses.
    assert len(texts) > 1000
    for i in range(n):
        text = texts[i % len(texts)]
        t0 = clock()
        parser.parse(text)
        latencies[i] = clock() - t0
    total_s = (clock() - begin) / 1e9

    latencies.sort()
    return {
        "messages": float(n),
        "messages_per_s": n / total_s,
        "p50_ms": latencies[n // 2] / 1e6,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] / 1e6,
        "max_ms": latencies[-1] / 1e6,
        "startup_s": startup_s,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    for key, value in run(count).items():
        print(f"{key:>15}: {value:,.3f}")
