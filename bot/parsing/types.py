"""What the parser returns; shared by intake, CLI and tests."""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES: tuple[str, ...] = (
    "repair",
    "sanitation",
    "safety",
    "utilities",
    "paperwork",
    "health",
    "care",
    "employment",
    "neighbor",
    "parking",
    "activity",
    "other",
)
NOT_A_REQUEST = "none"


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    category: str  # one of CATEGORIES or NOT_A_REQUEST
    building: str | None
    unit: str | None
    room: str | None
    urgent: bool
    confidence: float  # 0..1, how sure the category is
    alternatives: tuple[str, ...] = ()  # next best categories, best first

    @property
    def is_request(self) -> bool:
        return self.category != NOT_A_REQUEST


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A community's own words, from its config: extra keywords per category and local
    building names mapped to building numbers (e.g. "老干部楼" -> "20")."""

    extra_keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    building_aliases: dict[str, str] = field(default_factory=dict)
