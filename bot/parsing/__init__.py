"""Request parser: free text from a resident -> ParsedRequest.

Pipeline (all offline, pure Python):
  normalize.py  width, traditional script, emoji, control characters, mixed English
  classifier.py weighted keywords (keywords.py) + a small naive-Bayes backoff
                (bayes.py, counts in nb_counts.py, rebuilt by train.py) -> category,
                confidence, alternatives; "none" for chatter
  address.py    building / unit / room, Chinese numerals, community aliases
  urgency.py    danger now, with negation / hedge / resolution handling
``Parser`` compiles everything once; ``parse`` uses a cached default instance.
"""

from __future__ import annotations

from functools import lru_cache

from bot.parsing import nb_counts
from bot.parsing.address import AddressParser
from bot.parsing.bayes import NaiveBayes
from bot.parsing.classifier import Classifier
from bot.parsing.normalize import normalize
from bot.parsing.types import CATEGORIES, NOT_A_REQUEST, ParsedRequest, Vocabulary
from bot.parsing.urgency import is_urgent

__all__ = [
    "CATEGORIES",
    "NOT_A_REQUEST",
    "ParsedRequest",
    "Parser",
    "Vocabulary",
    "parse",
]


class Parser:
    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        vocabulary = vocabulary or Vocabulary()
        self.vocabulary = vocabulary
        self._classifier = Classifier(vocabulary.extra_keywords, _default_bayes())
        aliases = {normalize(name): number for name, number in vocabulary.building_aliases.items()}
        self._address = AddressParser(aliases)
        # A message is often read twice (the FAQ check, then intake): remember the last few.
        self._recent = lru_cache(maxsize=128)(self._parse)

    def parse(self, text: str) -> ParsedRequest:
        return self._recent(text) if isinstance(text, str) else self._parse("")

    def _parse(self, text: str) -> ParsedRequest:
        clean = normalize(text)
        result = self._classifier.classify(clean)
        address = self._address.parse(clean)
        return ParsedRequest(
            category=result.category,
            building=address.building,
            unit=address.unit,
            room=address.room,
            urgent=is_urgent(clean),
            confidence=result.confidence,
            alternatives=result.alternatives,
        )


@lru_cache(maxsize=1)
def _default_bayes() -> NaiveBayes:
    # Independent of the community vocabulary, so one instance serves every Parser.
    return NaiveBayes(nb_counts.LABELS, nb_counts.LABEL_COUNTS, nb_counts.FEATURE_COUNTS)


@lru_cache(maxsize=1)
def _default_parser() -> Parser:
    return Parser()


def parse(text: str, vocabulary: Vocabulary | None = None) -> ParsedRequest:
    """Parse one message; with a vocabulary a fresh Parser is built (callers that parse
    many messages for one community should keep their own ``Parser``)."""
    parser = _default_parser() if vocabulary is None else Parser(vocabulary)
    return parser.parse(text)
