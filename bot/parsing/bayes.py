"""Character n-gram naive Bayes: a backoff for wording the keyword tables miss.

Trained only on the project's own labelled file (data/requests_extra.jsonl) by
``python -m bot.parsing.train``; the counts live in bot/parsing/nb_counts.py so the
parser needs no files or network at run time. Scores are used next to the keyword
scores (see classifier.py), never alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

# Digits, Latin letters, spaces and punctuation split the text into runs of CJK
# characters; features are the characters and character pairs inside each run.
_SEPARATORS = re.compile(r"[0-9a-z\s,.!?:;\-#@~()+*/\"'%\[\]|<>=_&^$]+")

# Smoothing for unseen (feature, label) pairs; tuned on held-out probes.
ALPHA = 0.3


def features(text: str) -> set[str]:
    """Character unigrams and bigrams of normalised ``text``."""
    found: set[str] = set()
    for run in _SEPARATORS.split(text):
        for i, char in enumerate(run):
            found.add(char)
            if i + 1 < len(run):
                found.add(run[i : i + 2])
    return found


class NaiveBayes:
    """Multinomial-style naive Bayes over binary features, stored sparsely.

    For a label y, log P(y | text) = prior[y] + sum over known features f of
    log P(f | y). Most features were never seen with most labels, so we keep the
    "unseen" log-probability per label (``_base``) and, per feature, only the labels
    it was seen with and how much more likely it is there (``_delta``).
    """

    def __init__(
        self,
        labels: tuple[str, ...],
        label_counts: tuple[float, ...],
        feature_counts: Mapping[str, str],
        alpha: float = ALPHA,
    ) -> None:
        self.labels = labels
        parsed: dict[str, list[tuple[int, float]]] = {
            feature: [
                (int(index), float(count))
                for index, count in (pair.split(":") for pair in encoded.split())
            ]
            for feature, encoded in feature_counts.items()
        }
        vocabulary = len(parsed)
        totals = [0.0] * len(labels)
        for pairs in parsed.values():
            for index, count in pairs:
                totals[index] += count
        documents = sum(label_counts)
        self._prior = [
            math.log((count + 1.0) / (documents + len(labels))) for count in label_counts
        ]
        denominators = [total + alpha * vocabulary for total in totals]
        self._base = [math.log(alpha / d) for d in denominators]
        self._delta: dict[str, tuple[tuple[int, float], ...]] = {
            feature: tuple(
                (index, math.log((count + alpha) / denominators[index]) - self._base[index])
                for index, count in pairs
            )
            for feature, pairs in parsed.items()
        }

    def relative_log_scores(self, text: str) -> dict[str, float]:
        """Log-probability of each label minus the best one (so the best is 0)."""
        delta = self._delta
        known = [delta[f] for f in features(text) if f in delta]
        count = len(known)
        scores = [p + count * b for p, b in zip(self._prior, self._base, strict=True)]
        for pairs in known:
            for index, value in pairs:
                scores[index] += value
        best = max(scores)
        return {label: score - best for label, score in zip(self.labels, scores, strict=True)}
