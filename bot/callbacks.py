"""Callback data: short versioned strings (Telegram allows 64 bytes). A modified client can
send anything here, so decoding is strict and every press is re-checked on the server."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.parsing.types import CATEGORIES

TICKET_ACTIONS = frozenset({"acc", "dec", "det", "res", "una", "ref", "can", "rate"})
DRAFT_ACTIONS = frozenset({"cat", "ok", "no", "all"})
_PATTERN = re.compile(r"^(t1|d1):([a-z]{2,4}):(\d{1,12})(?::([a-z0-9]{1,12}))?$")


@dataclass(frozen=True, slots=True)
class Press:
    scope: str  # "ticket" or "draft"
    action: str
    target_id: int
    arg: str | None = None


def ticket(action: str, ticket_id: int, arg: str | int | None = None) -> str:
    assert action in TICKET_ACTIONS
    return f"t1:{action}:{ticket_id}" + ("" if arg is None else f":{arg}")


def draft(action: str, draft_id: int, arg: str | None = None) -> str:
    assert action in DRAFT_ACTIONS
    return f"d1:{action}:{draft_id}" + ("" if arg is None else f":{arg}")


def decode(data: str | None) -> Press | None:
    """None for anything we did not produce."""
    if not data or len(data) > 64:
        return None
    match = _PATTERN.match(data)
    if match is None:
        return None
    version, action, target, arg = match.groups()
    if version == "t1":
        if action not in TICKET_ACTIONS:
            return None
        if action == "rate" and (arg is None or arg not in {"1", "2", "3", "4", "5"}):
            return None
        if action != "rate" and arg is not None:
            return None
        return Press("ticket", action, int(target), arg)
    if action not in DRAFT_ACTIONS:
        return None
    if action == "cat" and arg not in CATEGORIES:
        return None
    if action != "cat" and arg is not None:
        return None
    return Press("draft", action, int(target), arg)
