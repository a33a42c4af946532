"""Domain records shared by services and repositories (no Telegram types here)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class TicketState(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"


OPEN_STATES: frozenset[TicketState] = frozenset(
    {TicketState.NEW, TicketState.ASSIGNED, TicketState.ACCEPTED, TicketState.REOPENED}
)


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    display_name: str
    username: str | None
    locale: str
    started_at: dt.datetime | None
    unreachable_since: dt.datetime | None

    @property
    def reachable_by_dm(self) -> bool:
        return self.started_at is not None and self.unreachable_since is None


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    reporter_id: int
    reporter_name: str
    origin_chat_id: int
    origin_message_id: int | None
    origin_is_group: bool
    text: str
    category: str
    building: str | None
    unit: str | None
    room: str | None
    urgent: bool
    state: TicketState
    assignee_key: str | None
    created_at: dt.datetime
    assigned_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    resolution_note: str | None = None
    rating: int | None = None
    rated_at: dt.datetime | None = None
    rating_comment: str | None = None
    parent_id: int | None = None
    ack_due_at: dt.datetime | None = None
    resolve_due_at: dt.datetime | None = None
    resolution_kind: str | None = None  # fixed, unable, referred
    follow_up_at: dt.datetime | None = None
    on_behalf: bool = False  # opened by staff for a resident without Telegram

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class Follower:
    """A neighbour who reported the same problem; told about every step like the reporter."""

    ticket_id: int
    user_id: int
    display_name: str
    chat_id: int
    message_id: int | None
    is_group: bool

    @classmethod
    def reporter_of(cls, ticket: Ticket, *, on: Ticket | None = None) -> Follower:
        """A ticket's reporter in the shape of a follower (of `on`, by default the ticket
        itself): where they asked, so step notices reach them the same way."""
        return cls(
            ticket_id=(on or ticket).id,
            user_id=ticket.reporter_id,
            display_name=ticket.reporter_name,
            chat_id=ticket.origin_chat_id,
            message_id=ticket.origin_message_id,
            is_group=ticket.origin_is_group,
        )


@dataclass(frozen=True, slots=True)
class TicketEvent:
    id: int
    ticket_id: int
    at: dt.datetime
    actor_id: int | None
    actor_key: str | None
    kind: str
    note: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # photo, voice, document, location
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    path: str | None = None  # a local file to upload (e.g. a digest chart) instead of file_id


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    reporter_id: int
    reporter_name: str
    chat_id: int
    message_id: int | None
    is_group: bool
    text: str
    category: str
    building: str | None
    unit: str | None
    room: str | None
    urgent: bool
    created_at: dt.datetime
    state: str
    ticket_id: int | None


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str | None = None  # callback data
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the bot must send; stored in the outbox before anything is sent.

    `fallback` is what to send instead when the recipient turns out to be unreachable
    (blocked the bot, never started it, bot removed from the group)."""

    key: str  # idempotency key: the same key is enqueued and sent at most once
    chat_id: int
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to_message_id: int | None = None
    attachment: Attachment | None = None
    ticket_id: int | None = None
    purpose: str = ""  # e.g. "staff_card", recorded with the sent message id
    fallback: Outgoing | None = None
    recipient_user_id: int | None = None  # a person to mark unreachable on 403


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    chat_id: int
    message: Outgoing
    state: str
    attempts: int
    next_try_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Actor:
    """Who pressed a button or sent a command."""

    user_id: int
    display_name: str
    locale: str = "zh"
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a service did: messages already queued in the outbox plus an immediate
    answer for the person who acted (a callback toast or a direct reply)."""

    answer: str = ""
    ok: bool = True
    ticket: Ticket | None = None
    queued: tuple[Outgoing, ...] = field(default_factory=tuple)
