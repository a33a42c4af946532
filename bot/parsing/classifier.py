"""Category scoring from weighted keywords, and the request / not-a-request decision."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.parsing.keywords import ASK, CATEGORY_KEYWORDS, CHAT, CHAT_KEYWORDS, ASK_KEYWORDS
from bot.parsing.normalize import normalize
from bot.parsing.types import CATEGORIES, NOT_A_REQUEST

# Weight given to a community's own keywords (Vocabulary.extra_keywords): they were
# chosen by people who know the place, so they count as decisive.
EXTRA_KEYWORD_WEIGHT = 3.5
# A message needs this much more request evidence than chatter evidence; with no
# evidence either way the bot stays quiet in the group.
NONE_PRIOR = 1.0
# How much "能不能 / 麻烦 / 请问" adds to the best category (capped so that a polite
# message with no topic does not become a confident request).
ASK_FACTOR = 0.5
ASK_CAP = 5.0
# Without any topic keyword, this much asking makes it a request of category "other".
OTHER_ASK_THRESHOLD = 4.0
# Alternatives: other categories scoring at least this share of the best one.
ALTERNATIVE_SHARE = 0.5
MAX_ALTERNATIVES = 3


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    confidence: float
    alternatives: tuple[str, ...]


class KeywordMatcher:
    """Longest-match-wins substring matcher over a keyword -> {label: weight} table.

    Indexed by first character, so a scan costs one dict lookup per character plus one
    per candidate length; no regex alternation over hundreds of keywords.
    """

    def __init__(self, table: Mapping[str, Mapping[str, float]]) -> None:
        self._table: dict[str, tuple[tuple[str, float], ...]] = {
            keyword: tuple(weights.items()) for keyword, weights in table.items() if keyword
        }
        lengths: dict[str, set[int]] = {}
        for keyword in self._table:
            lengths.setdefault(keyword[0], set()).add(len(keyword))
        self._lengths: dict[str, tuple[int, ...]] = {
            first: tuple(sorted(sizes, reverse=True)) for first, sizes in lengths.items()
        }

    def keywords(self, text: str) -> list[str]:
        """Distinct keywords found in ``text``, without those inside a longer match."""
        found: list[str] = []
        seen: set[str] = set()
        max_end = 0
        table = self._table
        lengths = self._lengths
        for start, char in enumerate(text):
            sizes = lengths.get(char)
            if sizes is None:
                continue
            for size in sizes:  # longest first, so a contained match at this start is skipped
                end = start + size
                if end <= max_end:
                    break
                candidate = text[start:end]
                if candidate in table:
                    max_end = end
                    if candidate not in seen:
                        seen.add(candidate)
                        found.append(candidate)
                    break
        return found

    def score(self, text: str) -> dict[str, float]:
        totals: dict[str, float] = {}
        for keyword in self.keywords(text):
            for label, weight in self._table[keyword]:
                totals[label] = totals.get(label, 0.0) + weight
        return totals


def _build_table(
    extra_keywords: Mapping[str, Iterable[str]] | None,
) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}

    def add(label: str, weight: float, words: Iterable[str]) -> None:
        for word in words:
            word = normalize(word)
            if word:
                entry = table.setdefault(word, {})
                entry[label] = max(entry.get(label, weight), weight)

    for category, tiers in CATEGORY_KEYWORDS.items():
        for weight, words in tiers.items():
            add(category, weight, words.split())
    for weight, words in CHAT_KEYWORDS.items():
        add(CHAT, weight, words.split())
    for weight, words in ASK_KEYWORDS.items():
        add(ASK, weight, words.split())
    for category, words in (extra_keywords or {}).items():
        if category in CATEGORIES:
            add(category, EXTRA_KEYWORD_WEIGHT, words)
    return table


class Classifier:
    def __init__(self, extra_keywords: Mapping[str, Iterable[str]] | None = None) -> None:
        self._matcher = KeywordMatcher(_build_table(extra_keywords))

    @property
    def matcher(self) -> KeywordMatcher:
        return self._matcher

    def classify(self, text: str) -> Classification:
        """Classify already-normalised ``text``."""
        if not text:
            return Classification(NOT_A_REQUEST, 1.0, ())
        totals = self._matcher.score(text)
        chat = totals.get(CHAT, 0.0)
        ask = min(totals.get(ASK, 0.0), ASK_CAP)
        ranked = sorted(
            ((totals[c], -i, c) for i, c in enumerate(CATEGORIES) if totals.get(c, 0.0) > 0),
            reverse=True,
        )
        if not ranked:
            if ask >= OTHER_ASK_THRESHOLD and ask > chat:
                return Classification("other", _squash(ask - chat) * 0.6, ())
            return Classification(NOT_A_REQUEST, _squash(NONE_PRIOR + chat), ())

        best_score, _, best = ranked[0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        request = best_score + ASK_FACTOR * ask
        no_request = NONE_PRIOR + chat
        if request <= no_request:
            alternatives = tuple(c for _, _, c in ranked[:MAX_ALTERNATIVES])
            confidence = no_request / (no_request + request)
            return Classification(NOT_A_REQUEST, round(confidence, 3), alternatives)

        alternatives = tuple(
            c for score, _, c in ranked[1:] if score >= ALTERNATIVE_SHARE * best_score
        )[:MAX_ALTERNATIVES]
        # Share of the evidence held by the winner, damped when evidence is thin.
        share = best_score / (best_score + second + 0.5 * chat + 0.5)
        confidence = share * _squash(request - no_request)
        return Classification(best, round(confidence, 3), alternatives)


def _squash(evidence: float) -> float:
    """Map non-negative evidence to 0..1: 1 point ~ 0.4, 3 points ~ 0.78, 6 ~ 0.95."""
    return 1.0 - math.exp(-max(evidence, 0.0) / 2.0)
