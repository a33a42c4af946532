"""Staff onboarding, duty, and the read-only views (/my, /ticket, /open, /duty)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from bot import notify, routing
from bot.config import StaffMember
from bot.models import Actor, Attachment, Follower, Ticket, TicketEvent
from bot.services import Desk, staff_member_of
from storage import escalations, inbox, people, tickets
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    ok: bool = True
    staff: bool = False  # the account is a staff member's: show them the staff menu


def _say(desk: Desk, actor: Actor, code: str, **context: object) -> str:
    return desk.texts.render(
        actor.locale, "answer", code=code, **{"id": None, "assignee": None, **context}
    )


async def register(desk: Desk, actor: Actor, *, started: bool) -> None:
    async def save_person(tx: Tx) -> None:
        await people.upsert_person(
            tx, actor.user_id, actor.display_name, actor.username, actor.locale
        )
        if started:
            await people.mark_started(tx, actor.user_id, desk.now())

    await desk.db.write(save_person)


async def start(desk: Desk, actor: Actor, payload: str) -> Reply:
    """/start [payload]: staff-<token> links a staff member; t-<id> shows a ticket."""
    await register(desk, actor, started=True)
    if payload.startswith("staff-"):

        async def link_invited_staff(tx: Tx) -> str | None:
            key = await people.staff_for_invite(tx, payload.removeprefix("staff-"))
            if key is not None:
                await people.link_staff(tx, key, actor.user_id, desk.now())
            return key

        key = await desk.db.write(link_invited_staff)
        if key is None:
            return Reply(_say(desk, actor, "invite_invalid"), ok=False)
        member = desk.config.staff_by_key(key)
        assert member is not None
        return Reply(
            desk.texts.render(actor.locale, "staff_welcome", name=member.name, role=member.role),
            staff=True,
        )
    if payload.startswith("t-") and payload[2:].isdigit():
        return await ticket_details(desk, actor, int(payload[2:]))
    member = await desk.db.read(lambda tx: staff_member_of(tx, desk, actor.user_id))
    return Reply(
        desk.texts.render(
            actor.locale,
            "welcome",
            community=desk.config.name,
            staff=member is not None,
            hashtags=desk.config.hashtags,
        ),
        staff=member is not None,
    )


async def create_invite(desk: Desk, actor: Actor, staff_key: str) -> Reply:
    async def store_invite(tx: Tx) -> Reply | tuple[StaffMember, str]:
        """The refusal, or the invited member and their token."""
        member = await staff_member_of(tx, desk, actor.user_id)
        if member is None or not (member.admin or member.supervisor):
            return Reply(_say(desk, actor, "not_admin"), ok=False)
        target = desk.config.staff_by_key(staff_key)
        if target is None:
            keys = ", ".join(s.key for s in desk.config.staff)
            return Reply(_say(desk, actor, "unknown_staff_key", key=staff_key, keys=keys), ok=False)
        token = secrets.token_urlsafe(12)
        await people.set_invite(tx, target.key, token)
        return target, token

    stored = await desk.db.write(store_invite)
    if isinstance(stored, Reply):
        return stored
    target, token = stored
    link = desk.deep_link(f"staff-{token}") or f"/start staff-{token}"
    return Reply(desk.texts.render(actor.locale, "invite", name=target.name, link=link))


async def _require_staff(tx: Tx, desk: Desk, actor: Actor) -> StaffMember | None:
    return await staff_member_of(tx, desk, actor.user_id)


async def duty(desk: Desk, actor: Actor, change: str | None) -> Reply:
    now = desk.now()
    local = desk.local(now)

    async def apply_duty_change(tx: Tx) -> Reply | dict[str, bool]:
        """The refusal, or today's duty overrides after the change."""
        member = await _require_staff(tx, desk, actor)
        if member is None:
            return Reply(_say(desk, actor, "not_staff"), ok=False)
        if change in ("on", "off"):
            await people.set_duty_override(tx, member.key, local.date(), change == "on")
        elif change is not None:
            return Reply(_say(desk, actor, "duty_usage"), ok=False)
        return await people.duty_overrides(tx, local.date())

    overrides = await desk.db.write(apply_duty_change)
    if isinstance(overrides, Reply):
        return overrides
    teams = []
    for team in desk.config.teams.values():
        members = routing.on_duty(desk.config, team.key, local, overrides)
        teams.append({"name": team.name, "members": [f"{m.name}（{m.role}）" for m in members]})
    return Reply(
        desk.texts.render(
            actor.locale,
            "duty",
            teams=teams,
            changed=change,
            now=local.strftime("%Y-%m-%d %H:%M"),
        )
    )


async def my_tickets(desk: Desk, actor: Actor) -> Reply:
    mine = await desk.db.read(lambda tx: tickets.tickets_of_reporter(tx, actor.user_id, limit=10))
    rows = [notify.ticket_view(desk, t, actor.locale) for t in mine]
    return Reply(desk.texts.render(actor.locale, "my_tickets", tickets=rows))


@dataclass(frozen=True, slots=True)
class _TicketRecord:
    """What /ticket shows, read in one snapshot."""

    ticket: Ticket
    member: StaffMember | None  # the viewer, when staff
    events: list[TicketEvent]
    attachments: list[Attachment]
    followers: list[tuple[Follower, str]]


async def ticket_details(desk: Desk, actor: Actor, ticket_id: int) -> Reply:
    """Staff see everything; the reporter sees their own ticket; others nothing."""

    async def visible_record(tx: Tx) -> _TicketRecord | None:
        ticket = await tickets.get_ticket(tx, ticket_id)
        member = await staff_member_of(tx, desk, actor.user_id)
        if ticket is None or (member is None and ticket.reporter_id != actor.user_id):
            return None
        events = await tickets.events_for(tx, ticket.id) if member is not None else []
        attachments = await tickets.attachments_for(tx, ticket.id)
        followers = await escalations.followers_of(tx, ticket.id) if member is not None else []
        return _TicketRecord(ticket, member, events, attachments, followers)

    record = await desk.db.read(visible_record)
    if record is None:
        return Reply(_say(desk, actor, "unknown_ticket"), ok=False)
    ticket, member, events = record.ticket, record.member, record.events
    attachments, followers = record.attachments, record.followers
    staff_names = {s.key: s.name for s in desk.config.staff}
    return Reply(
        desk.texts.render(
            actor.locale,
            "ticket_details",
            t=notify.ticket_view(desk, ticket, actor.locale),
            staff_view=member is not None,
            assignee=staff_names.get(ticket.assignee_key or ""),
            attachments=[a.kind for a in attachments],
            followers=[{"name": f.display_name, "text": text} for f, text in followers],
            events=[
                {
                    "at": desk.local(e.at).strftime("%m-%d %H:%M"),
                    "kind": desk.label(actor.locale, "event", e.kind),
                    "who": staff_names.get(e.actor_key or "", ""),
                    "note": e.note or "",
                }
                for e in events
            ],
        )
    )


async def open_tickets(desk: Desk, actor: Actor) -> Reply:
    async def visible_open_tickets(tx: Tx) -> list[Ticket] | None:
        """None when the actor is not staff."""
        member = await _require_staff(tx, desk, actor)
        if member is None:
            return None
        if member.supervisor or member.admin:
            return await tickets.open_tickets(tx)
        team_keys = [s.key for s in desk.config.staff if set(s.teams) & set(member.teams)]
        return await tickets.open_tickets(tx, assignee_keys=team_keys)

    found = await desk.db.read(visible_open_tickets)
    if found is None:
        return Reply(_say(desk, actor, "not_staff"), ok=False)
    return Reply(
        desk.texts.render(
            actor.locale,
            "open_tickets",
            tickets=[_with_assignee(desk, t, actor.locale) for t in found],
        )
    )


def _with_assignee(desk: Desk, ticket: Ticket, locale: str) -> dict[str, object]:
    view = notify.ticket_view(desk, ticket, locale)
    member = desk.config.staff_by_key(ticket.assignee_key or "")
    view["assignee"] = member.name if member else None
    return view


async def resolve_staff_key(desk: Desk, reference: str) -> str | None:
    """/assign accepts a staff key, an @username of a linked account, or a name."""
    reference = reference.strip()
    if desk.config.staff_by_key(reference) is not None:
        return reference
    for candidate in desk.config.staff:
        if candidate.name == reference:
            return candidate.key
    if reference.startswith("@"):

        async def staff_key_of_username(tx: Tx) -> str | None:
            person = await people.find_by_username(tx, reference)
            if person is None:
                return None
            member = await staff_member_of(tx, desk, person.user_id)
            return None if member is None else member.key

        return await desk.db.read(staff_key_of_username)
    return None


async def set_chat_removed(desk: Desk, chat_id: int, removed: bool) -> None:
    await desk.db.write(
        lambda tx: people.mark_chat_removed(tx, chat_id, desk.now() if removed else None)
    )


async def mark_update(desk: Desk, update_id: int) -> None:
    """Record an update as handled, so a restart does not replay it from the inbox."""
    if desk.take_claim(update_id):
        return  # intake recorded it in the transaction that filed the request
    await desk.db.write(lambda tx: people.claim_update(tx, update_id, desk.now()))


async def new_on_behalf(desk: Desk, actor: Actor, text: str) -> Reply | None:
    """Staff open a ticket for a resident without Telegram (after a door visit or a phone
    call). The staff member stands in as reporter, so every step and the result come back
    to them. None when filed (the acknowledgement is queued like any other)."""
    from bot import intake  # intake imports this module's neighbours; keep the cycle lazy

    text = intake.clean_text(text)
    if not text:
        return Reply(_say(desk, actor, "new_usage"), ok=False)
    parsed = desk.parser.parse(text)
    category = parsed.category if parsed.is_request else "other"

    async def file_on_behalf(tx: Tx) -> Reply | None:
        """The refusal, or None once filed."""
        member = await staff_member_of(tx, desk, actor.user_id)
        if member is None:
            return Reply(_say(desk, actor, "not_staff"), ok=False)
        await people.upsert_person(
            tx, actor.user_id, actor.display_name, actor.username, actor.locale
        )
        draft = await intake.new_draft(
            tx,
            desk,
            reporter_id=actor.user_id,
            reporter_name=member.name,
            chat_id=actor.user_id,
            message_id=None,
            is_group=False,
            text=text,
            parsed=parsed,
            category=category,
        )
        await intake.file_draft(tx, desk, draft, category, actor.locale, on_behalf=True)
        return None

    refusal = await desk.db.write(file_on_behalf)
    if refusal is not None:
        return refusal
    desk.wake_outbox()
    return None


async def overdue(desk: Desk, actor: Actor) -> Reply:
    from bot import escalation

    member = await desk.db.read(lambda tx: staff_member_of(tx, desk, actor.user_id))
    if member is None:
        return Reply(_say(desk, actor, "not_staff"), ok=False)
    found = await escalation.overdue_list(desk)
    views = escalation.overdue_views(desk, found, actor.locale)
    return Reply(desk.texts.render(actor.locale, "overdue_report", tickets=views))


async def prune(desk: Desk) -> None:
    """Telegram redelivers an update for at most a day; a week of ids is plenty. The intake
    rate limit looks back one hour."""
    now = desk.now()

    async def prune_old_rows(tx: Tx) -> None:
        await people.prune_processed_updates(tx, now - dt.timedelta(days=7))
        await people.prune_intake_log(tx, now - dt.timedelta(days=1))
        await inbox.prune(tx, now - dt.timedelta(days=7))

    await desk.db.write(prune_old_rows)


async def store_updates(desk: Desk, updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep a fetched batch before Telegram hears it arrived; pass on only updates not
    fetched before. Telegram sends a batch again when a crash kept the bot from
    confirming it, and start-up has already replayed those from the inbox."""
    kept = await desk.db.write(lambda tx: inbox.save(tx, updates, desk.now()))
    return [update for update in updates if update["update_id"] in kept]


async def unhandled_updates(desk: Desk) -> list[dict[str, Any]]:
    return await desk.db.read(inbox.unhandled)
