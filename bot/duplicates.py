"""Is a new request the same problem as an open ticket? Same category and building (and
unit when both give one), recent, and similar wording."""

from __future__ import annotations

import datetime as dt
import re

from bot.models import Ticket
from bot.parsing.types import ParsedRequest

SIMILAR = 0.2  # Jaccard overlap of character bigrams; neighbours word things differently
_NOISE = re.compile(r"[\s\d#@，。！？、,.!?~～（）()：:；;]+")


def bigrams(text: str) -> set[str]:
    compact = _NOISE.sub("", text)
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def similarity(a: str, b: str) -> float:
    left, right = bigrams(a), bigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def best_match(
    parsed: ParsedRequest, text: str, candidates: list[Ticket], now: dt.datetime
) -> Ticket | None:
    best: tuple[float, Ticket] | None = None
    for ticket in candidates:
        if parsed.unit and ticket.unit and parsed.unit != ticket.unit:
            continue
        if ticket.created_at > now:
            continue
        score = similarity(text, ticket.text)
        if score >= SIMILAR and (best is None or score > best[0]):
            best = (score, ticket)
    return None if best is None else best[1]
