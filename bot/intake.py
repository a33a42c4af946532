"""From a resident's message to a ticket (or a draft awaiting their confirmation).

Everything the bot says back is queued in the outbox inside the same transaction that
stores the request, so an acknowledgement never goes out for something not saved, and a
crash after the commit still sends it after restart."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from bot import callbacks, duplicates, lifecycle, notify, sla
from bot.models import Attachment, Button, Draft, Follower, Outgoing, Ticket
from bot.parsing.types import CATEGORIES, NOT_A_REQUEST, ParsedRequest
from bot.services import Desk, staff_contacts
from storage import escalations, outbox, people, tickets
from storage.db import Tx

MAX_TEXT = 2000  # longer texts are kept truncated; Telegram caps messages at 4096
CONFIDENT = 0.5  # below this the resident picks the category
DRAFT_MERGE_WINDOW = dt.timedelta(minutes=30)
FOLLOW_UP_WINDOW = dt.timedelta(minutes=30)


class Trigger(enum.StrEnum):
    COMMAND = "command"  # /report text
    MENTION = "mention"  # @bot text
    REPLY = "reply"  # a reply to one of the bot's messages
    HASHTAG = "hashtag"  # #报修 text
    PRIVATE = "private"  # anything in a private chat
    PLAIN = "plain"  # a group message seen because privacy mode is off


@dataclass(frozen=True, slots=True)
class Incoming:
    update_id: int
    user_id: int
    display_name: str
    username: str | None
    locale: str
    chat_id: int
    is_group: bool
    message_id: int
    text: str
    trigger: Trigger
    attachment: Attachment | None = None
    reply_to_ticket: int | None = None  # the ticket the replied-to bot message is about


class Result(enum.StrEnum):
    FOLLOWING = "following"  # same problem as an open ticket: joined it as a neighbour
    DUPLICATE = "duplicate"  # update seen before
    IGNORED = "ignored"  # chatter in a group
    FILED = "filed"
    DRAFTED = "drafted"  # waiting for the resident to confirm or pick a category
    ATTACHED = "attached"  # added to an earlier draft or ticket
    ASKED = "asked"  # told how to describe the request
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class IntakeOutcome:
    result: Result
    ticket: Ticket | None = None
    draft: Draft | None = None


def clean_text(text: str) -> str:
    # Keep line breaks; drop other control characters that would upset rendering.
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return cleaned.strip()[:MAX_TEXT]


async def submit(desk: Desk, incoming: Incoming) -> IntakeOutcome:
    text = clean_text(incoming.text)
    parsed = desk.parser.parse(text) if text else None

    async def body(tx: Tx) -> IntakeOutcome:
        now = desk.now()
        if not await people.claim_update(tx, incoming.update_id, now):
            return IntakeOutcome(Result.DUPLICATE)
        return await _submit(tx, desk, incoming, text, parsed, now)

    outcome = await desk.db.write(body)
    desk.claim(incoming.update_id)
    if outcome.result is not Result.IGNORED:
        desk.wake_outbox()
    return outcome


async def _submit(
    tx: Tx,
    desk: Desk,
    incoming: Incoming,
    text: str,
    parsed: ParsedRequest | None,
    now: dt.datetime,
) -> IntakeOutcome:
    # /report and #报修 say "this is a request" even when the parser is unsure.
    report_intent = incoming.trigger in (Trigger.COMMAND, Trigger.HASHTAG)
    is_request = parsed is not None and parsed.is_request
    if incoming.trigger is Trigger.PLAIN and not is_request:
        return IntakeOutcome(Result.IGNORED)
    await people.upsert_person(
        tx, incoming.user_id, incoming.display_name, incoming.username, incoming.locale
    )
    if incoming.reply_to_ticket is not None:
        follow_up = await _follow_up(tx, desk, incoming, text, now)
        if follow_up is not None:
            return follow_up
    if not incoming.is_group:
        draft = await tickets.open_draft_of(tx, incoming.user_id, incoming.chat_id)
        if draft is not None and now - draft.created_at < DRAFT_MERGE_WINDOW:
            return await _extend_draft(tx, desk, incoming, draft, text, now)
        if not text and incoming.attachment is not None:
            recent = await _recent_open_ticket(tx, incoming.user_id, now)
            if recent is not None:
                return await _attach_to_ticket(tx, desk, incoming, recent, now)
    if not is_request and incoming.attachment is None and not (report_intent and text):
        await _reply(tx, desk, incoming, "ask_describe" if report_intent else "help", now)
        return IntakeOutcome(Result.ASKED)
    if is_request and parsed is not None and parsed.building:
        joined = await _join_existing(tx, desk, incoming, text, parsed, now)
        if joined is not None:
            return joined
    window_start = now - dt.timedelta(hours=1)
    filed_lately = await people.count_recent_intake(tx, incoming.user_id, window_start)
    await people.log_intake(tx, incoming.user_id, now)
    if filed_lately >= desk.config.intake_per_hour:
        # Say so once; a flood gets no echo (it would only flood the chat back).
        if filed_lately == desk.config.intake_per_hour:
            await _reply(tx, desk, incoming, "throttled", now)
        return IntakeOutcome(Result.THROTTLED)
    if parsed is None:
        parsed = ParsedRequest("other", None, None, None, False, 0.0, CATEGORIES)
    elif not parsed.is_request:
        # Reported on purpose but unclear: keep the address, let the resident pick.
        parsed = ParsedRequest(
            "other", parsed.building, parsed.unit, parsed.room, parsed.urgent, 0.0, CATEGORIES
        )
    draft = await draft_of(tx, desk, incoming, text, parsed)
    if incoming.attachment is not None:
        await tickets.add_attachment(
            tx, incoming.attachment, now, draft_id=draft.id, added_by=incoming.user_id
        )
    # Groups file at once when the parser is sure; private chats always confirm first.
    if incoming.is_group and parsed.confidence >= CONFIDENT and text:
        ticket = await file_draft(tx, desk, draft, parsed.category, incoming.locale)
        return IntakeOutcome(Result.FILED, ticket=ticket)
    await _queue_confirm(tx, desk, draft, incoming.locale, parsed, key=f"u{incoming.update_id}")
    return IntakeOutcome(Result.DRAFTED, draft=draft)


async def draft_of(
    tx: Tx, desk: Desk, incoming: Incoming, text: str, parsed: ParsedRequest
) -> Draft:
    """A draft of a resident's message, reported where they wrote it."""
    return await new_draft(
        tx,
        desk,
        reporter_id=incoming.user_id,
        reporter_name=incoming.display_name,
        chat_id=incoming.chat_id,
        message_id=incoming.message_id,
        is_group=incoming.is_group,
        text=text,
        parsed=parsed,
    )


async def new_draft(
    tx: Tx,
    desk: Desk,
    *,
    reporter_id: int,
    reporter_name: str,
    chat_id: int,
    message_id: int | None,
    is_group: bool,
    text: str,
    parsed: ParsedRequest,
    category: str | None = None,
) -> Draft:
    """A request waiting to be filed, with what the parser found (category overridable)."""
    return await tickets.insert_draft(
        tx,
        reporter_id=reporter_id,
        reporter_name=reporter_name,
        chat_id=chat_id,
        message_id=message_id,
        is_group=is_group,
        text=text,
        category=category or parsed.category,
        building=parsed.building,
        unit=parsed.unit,
        room=parsed.room,
        urgent=parsed.urgent,
        now=desk.now(),
    )


async def _reply(
    tx: Tx, desk: Desk, incoming: Incoming, code: str, now: dt.datetime, ticket_id: int = 0
) -> None:
    locale = desk.config.locale if incoming.is_group else incoming.locale
    text = desk.texts.render(
        locale, "intake_reply", code=code, hashtags=desk.config.hashtags, id=ticket_id
    )
    await outbox.enqueue(
        tx,
        Outgoing(
            key=f"u{incoming.update_id}:{code}",
            chat_id=incoming.chat_id,
            text=text,
            reply_to_message_id=incoming.message_id,
        ),
        now,
    )


async def _join_existing(
    tx: Tx, desk: Desk, incoming: Incoming, text: str, parsed: ParsedRequest, now: dt.datetime
) -> IntakeOutcome | None:
    """A neighbour reporting an open problem follows that ticket instead of opening another."""
    assert parsed.building is not None
    since = now - dt.timedelta(hours=desk.config.duplicate_window_hours)
    candidates = await escalations.open_similar_candidates(
        tx, parsed.category, parsed.building, since
    )
    ticket = duplicates.best_match(parsed, text, candidates, now)
    if ticket is None:
        return None
    if ticket.reporter_id == incoming.user_id:
        await _reply(tx, desk, incoming, "already_reported", now, ticket.id)
        return IntakeOutcome(Result.FOLLOWING, ticket=ticket)
    follower = Follower(
        ticket_id=ticket.id,
        user_id=incoming.user_id,
        display_name=incoming.display_name,
        chat_id=incoming.chat_id,
        message_id=incoming.message_id,
        is_group=incoming.is_group,
    )
    if await escalations.add_follower(tx, follower, text, now):
        event_id = await tickets.add_event(
            tx, ticket.id, "follower", now, actor_id=incoming.user_id, note=text[:200]
        )
        await _forward_to_assignee(tx, desk, ticket, event_id, text, incoming.attachment)
    await _reply(tx, desk, incoming, "following", now, ticket.id)
    return IntakeOutcome(Result.FOLLOWING, ticket=ticket)


async def _recent_open_ticket(tx: Tx, user_id: int, now: dt.datetime) -> Ticket | None:
    for ticket in await tickets.tickets_of_reporter(tx, user_id, limit=1):
        if ticket.is_open and now - ticket.created_at < FOLLOW_UP_WINDOW:
            return ticket
    return None


async def _extend_draft(
    tx: Tx, desk: Desk, incoming: Incoming, draft: Draft, text: str, now: dt.datetime
) -> IntakeOutcome:
    """Residents often send a request in pieces (text, then address, then a photo)."""
    if incoming.attachment is not None:
        await tickets.add_attachment(
            tx, incoming.attachment, now, draft_id=draft.id, added_by=incoming.user_id
        )
    if text:
        combined = clean_text(f"{draft.text}\n{text}" if draft.text else text)
        await tickets.update_draft_text(tx, draft.id, combined)
        parsed = desk.parser.parse(combined)
        if not parsed.is_request:
            parsed = ParsedRequest(draft.category, None, None, None, False, 0.0, ())
        await tickets.close_draft(tx, draft.id, "merged")
        fresh = await new_draft(
            tx,
            desk,
            reporter_id=draft.reporter_id,
            reporter_name=draft.reporter_name,
            chat_id=draft.chat_id,
            message_id=draft.message_id,
            is_group=draft.is_group,
            text=combined,
            parsed=parsed,
        )
        await tickets.move_draft_attachments_to_draft(tx, draft.id, fresh.id)
        await _queue_confirm(tx, desk, fresh, incoming.locale, parsed, key=f"u{incoming.update_id}")
        return IntakeOutcome(Result.DRAFTED, draft=fresh)
    await _reply(tx, desk, incoming, "attached_draft", now)
    return IntakeOutcome(Result.ATTACHED, draft=draft)


async def _attach_to_ticket(
    tx: Tx, desk: Desk, incoming: Incoming, ticket: Ticket, now: dt.datetime
) -> IntakeOutcome:
    assert incoming.attachment is not None
    await tickets.add_attachment(
        tx, incoming.attachment, now, ticket_id=ticket.id, added_by=incoming.user_id
    )
    event_id = await tickets.add_event(
        tx, ticket.id, "attachment", now, actor_id=incoming.user_id, note=incoming.attachment.kind
    )
    await _forward_to_assignee(tx, desk, ticket, event_id, "", incoming.attachment)
    await _reply(tx, desk, incoming, "attached_ticket", now)
    return IntakeOutcome(Result.ATTACHED, ticket=ticket)


async def _follow_up(
    tx: Tx, desk: Desk, incoming: Incoming, text: str, now: dt.datetime
) -> IntakeOutcome | None:
    """A reporter replying to the bot's message about their ticket adds to that ticket."""
    assert incoming.reply_to_ticket is not None
    ticket = await tickets.get_ticket(tx, incoming.reply_to_ticket)
    if ticket is None or ticket.reporter_id != incoming.user_id or not ticket.is_open:
        return None
    if incoming.attachment is not None:
        await tickets.add_attachment(
            tx, incoming.attachment, now, ticket_id=ticket.id, added_by=incoming.user_id
        )
    event_id = await tickets.add_event(
        tx, ticket.id, "info", now, actor_id=incoming.user_id, note=text or None
    )
    await _forward_to_assignee(tx, desk, ticket, event_id, text, incoming.attachment)
    await _reply(tx, desk, incoming, "attached_ticket", now)
    return IntakeOutcome(Result.ATTACHED, ticket=ticket)


async def _forward_to_assignee(
    tx: Tx,
    desk: Desk,
    ticket: Ticket,
    event_id: int,
    text: str,
    attachment: Attachment | None,
) -> None:
    if ticket.assignee_key is None:
        chat, locale = desk.config.staff_chat, desk.config.locale
    else:
        contact = (await staff_contacts(tx, desk))[ticket.assignee_key]
        if contact.user_id is not None and contact.reachable:
            chat, locale = contact.user_id, contact.locale
        else:
            chat, locale = desk.config.staff_chat, desk.config.locale
    if chat is None:
        return
    body = desk.texts.render(
        locale, "staff_follow_up", t=notify.ticket_view(desk, ticket, locale), text=text
    )
    await outbox.enqueue(
        tx,
        Outgoing(
            key=f"ev{event_id}:fwd",
            chat_id=chat,
            text=body,
            attachment=attachment,
            ticket_id=ticket.id,
        ),
        desk.now(),
    )


def category_buttons(
    desk: Desk, draft: Draft, locale: str, choices: tuple[str, ...]
) -> tuple[tuple[Button, ...], ...]:
    buttons = [
        Button(desk.label(locale, "category", c), callbacks.draft("cat", draft.id, c))
        for c in choices
    ]
    return tuple(tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3))


def confirm_buttons(
    desk: Desk, draft: Draft, locale: str, alternatives: tuple[str, ...], *, show_all: bool
) -> tuple[tuple[Button, ...], ...]:
    def button(action: str, name: str) -> Button:
        return Button(desk.label(locale, "button", name), callbacks.draft(action, draft.id))

    if show_all or not draft.text:
        rows = category_buttons(desk, draft, locale, CATEGORIES)
        return (*rows, (button("no", "discard"),))
    choices = tuple(c for c in alternatives if c != draft.category and c in CATEGORIES)[:3]
    return (
        (button("ok", "confirm"),),
        *category_buttons(desk, draft, locale, choices),
        (button("all", "more_categories"), button("no", "discard")),
    )


async def _queue_confirm(
    tx: Tx, desk: Desk, draft: Draft, locale: str, parsed: ParsedRequest, *, key: str
) -> None:
    locale = desk.config.locale if draft.is_group else locale
    text = desk.texts.render(
        locale,
        "draft_confirm",
        category=desk.label(locale, "category", draft.category),
        sure=parsed.confidence >= CONFIDENT and bool(draft.text),
        has_text=bool(draft.text),
        in_group=draft.is_group,
        building=draft.building,
        unit=None if draft.is_group else draft.unit,
        room=None if draft.is_group else draft.room,
        urgent=draft.urgent,
    )
    buttons = confirm_buttons(desk, draft, locale, parsed.alternatives, show_all=False)
    await outbox.enqueue(
        tx,
        Outgoing(
            key=f"{key}:confirm:{draft.id}",
            chat_id=draft.chat_id,
            text=text,
            buttons=buttons,
            reply_to_message_id=draft.message_id,
        ),
        desk.now(),
    )


async def file_draft(
    tx: Tx, desk: Desk, draft: Draft, category: str, locale: str, *, on_behalf: bool = False
) -> Ticket:
    """Turn a confirmed draft into a ticket, route it and queue the acknowledgement."""
    now = desk.now()
    levels, zone = desk.config.sla, desk.config.timezone
    ticket = await tickets.insert_ticket(
        tx,
        ack_due_at=sla.ack_deadline(levels, now, draft.urgent),
        resolve_due_at=sla.resolve_deadline(levels, category, draft.urgent, now, zone),
        on_behalf=on_behalf,
        reporter_id=draft.reporter_id,
        reporter_name=draft.reporter_name,
        origin_chat_id=draft.chat_id,
        origin_message_id=draft.message_id,
        origin_is_group=draft.is_group,
        text=draft.text,
        category=category,
        building=draft.building,
        unit=draft.unit,
        room=draft.room,
        urgent=draft.urgent,
        now=now,
    )
    await tickets.close_draft(tx, draft.id, "filed", ticket.id)
    await tickets.move_draft_attachments(tx, draft.id, ticket.id)
    await tickets.add_event(tx, ticket.id, "created", now, actor_id=draft.reporter_id)
    ticket = await lifecycle.route(tx, desk, ticket)
    reply_locale = desk.config.locale if draft.is_group else locale
    cancel = Button(
        desk.label(reply_locale, "button", "not_request" if draft.is_group else "cancel"),
        callbacks.ticket("can", ticket.id),
    )
    text = desk.texts.render(
        reply_locale,
        "ack",
        t=notify.ticket_view(desk, ticket, reply_locale),
        private=not draft.is_group,
        link=desk.deep_link(f"t-{ticket.id}") if draft.is_group else None,
    )
    await outbox.enqueue(
        tx,
        Outgoing(
            key=f"t{ticket.id}:ack",
            chat_id=draft.chat_id,
            text=text,
            buttons=((cancel,),),
            reply_to_message_id=draft.message_id,
            ticket_id=ticket.id,
            purpose="ack",
        ),
        now,
    )
    return ticket


@dataclass(frozen=True, slots=True)
class DraftAnswer:
    ok: bool
    answer: str
    ticket: Ticket | None = None
    draft: Draft | None = None
    # When set, the prompt message should be edited to show these (e.g. all categories).
    edit_text: str | None = None
    edit_buttons: tuple[tuple[Button, ...], ...] = ()


async def press_draft(
    desk: Desk, user_id: int, locale: str, draft_id: int, action: str, arg: str | None
) -> DraftAnswer:
    """A button on the confirm prompt. Only the reporter may press; a used prompt is stale."""

    async def act_on_draft(tx: Tx) -> DraftAnswer | Ticket:
        """The answer, or the ticket when the press filed the draft."""
        draft = await tickets.get_draft(tx, draft_id)
        if draft is None:
            return DraftAnswer(False, _answer(desk, locale, "unknown_draft"))
        if draft.reporter_id != user_id:
            return DraftAnswer(False, _answer(desk, locale, "not_reporter"))
        if draft.state != "open":
            return DraftAnswer(False, _answer(desk, locale, "draft_used", id=draft.ticket_id))
        if action == "no":
            await tickets.close_draft(tx, draft.id, "discarded")
            return DraftAnswer(True, _answer(desk, locale, "draft_discarded"), draft=draft)
        if action == "all":
            prompt_locale = desk.config.locale if draft.is_group else locale
            buttons = confirm_buttons(desk, draft, prompt_locale, (), show_all=True)
            text = desk.texts.render(prompt_locale, "draft_pick", in_group=draft.is_group)
            return DraftAnswer(True, "", draft=draft, edit_text=text, edit_buttons=buttons)
        category = arg if action == "cat" and arg in CATEGORIES else draft.category
        if category == NOT_A_REQUEST:
            category = "other"
        return await file_draft(tx, desk, draft, category, locale)

    ticket = await desk.db.write(act_on_draft)
    if isinstance(ticket, DraftAnswer):
        return ticket
    desk.wake_outbox()
    return DraftAnswer(True, _answer(desk, locale, "filed", id=ticket.id), ticket=ticket)


def _answer(desk: Desk, locale: str, code: str, **context: object) -> str:
    values: dict[str, object] = {"id": None, "assignee": None, "state": None, **context}
    return desk.texts.render(locale, "answer", code=code, **values)


async def ticket_for_reply(desk: Desk, chat_id: int, message_id: int) -> int | None:
    return await desk.db.read(lambda tx: tickets.ticket_for_message(tx, chat_id, message_id))
