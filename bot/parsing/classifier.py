"""Category scoring from weighted keywords, and the request / not-a-request decision."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.parsing.bayes import NaiveBayes
from bot.parsing.keywords import (
    ASK,
    ASK_KEYWORDS,
    CATEGORY_KEYWORDS,
    CHAT,
    CHAT_KEYWORDS,
    NEUTRAL,
    NEUTRAL_KEYWORDS,
)
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
# Weight of the naive-Bayes backoff (log-probability relative to its best label):
# enough to decide between close keyword scores and to rescue wording the tables
# miss, too little to overrule a decisive keyword. Tuned on held-out probes.
NB_WEIGHT = 0.25
# Keyword scores are on a 0..10+ scale; dividing by this before the softmax keeps the
# confidence from saturating at 1.0 on every clear message.
CONFIDENCE_TEMPERATURE = 2.0
# Alternatives offered to the resident: other categories at least this probable.
ALTERNATIVE_MIN_P = 0.1
MAX_ALTERNATIVES = 3
LABELS: tuple[str, ...] = (*CATEGORIES, NOT_A_REQUEST)


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
        length = len(text)
        for start, char in enumerate(text):
            sizes = lengths.get(char)
            if sizes is None:
                continue
            for size in sizes:  # longest first, so a contained match at this start is skipped
                end = start + size
                if end > length:
                    continue
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
        for raw in words:
            word = normalize(raw)
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
    add(NEUTRAL, 0.0, NEUTRAL_KEYWORDS.split())
    for category, extra in (extra_keywords or {}).items():
        if category in CATEGORIES:
            # A bare string from a hand-written config is one keyword, not characters.
            add(category, EXTRA_KEYWORD_WEIGHT, (extra,) if isinstance(extra, str) else extra)
    return table


class Classifier:
    def __init__(
        self,
        extra_keywords: Mapping[str, Iterable[str]] | None = None,
        bayes: NaiveBayes | None = None,
    ) -> None:
        self._matcher = KeywordMatcher(_build_table(extra_keywords))
        self._bayes = bayes

    @property
    def matcher(self) -> KeywordMatcher:
        return self._matcher

    def logits(self, text: str) -> tuple[dict[str, float], set[str]]:
        """Evidence per label (categories and "none") for already-normalised text, and
        the categories that some keyword spoke for."""
        totals = self._matcher.score(text)
        ask = min(totals.get(ASK, 0.0), ASK_CAP)
        bayes = self._bayes.relative_log_scores(text) if self._bayes else {}
        logits: dict[str, float] = {}
        matched: set[str] = set()
        for category in CATEGORIES:
            score = totals.get(category, 0.0)
            if score > 0:
                matched.add(category)
                # Asking only strengthens a topic that is there; it is not a topic.
                score += ASK_FACTOR * ask
            logits[category] = score + NB_WEIGHT * bayes.get(category, 0.0)
        logits[NOT_A_REQUEST] = (
            NONE_PRIOR + totals.get(CHAT, 0.0) + NB_WEIGHT * bayes.get(NOT_A_REQUEST, 0.0)
        )
        return logits, matched

    def classify(self, text: str) -> Classification:
        """Classify already-normalised ``text``."""
        if not text:
            return Classification(NOT_A_REQUEST, 1.0, ())
        logits, matched = self.logits(text)
        best = max(LABELS, key=lambda label: (logits[label], -LABELS.index(label)))
        # Softmax over the real contenders: "none", the winner and the categories some
        # keyword spoke for (categories with no evidence at all must not dilute it).
        # Confidence is the winner's lead over the runner-up, so a near tie (e.g.
        # "楼上漏水": neighbour or repair) comes out low and the bot asks.
        contenders = {NOT_A_REQUEST, best, *matched}
        weights = {
            label: math.exp((logits[label] - logits[best]) / CONFIDENCE_TEMPERATURE)
            for label in contenders
        }
        total = sum(weights.values())
        ranked = sorted(contenders, key=lambda label: (-weights[label], LABELS.index(label)))
        alternatives = tuple(
            label
            for label in ranked
            if label not in (best, NOT_A_REQUEST) and weights[label] / total >= ALTERNATIVE_MIN_P
        )[:MAX_ALTERNATIVES]
        runner_up = max((weights[label] for label in ranked if label != best), default=0.0)
        confidence = (weights[best] - runner_up) / total
        return Classification(best, round(confidence, 3), alternatives)
