"""Answers residents' common health and vaccine questions from the community's FAQ
(config `[[faq]]`). A small scoring matcher, no model and no network: character bigrams
of the question against each entry's phrasings (Dice overlap) plus its keywords.

A question that matches well gets the answer instead of becoming a ticket. A health
question with no good match gets an "ask a person" button, which files it as a health
ticket through the usual intake."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot import callbacks, intake
from bot.config import CommunityConfig, ConfigError, _expect, _str_list, _unknown_keys
from bot.intake import Incoming, Trigger
from bot.models import Actor, Button, Outgoing, Ticket
from bot.parsing.normalize import normalize
from bot.parsing.types import ParsedRequest
from bot.services import Desk
from storage import notices as notice_repo
from storage import outbox, people, tickets
from storage.db import Tx

log = logging.getLogger(__name__)

GOOD = 0.5  # at or above: answer from the FAQ
RELATED = 0.3  # at or above: worth suggesting, and makes a question FAQ-ish
ALSO_ASKED = 0.45  # next best entries shown under a good answer
CATEGORY = "health"  # what "ask a person" files
# A parked question as a draft: health, no address (an FAQ question names none).
QUESTION = ParsedRequest(CATEGORY, None, None, None, False, 0.0)

# Politeness and sentence-final particles carry no meaning for matching.
_FILLER = re.compile(r"请问|想问一下|想问|问一下|打听一下|您好|你好|大家好|谢谢|[吗呢吧啊呀哦嘛]")
_NOT_WORD = re.compile(r"[^\w]+")
_CJK = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+")
# Markers that make a message a question (after normalize(): lower case, simplified).
_QUESTION = re.compile(
    r"[?？]|吗|怎么|怎样|如何|哪|什么|几点|几号|多少|能不能|可不可以|是不是|有没有|是否|需不需要"
)


@dataclass(frozen=True, slots=True)
class FaqEntry:
    question: str
    answer: str
    also: tuple[str, ...] = ()  # other ways residents ask the same thing
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    entry: FaqEntry | None
    score: float
    related: tuple[FaqEntry, ...] = ()  # next best entries worth suggesting

    @property
    def good(self) -> bool:
        return self.entry is not None and self.score >= GOOD


# --- config --------------------------------------------------------------------------------


def parse_faq(raw: Any) -> tuple[FaqEntry, ...]:
    _expect(raw, list, "faq", "an array of [[faq]] tables")
    entries: list[FaqEntry] = []
    for index, entry in enumerate(raw):
        prefix = f"faq[{index}]"
        _expect(entry, dict, prefix, "a table")
        _unknown_keys(entry, {"question", "answer", "also", "keywords"}, prefix)
        for required in ("question", "answer"):
            if required not in entry:
                raise ConfigError(f"{prefix}.{required}", "missing")
            _expect(entry[required], str, f"{prefix}.{required}", "a string")
        entries.append(
            FaqEntry(
                question=entry["question"].strip(),
                answer=entry["answer"].strip(),
                also=_str_list(entry.get("also", []), f"{prefix}.also"),
                keywords=_str_list(entry.get("keywords", []), f"{prefix}.keywords"),
            )
        )
    return tuple(entries)


def matcher(config: CommunityConfig) -> Matcher:
    """The config's FAQ, ready to match (a Desk keeps one: `desk.derived(matcher)`)."""
    return Matcher(parse_faq(config.raw.get("faq", [])))


# --- matching --------------------------------------------------------------------------------


def clean(text: str) -> str:
    return _FILLER.sub("", normalize(text))


def grams(text: str) -> frozenset[str]:
    """Character bigrams of Chinese runs (a lone character stands for itself) and whole
    ASCII words."""
    found: set[str] = set()
    for run in _CJK.findall(_NOT_WORD.sub(" ", text)):
        if run.isascii() or len(run) == 1:
            found.add(run)
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(found)


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def looks_like_question(text: str) -> bool:
    return _QUESTION.search(normalize(text)) is not None


class Matcher:
    def __init__(self, entries: tuple[FaqEntry, ...]) -> None:
        self.entries = entries
        self._phrases = [[grams(clean(p)) for p in (e.question, *e.also)] for e in entries]
        self._keywords = [[clean(k) for k in e.keywords if clean(k)] for e in entries]

    def score(self, index: int, text: str, text_grams: frozenset[str]) -> float:
        phrase = max((dice(text_grams, p) for p in self._phrases[index]), default=0.0)
        keywords = self._keywords[index]
        if not keywords:
            return phrase
        covered = sum(1 for k in keywords if k in text) / len(keywords)
        # Keywords rescue differently worded questions; phrasing alone can still win.
        return max(phrase, (phrase + covered) / 2)

    def match(self, text: str) -> Match:
        cleaned = clean(text)
        text_grams = grams(cleaned)
        scored = sorted(
            ((self.score(i, cleaned, text_grams), i) for i in range(len(self.entries))),
            key=lambda pair: (-pair[0], pair[1]),
        )
        if not scored or scored[0][0] <= 0:
            return Match(None, 0.0)
        best_score, best = scored[0]
        related = tuple(self.entries[i] for s, i in scored[1:3] if s >= ALSO_ASKED)
        if best_score < GOOD:
            related = tuple(self.entries[i] for s, i in scored[:2] if s >= RELATED)
        return Match(self.entries[best], best_score, related)


# --- answering residents ---------------------------------------------------------------------

# Explicit requests (/report, #报修) always become tickets; the FAQ sees the rest.
FAQ_TRIGGERS = frozenset({Trigger.PRIVATE, Trigger.MENTION, Trigger.REPLY, Trigger.PLAIN})


def is_faq_question(desk: Desk, incoming: Incoming, found: Match) -> bool:
    """Worth an FAQ reply: a good match, or a health question (for group chatter only a
    health question, so neighbours talking among themselves are left alone)."""
    if found.good:
        return True
    if not looks_like_question(incoming.text):
        return False
    health = desk.parser.parse(incoming.text).category == CATEGORY
    if incoming.trigger is Trigger.PLAIN:
        return health
    return health or found.score >= RELATED


async def respond(desk: Desk, incoming: Incoming, *, force: bool = False) -> bool:
    """Answer from the FAQ, or offer a person, instead of the usual intake. False when the
    message is not an FAQ question (the caller files it as usual). `force` (the /faq
    command) always answers."""
    if incoming.trigger not in FAQ_TRIGGERS and not force:
        return False
    text = intake.clean_text(incoming.text)
    faq = desk.derived(matcher)
    if not text or (not faq.entries and not force):
        return False
    found = faq.match(text)
    if not force and not is_faq_question(desk, incoming, found):
        return False
    locale = desk.config.locale if incoming.is_group else incoming.locale

    async def answer(tx: Tx) -> bool:
        now = desk.now()
        if not await people.claim_update(tx, incoming.update_id, now):
            return False
        await people.upsert_person(
            tx, incoming.user_id, incoming.display_name, incoming.username, incoming.locale
        )
        buttons: tuple[tuple[Button, ...], ...] = ()
        if found.good:
            assert found.entry is not None
            body = desk.texts.render(
                locale,
                "faq_answer",
                question=found.entry.question,
                answer=found.entry.answer,
                related=[e.question for e in found.related],
            )
        else:
            draft = await intake.draft_of(tx, desk, incoming, text, QUESTION)
            await tickets.close_draft(tx, draft.id, "faq")  # parked, see unpark_faq_draft
            label = desk.label(locale, "button", "ask_person")
            buttons = ((Button(label, callbacks.notice("ask", draft.id)),),)
            body = desk.texts.render(
                locale, "faq_miss", related=[e.question for e in found.related]
            )
        await outbox.enqueue(
            tx,
            Outgoing(
                key=f"u{incoming.update_id}:faq",
                chat_id=incoming.chat_id,
                text=body,
                buttons=buttons,
                reply_to_message_id=incoming.message_id,
                purpose="faq",
            ),
            now,
        )
        return True

    answered = await desk.db.write(answer)
    desk.claim(incoming.update_id)
    if not answered:
        return True  # a redelivery: answered the first time
    desk.wake_outbox()
    log.info("faq: %s (score %.2f)", "answered" if found.good else "offered a person", found.score)
    return True


@dataclass(frozen=True, slots=True)
class AskResult:
    ok: bool
    answer: str
    ticket: Ticket | None = None


async def ask_person(desk: Desk, actor: Actor, draft_id: int) -> AskResult:
    """The "ask a person" button: file the parked question as a health ticket, once."""

    async def file_question(tx: Tx) -> AskResult:
        draft = await tickets.get_draft(tx, draft_id)
        if draft is None:
            return AskResult(False, _answer(desk, actor, "unknown_draft"))
        if draft.reporter_id != actor.user_id:
            return AskResult(False, _answer(desk, actor, "not_reporter"))
        if not await notice_repo.unpark_faq_draft(tx, draft.id):
            return AskResult(False, _answer(desk, actor, "draft_used", id=draft.ticket_id))
        ticket = await intake.file_draft(tx, desk, draft, CATEGORY, actor.locale)
        return AskResult(True, _answer(desk, actor, "filed", id=ticket.id), ticket)

    result = await desk.db.write(file_question)
    if result.ok:
        desk.wake_outbox()
    return result


def _answer(desk: Desk, actor: Actor, code: str, **context: object) -> str:
    values: dict[str, object] = {"id": None, "assignee": None, "state": None, **context}
    return desk.texts.render(actor.locale, "answer", code=code, **values)


def listing(desk: Desk, locale: str) -> str:
    """/faq without a question: what the FAQ knows."""
    entries = desk.derived(matcher).entries
    return desk.texts.render(locale, "faq_list", questions=[e.question for e in entries])
