"""Parser evaluation on labelled JSON Lines, and the `parse` / `eval` CLI commands.

Record format: see shared taxonomy ({"text", "category", "also", "building", "unit",
"room", "urgent"}). A prediction counts as a correct category when it is in
``[category] + also``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.parsing import Parser
from bot.parsing.types import NOT_A_REQUEST, Vocabulary
from bot.texts import default_texts

ADDRESS_FIELDS: tuple[str, ...] = ("building", "unit", "room")

# Machine-readable error codes for `community-bot parse` (one per bad input line).
ERROR_EMPTY_LINE = "empty_line"
ERROR_INVALID_JSON = "invalid_json"
ERROR_NOT_AN_OBJECT = "not_an_object"
ERROR_MISSING_TEXT = "missing_text"
ERROR_FILE_NOT_FOUND = "file_not_found"


@dataclass(frozen=True, slots=True)
class Miss:
    text: str
    field: str  # "category", "building", "unit", "room" or "urgent"
    expected: str
    got: str


def _ratio(numerator: int, denominator: int) -> float:
    # With nothing to measure there is nothing wrong: report 1.0 rather than divide by 0.
    return numerator / denominator if denominator else 1.0


@dataclass(slots=True)
class EvalReport:
    total: int = 0
    skipped: int = 0  # records without a string "text"
    correct: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("category", *ADDRESS_FIELDS, "urgent"), 0)
    )
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, got)
    none_tp: int = 0
    none_fp: int = 0
    none_fn: int = 0
    urgent_tp: int = 0
    urgent_fp: int = 0
    urgent_fn: int = 0
    misses: list[Miss] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return _ratio(self.correct[name], self.total)

    @property
    def category_accuracy(self) -> float:
        return self.accuracy("category")

    @property
    def building_accuracy(self) -> float:
        return self.accuracy("building")

    @property
    def unit_accuracy(self) -> float:
        return self.accuracy("unit")

    @property
    def room_accuracy(self) -> float:
        return self.accuracy("room")

    @property
    def urgent_accuracy(self) -> float:
        return self.accuracy("urgent")

    @property
    def none_precision(self) -> float:
        return _ratio(self.none_tp, self.none_tp + self.none_fp)

    @property
    def none_recall(self) -> float:
        return _ratio(self.none_tp, self.none_tp + self.none_fn)

    @property
    def urgent_precision(self) -> float:
        return _ratio(self.urgent_tp, self.urgent_tp + self.urgent_fp)

    @property
    def urgent_recall(self) -> float:
        return _ratio(self.urgent_tp, self.urgent_tp + self.urgent_fn)

    @property
    def field_accuracies(self) -> list[tuple[str, int, float]]:
        """(field, correct count, accuracy) in a fixed order, for the report template."""
        return [(name, count, self.accuracy(name)) for name, count in self.correct.items()]

    @property
    def confusion_rows(self) -> list[tuple[str, str, int]]:
        """Mismatched (expected, got, count), most frequent first."""
        rows = [(e, g, n) for (e, g), n in self.confusion.items() if e != g]
        return sorted(rows, key=lambda row: (-row[2], row[0], row[1]))


def _label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def evaluate(records: Iterable[dict[str, Any]], parser: Parser) -> EvalReport:
    report = EvalReport()
    for record in records:
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str):
            report.skipped += 1
            continue
        report.total += 1
        got = parser.parse(text)

        expected_category = str(record.get("category") or NOT_A_REQUEST)
        also = record.get("also") or []
        accepted = {expected_category, *(str(a) for a in also if isinstance(a, str))}
        if got.category in accepted:
            report.correct["category"] += 1
            report.confusion[(expected_category, expected_category)] += 1
        else:
            report.confusion[(expected_category, got.category)] += 1
            report.misses.append(Miss(text, "category", expected_category, got.category))

        expected_none = expected_category == NOT_A_REQUEST
        got_none = got.category == NOT_A_REQUEST
        report.none_tp += expected_none and got_none
        report.none_fp += got_none and not expected_none
        report.none_fn += expected_none and not got_none

        for name in ADDRESS_FIELDS:
            expected_value = _optional_str(record.get(name))
            got_value: str | None = getattr(got, name)
            if expected_value == got_value:
                report.correct[name] += 1
            else:
                report.misses.append(Miss(text, name, _label(expected_value), _label(got_value)))

        expected_urgent = bool(record.get("urgent"))
        if expected_urgent == got.urgent:
            report.correct["urgent"] += 1
        else:
            report.misses.append(Miss(text, "urgent", _label(expected_urgent), _label(got.urgent)))
        report.urgent_tp += expected_urgent and got.urgent
        report.urgent_fp += got.urgent and not expected_urgent
        report.urgent_fn += expected_urgent and not got.urgent
    return report


def _read_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Yield JSON objects from JSON Lines; unparsable lines come out as empty dicts
    so evaluate() counts them as skipped."""
    for line in lines:
        line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = {}
        yield value if isinstance(value, dict) else {}


def parse_line(line: str, parser: Parser) -> dict[str, Any]:
    """One `community-bot parse` output object for one input line."""
    line = line.lstrip("\ufeff")  # a UTF-8 BOM from Windows editors on the first line
    if not line.strip():
        return {"error": ERROR_EMPTY_LINE}
    try:
        value = json.loads(line)
    except ValueError:
        return {"error": ERROR_INVALID_JSON}
    if not isinstance(value, dict):
        return {"error": ERROR_NOT_AN_OBJECT}
    text = value.get("text")
    if not isinstance(text, str):
        return {"error": ERROR_MISSING_TEXT}
    result = parser.parse(text)
    return {
        "category": result.category,
        "building": result.building,
        "unit": result.unit,
        "room": result.room,
        "urgent": result.urgent,
        "confidence": result.confidence,
    }


def run_parse(stdin: TextIO, stdout: TextIO, vocabulary: Vocabulary | None) -> int:
    """`community-bot parse`: JSON Lines in, one JSON object per input line out."""
    parser = Parser(vocabulary)
    for line in stdin:
        stdout.write(json.dumps(parse_line(line, parser), ensure_ascii=False) + "\n")
    stdout.flush()
    return 0


def run_eval(path: Path, stdout: TextIO, vocabulary: Vocabulary | None) -> int:
    """`community-bot eval FILE.jsonl`: print the evaluation report."""
    texts = default_texts()
    try:
        with path.open(encoding="utf-8") as handle:
            report = evaluate(_read_records(handle), Parser(vocabulary))
    except OSError:
        stdout.write(
            texts.render(
                "en", "cli_eval_report", report=None, error=ERROR_FILE_NOT_FOUND, path=str(path)
            )
            + "\n"
        )
        return 1
    stdout.write(
        texts.render("en", "cli_eval_report", report=report, error=None, path=str(path)) + "\n"
    )
    return 0
