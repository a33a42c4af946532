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


# --- scheduled notices ("n1:"): RSVP buttons and the /notice conversation ------------------

_NOTICE = re.compile(r"^n1:([a-z]{2,4})((?::[a-z0-9]{1,12}){0,2})$")
_DIGITS = re.compile(r"^\d{1,12}$")
# action -> a check per argument
NOTICE_ACTIONS: dict[str, tuple[re.Pattern[str], ...]] = {
    "go": (_DIGITS, _DIGITS),  # sign up: notice id, occurrence (unix minutes)
    "no": (_DIGITS, _DIGITS),  # cancel a sign-up
    "ask": (_DIGITS,),  # FAQ had no good answer: file the question (a draft id) as a ticket
    "tpl": (_DIGITS,),  # /notice: start from an existing notice
    "rep": (re.compile(r"^(once|weekly|nth|last|day)$"),),
    "lead": (_DIGITS,),
    "chat": (re.compile(r"^(\d{1,3}|all)$"),),
    "cap": (re.compile(r"^0$"),),
    "ok": (),
    "quit": (),
}


@dataclass(frozen=True, slots=True)
class NoticePress:
    action: str
    args: tuple[str, ...]


def notice(action: str, *args: str | int) -> str:
    assert action in NOTICE_ACTIONS and len(args) == len(NOTICE_ACTIONS[action])
    return ":".join(["n1", action, *(str(a) for a in args)])


def decode_notice(data: str | None) -> NoticePress | None:
    """None for anything we did not produce."""
    if not data or len(data) > 64:
        return None
    match = _NOTICE.match(data)
    if match is None or match.group(1) not in NOTICE_ACTIONS:
        return None
    args = tuple(a for a in match.group(2).split(":") if a)
    checks = NOTICE_ACTIONS[match.group(1)]
    if len(args) != len(checks) or not all(c.match(a) for c, a in zip(checks, args, strict=True)):
        return None
    return NoticePress(match.group(1), args)
