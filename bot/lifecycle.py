"""The ticket state machine. Every transition is checked here (not just hidden in the UI),
written with its event row and the messages it causes in one transaction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from bot import audience, escalation, notify, routing, sla
from bot.config import StaffMember
from bot.models import Actor, Attachment, Follower, Outcome, Outgoing, Ticket, TicketState
from bot.services import Desk, StaffContact, staff_contacts, staff_member_of
from storage import escalations, outbox, people, tickets
from storage.db import Tx, TxBody

S = TicketState

# Allowed transitions; anything else is refused by `_move`.
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    S.NEW: frozenset({S.ASSIGNED, S.ACCEPTED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.ACCEPTED, S.NEW, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.RESOLVED, S.ASSIGNED, S.CANCELLED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.ACCEPTED, S.NEW, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}

PENDING_TTL = dt.timedelta(hours=2)
LOW_RATING = 2


class TransitionError(Exception):
    """An invalid state change; `code` picks the explanation shown to the person."""

    def __init__(self, code: str, ticket: Ticket | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.ticket = ticket


def can_move(current: TicketState, target: TicketState) -> bool:
    return target in TRANSITIONS[current]


async def _move(tx: Tx, ticket: Ticket, target: TicketState, **changes: object) -> Ticket:
    if not can_move(ticket.state, target):
        raise TransitionError(f"stale_{ticket.state.value}", ticket)
    updated = await tickets.update_ticket(tx, ticket.id, ticket.state, state=target, **changes)
    if updated is None:  # someone else changed it between our read and write
        raise TransitionError("stale_changed", ticket)
    return updated


async def _queue(tx: Tx, desk: Desk, messages: Sequence[Outgoing]) -> None:
    now = desk.now()
    for message in messages:
        await outbox.enqueue(tx, message, now)


def answer(desk: Desk, actor: Actor, code: str, **context: object) -> str:
    values: dict[str, object] = {"id": None, "assignee": None, "state": None, **context}
    return desk.texts.render(actor.locale, "answer", code=code, **values)


def _refuse(desk: Desk, actor: Actor, error: TransitionError) -> Outcome:
    assignee = None
    if error.ticket is not None and error.ticket.assignee_key:
        member = desk.config.staff_by_key(error.ticket.assignee_key)
        assignee = member.name if member else None
    ticket_id = error.ticket.id if error.ticket else None
    code, state = error.code, None
    if code.startswith("stale_"):
        name = code.removeprefix("stale_")
        code = "stale"
        state = None if name == "changed" else desk.label(actor.locale, "state", name)
    text = answer(desk, actor, code, id=ticket_id, assignee=assignee, state=state)
    return Outcome(answer=text, ok=False, ticket=error.ticket)


async def _transition(
    desk: Desk, actor: Actor, change: TxBody[Ticket], code: str, **context: object
) -> Outcome:
    """Run a state change in one transaction: refused, the actor is told why; done, what
    was done (`code`; `context` fills the answer, whose `id` is the ticket unless given)."""
    try:
        ticket = await desk.db.write(change)
    except TransitionError as error:
        return _refuse(desk, actor, error)
    desk.wake_outbox()
    return Outcome(answer=answer(desk, actor, code, **{"id": ticket.id, **context}), ticket=ticket)


async def _load(tx: Tx, ticket_id: int) -> Ticket:
    ticket = await tickets.get_ticket(tx, ticket_id)
    if ticket is None:
        raise TransitionError("unknown_ticket")
    return ticket


# --- routing ---------------------------------------------------------------------------


async def route(tx: Tx, desk: Desk, ticket: Ticket, *, reason: str = "assigned") -> Ticket:
    """Assign to the best on-duty team member; nobody left → the team's supervisor and the
    staff group. Queues the staff card."""
    first_routing = reason == "assigned"
    now = desk.now()
    team = routing.team_for(desk.config, ticket.category)
    overrides = await people.duty_overrides(tx, desk.local(now).date())
    declined = await tickets.declined_by(tx, ticket.id)
    candidates = [
        m
        for m in routing.on_duty(desk.config, team, desk.local(now), overrides)
        if m.key not in declined
    ]
    keys = [member.key for member in candidates]
    chosen = routing.pick(
        candidates,
        ticket.building,
        await tickets.open_counts(tx, keys),
        await tickets.last_assigned(tx, keys),
    )
    kind = "assigned"
    if chosen is None:
        supervisor = routing.supervisor_for(desk.config, team)
        if supervisor is not None and supervisor.key not in declined:
            chosen, kind, reason = supervisor, "escalated", "no_one_on_duty"
    contacts = await staff_contacts(tx, desk)
    if chosen is None:
        # Nobody at all: leave it open for anyone in the staff group to take.
        if ticket.state is not S.NEW:
            ticket = await _move(tx, ticket, S.NEW, assignee_key=None)
        event_id = await tickets.add_event(tx, ticket.id, "unassigned", now)
        contact = None
        reason = "unassigned"
    else:
        ticket = await _move(tx, ticket, S.ASSIGNED, assignee_key=chosen.key, assigned_at=now)
        event_id = await tickets.add_event(tx, ticket.id, kind, now, actor_key=chosen.key)
        contact = contacts[chosen.key]
    attachments = await tickets.attachments_for(tx, ticket.id)
    await _queue(
        tx, desk, notify.staff_card(desk, ticket, contact, event_id, attachments, reason=reason)
    )
    if ticket.urgent and first_routing:
        await _urgent_ping(tx, desk, ticket, team, contacts, chosen, event_id)
    await escalation.arm_for(tx, desk, ticket)
    return ticket


async def _urgent_ping(
    tx: Tx,
    desk: Desk,
    ticket: Ticket,
    team: str,
    contacts: dict[str, StaffContact],
    chosen: StaffMember | None,
    event_id: int,
) -> None:
    """Urgent: the whole team on duty and the supervisor hear about it at once."""
    now = desk.now()
    overrides = await people.duty_overrides(tx, desk.local(now).date())
    members = routing.on_duty(desk.config, team, desk.local(now), overrides)
    supervisor = routing.supervisor_for(desk.config, team)
    if supervisor is not None:
        members.append(supervisor)
    attachments = await tickets.attachments_for(tx, ticket.id)
    seen = {chosen.key} if chosen else set()
    for member in members:
        if member.key in seen:
            continue
        seen.add(member.key)
        cards = notify.staff_card(
            desk, ticket, contacts[member.key], event_id, attachments, reason="urgent"
        )
        await _queue(tx, desk, cards)


# --- staff actions ---------------------------------------------------------------------


async def _staff(tx: Tx, desk: Desk, actor: Actor) -> StaffMember:
    member = await staff_member_of(tx, desk, actor.user_id)
    if member is None:
        raise TransitionError("not_staff")
    return member


def _may_handle(desk: Desk, member: StaffMember, ticket: Ticket) -> bool:
    team = routing.team_for(desk.config, ticket.category)
    return member.supervisor or member.key == ticket.assignee_key or team in member.teams


async def accept(desk: Desk, actor: Actor, ticket_id: int) -> Outcome:
    async def accept_ticket(tx: Tx) -> Ticket:
        member = await _staff(tx, desk, actor)
        ticket = await _load(tx, ticket_id)
        if ticket.state is S.ACCEPTED:
            code = "already_yours" if ticket.assignee_key == member.key else "taken"
            raise TransitionError(code, ticket)
        if not _may_handle(desk, member, ticket):
            raise TransitionError("not_your_team", ticket)
        now = desk.now()
        ticket = await _move(tx, ticket, S.ACCEPTED, assignee_key=member.key, accepted_at=now)
        event_id = await tickets.add_event(
            tx, ticket.id, "accepted", now, actor_id=actor.user_id, actor_key=member.key
        )
        await escalation.disarm(tx, ticket.id)
        await _queue(
            tx,
            desk,
            await audience.reporter_and_followers(
                tx,
                desk,
                ticket,
                key=f"ev{event_id}:accepted",
                template="notice_accepted",
                staff_name=member.name,
                staff_role=member.role,
            ),
        )
        return ticket

    return await _transition(desk, actor, accept_ticket, "accepted")


async def decline(desk: Desk, actor: Actor, ticket_id: int) -> Outcome:
    async def decline_and_reroute(tx: Tx) -> Ticket:
        member = await _staff(tx, desk, actor)
        ticket = await _load(tx, ticket_id)
        if ticket.assignee_key != member.key or ticket.state is not S.ASSIGNED:
            code = "taken" if ticket.state is S.ACCEPTED else "not_assignee"
            if ticket.state not in (S.ASSIGNED, S.ACCEPTED):
                code = f"stale_{ticket.state.value}"
            raise TransitionError(code, ticket)
        await tickets.add_decline(tx, ticket.id, member.key)
        await tickets.add_event(
            tx, ticket.id, "declined", desk.now(), actor_id=actor.user_id, actor_key=member.key
        )
        return await route(tx, desk, ticket, reason="declined")

    return await _transition(desk, actor, decline_and_reroute, "declined")


async def begin_resolve(desk: Desk, actor: Actor, ticket_id: int, kind: str = "fixed") -> Outcome:
    """Resolving asks for a short result note first; the next message is that note."""

    async def ask_for_note(tx: Tx) -> Ticket:
        member = await _staff(tx, desk, actor)
        ticket = await _load(tx, ticket_id)
        if ticket.state is not S.ACCEPTED:
            raise TransitionError(f"stale_{ticket.state.value}", ticket)
        if ticket.assignee_key != member.key and not member.supervisor:
            raise TransitionError("not_assignee", ticket)
        await people.set_pending(tx, actor.user_id, f"resolve:{kind}", ticket.id, desk.now())
        return ticket

    return await _transition(desk, actor, ask_for_note, f"ask_note_{kind}")


RESOLUTION_KINDS = ("fixed", "unable", "referred")
DEFAULT_FOLLOW_UP = dt.timedelta(days=3)


async def resolve(
    desk: Desk,
    actor: Actor,
    ticket_id: int,
    note: str,
    photo: Attachment | None = None,
    *,
    kind: str = "fixed",
) -> Outcome:
    async def resolve_ticket(tx: Tx) -> Ticket:
        member = await _staff(tx, desk, actor)
        ticket = await _load(tx, ticket_id)
        if ticket.state is S.ACCEPTED and not (
            ticket.assignee_key == member.key or member.supervisor
        ):
            raise TransitionError("not_assignee", ticket)
        now = desk.now()
        follow_up = follow_up_date(desk, note, now) if kind == "referred" else None
        ticket = await _move(
            tx,
            ticket,
            S.RESOLVED,
            resolved_at=now,
            resolution_note=note,
            resolution_kind=kind,
            follow_up_at=follow_up,
        )
        event_id = await tickets.add_event(
            tx,
            ticket.id,
            "resolved" if kind == "fixed" else kind,
            now,
            actor_id=actor.user_id,
            actor_key=member.key,
            note=note,
        )
        if photo is not None:
            await tickets.add_attachment(
                tx, photo, now, ticket_id=ticket.id, added_by=actor.user_id
            )
        await _queue(tx, desk, await _resolution_notices(tx, desk, ticket, event_id, photo))
        return ticket

    return await _transition(desk, actor, resolve_ticket, "resolved")


async def _resolution_notices(
    tx: Tx, desk: Desk, ticket: Ticket, event_id: int, photo: Attachment | None
) -> list[Outgoing]:
    messages = await audience.reporter_and_followers(
        tx,
        desk,
        ticket,
        key=f"ev{event_id}:resolved",
        template="notice_resolved",
        with_rating=True,
        kind=ticket.resolution_kind or "fixed",
        follow_up=None
        if ticket.follow_up_at is None
        else desk.local(ticket.follow_up_at).strftime("%m-%d"),
    )
    notice = messages[0]
    if photo is not None and notice.recipient_user_id is not None:
        # Result photos go by DM only: a photo of a flat's interior is private.
        locale, _ = await audience.reporter_reach(tx, desk, ticket)
        messages.append(
            Outgoing(
                key=f"ev{event_id}:resolved:photo",
                chat_id=notice.chat_id,
                attachment=photo,
                text=desk.texts.render(locale, "attachment_caption", id=ticket.id),
                ticket_id=ticket.id,
                recipient_user_id=notice.recipient_user_id,
            )
        )
    return messages


# --- reporter actions ------------------------------------------------------------------


async def rate(
    desk: Desk, actor: Actor, ticket_id: int, stars: int, *, in_private: bool = False
) -> Outcome:
    async def rate_ticket(tx: Tx) -> Ticket:
        ticket = await _load(tx, ticket_id)
        if ticket.reporter_id != actor.user_id:
            raise TransitionError("not_reporter", ticket)
        now = desk.now()
        if ticket.rating is not None:
            ticket = await _change_rating(tx, desk, ticket, stars, now)
        else:
            if ticket.state is not S.RESOLVED:
                raise TransitionError(f"stale_{ticket.state.value}", ticket)
            ticket = await _move(tx, ticket, S.CLOSED, rating=stars, rated_at=now, closed_at=now)
        event_id = await tickets.add_event(
            tx, ticket.id, "rated", now, actor_id=actor.user_id, note=str(stars)
        )
        if stars <= LOW_RATING and ticket.state is S.CLOSED:
            ticket = await _reopen_for_low_rating(tx, desk, ticket, event_id, stars)
        if in_private:  # a comment can only be typed where we can read it
            await people.set_pending(tx, actor.user_id, "rating_comment", ticket.id, now)
        return ticket

    return await _transition(desk, actor, rate_ticket, "rated", stars=stars)


async def _change_rating(
    tx: Tx, desk: Desk, ticket: Ticket, stars: int, now: dt.datetime
) -> Ticket:
    window = dt.timedelta(hours=desk.config.sla.rating_change_hours)
    if ticket.rated_at is None or now - ticket.rated_at > window:
        raise TransitionError("rating_final", ticket)
    updated = await tickets.update_ticket(tx, ticket.id, rating=stars, rated_at=now)
    assert updated is not None
    return updated


async def _reopen_for_low_rating(
    tx: Tx, desk: Desk, ticket: Ticket, event_id: int, stars: int
) -> Ticket:
    now = desk.now()
    levels, zone = desk.config.sla, desk.config.timezone
    ticket = await _move(
        tx,
        ticket,
        S.REOPENED,
        closed_at=None,
        resolved_at=None,
        ack_due_at=sla.ack_deadline(levels, now, ticket.urgent),
        resolve_due_at=sla.resolve_deadline(levels, ticket.category, ticket.urgent, now, zone),
        deadline_reminded_at=None,
    )
    await tickets.add_event(tx, ticket.id, "reopened", desk.now(), note=str(stars))
    await tickets.clear_declines(tx, ticket.id)
    await _alert_supervisor(
        tx, desk, ticket, key=f"ev{event_id}:low", template="supervisor_low_rating", stars=stars
    )
    return await route(tx, desk, ticket, reason="reopened")


async def _alert_supervisor(
    tx: Tx, desk: Desk, ticket: Ticket, *, key: str, template: str, **context: object
) -> None:
    """The team's supervisor (or every supervisor when the team has none)."""
    supervisor = routing.supervisor_for(desk.config, routing.team_for(desk.config, ticket.category))
    keys = [supervisor.key] if supervisor else [s.key for s in desk.config.supervisors()]
    contacts = await staff_contacts(tx, desk)
    messages = notify.to_supervisors(
        desk, contacts, ticket, key=key, template=template, supervisor_keys=keys, **context
    )
    await _queue(tx, desk, messages)


async def add_comment(desk: Desk, actor: Actor, ticket_id: int, comment: str) -> Outcome:
    async def save_comment(tx: Tx) -> Outcome:
        ticket = await tickets.get_ticket(tx, ticket_id)
        if ticket is None or ticket.reporter_id != actor.user_id:
            return Outcome(ok=False)
        updated = await tickets.update_ticket(tx, ticket.id, rating_comment=comment)
        event_id = await tickets.add_event(
            tx, ticket.id, "commented", desk.now(), actor_id=actor.user_id, note=comment
        )
        if ticket.rating is not None and ticket.rating <= LOW_RATING:
            await _alert_supervisor(
                tx,
                desk,
                ticket,
                key=f"ev{event_id}:comment",
                template="supervisor_comment",
                comment=comment,
            )
        return Outcome(answer=answer(desk, actor, "comment_saved", id=ticket_id), ticket=updated)

    outcome = await desk.db.write(save_comment)
    if outcome.ok:
        desk.wake_outbox()
    return outcome


async def cancel(desk: Desk, actor: Actor, ticket_id: int) -> Outcome:
    async def cancel_ticket(tx: Tx) -> Ticket:
        ticket = await _load(tx, ticket_id)
        if ticket.reporter_id != actor.user_id:
            raise TransitionError("not_reporter", ticket)
        previous = ticket.assignee_key
        ticket = await _move(tx, ticket, S.CANCELLED, closed_at=desk.now())
        await escalation.disarm(tx, ticket.id)
        event_id = await tickets.add_event(
            tx, ticket.id, "cancelled", desk.now(), actor_id=actor.user_id
        )
        if previous is not None:
            contacts = await staff_contacts(tx, desk)
            await _queue(tx, desk, _cancel_notice(desk, contacts.get(previous), ticket, event_id))
        return ticket

    return await _transition(desk, actor, cancel_ticket, "cancelled")


def _cancel_notice(
    desk: Desk, contact: StaffContact | None, ticket: Ticket, event_id: int
) -> list[Outgoing]:
    if contact is None or contact.user_id is None or not contact.reachable:
        chat = desk.config.staff_chat
        locale = desk.config.locale
        if chat is None:
            return []
    else:
        chat, locale = contact.user_id, contact.locale
    text = desk.texts.render(locale, "staff_cancelled", t=notify.ticket_view(desk, ticket, locale))
    return [
        Outgoing(key=f"ev{event_id}:cancel:{chat}", chat_id=chat, text=text, ticket_id=ticket.id)
    ]


# --- supervisor actions ----------------------------------------------------------------


async def assign(desk: Desk, actor: Actor, ticket_id: int, target_key: str) -> Outcome:
    async def assign_ticket(tx: Tx) -> tuple[Ticket, StaffMember]:
        member = await _staff(tx, desk, actor)
        ticket = await _load(tx, ticket_id)
        if not (member.supervisor or member.admin or member.key == ticket.assignee_key):
            raise TransitionError("not_supervisor", ticket)
        target = desk.config.staff_by_key(target_key)
        if target is None:
            raise TransitionError("unknown_staff", ticket)
        now = desk.now()
        ticket = await _move(tx, ticket, S.ASSIGNED, assignee_key=target.key, assigned_at=now)
        event_id = await tickets.add_event(
            tx,
            ticket.id,
            "assigned",
            now,
            actor_id=actor.user_id,
            actor_key=target.key,
            note=member.key,
        )
        contacts = await staff_contacts(tx, desk)
        attachments = await tickets.attachments_for(tx, ticket.id)
        await _queue(
            tx,
            desk,
            notify.staff_card(desk, ticket, contacts[target.key], event_id, attachments),
        )
        return ticket, target

    try:
        ticket, target = await desk.db.write(assign_ticket)
    except TransitionError as error:
        return _refuse(desk, actor, error)
    desk.wake_outbox()
    return Outcome(
        answer=answer(desk, actor, "assigned", id=ticket.id, assignee=target.name), ticket=ticket
    )


async def close_unrated(desk: Desk) -> int:
    """Resolved tickets nobody rated close after the configured days (run by a job)."""
    cutoff = desk.now() - dt.timedelta(days=desk.config.sla.close_unrated_after_days)

    async def close_stale_resolved(tx: Tx) -> int:
        closed = 0
        for ticket in await tickets.resolved_unrated_before(tx, cutoff):
            await _move(tx, ticket, S.CLOSED, closed_at=desk.now())
            await tickets.add_event(tx, ticket.id, "closed", desk.now(), note="unrated")
            closed += 1
        return closed

    return await desk.db.write(close_stale_resolved)


async def pending_input(
    desk: Desk, actor: Actor, text: str, photo: Attachment | None
) -> Outcome | None:
    """If the person's next message was asked for (a result note, a rating comment),
    consume it and act; otherwise None."""
    not_before = desk.now() - PENDING_TTL
    pending = await desk.db.write(lambda tx: people.take_pending(tx, actor.user_id, not_before))
    if pending is None:
        return None
    kind, ticket_id = pending
    if kind.startswith("resolve:"):
        if not text and photo is None:
            return None
        return await resolve(desk, actor, ticket_id, text, photo, kind=kind.split(":", 1)[1])
    if kind == "rating_comment" and text:
        return await add_comment(desk, actor, ticket_id, text)
    return None


_DATE = re.compile(r"(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})")
_IN_DAYS = re.compile(r"(\d{1,2})\s*(?:天|days?)")


def follow_up_date(desk: Desk, note: str, now: dt.datetime) -> dt.datetime:
    """A referral's follow-up date from the note ("12-10", "12月10日", "3天"), else in three
    days; 09:00 community time that day."""
    local_now = desk.local(now)
    day: dt.date | None = None
    if match := _DATE.search(note):
        year = int(match.group(1)) if match.group(1) else local_now.year
        try:
            day = dt.date(year, int(match.group(2)), int(match.group(3)))
        except ValueError:
            day = None
        if day is not None and not match.group(1) and day < local_now.date():
            day = day.replace(year=year + 1)
    elif match := _IN_DAYS.search(note):
        day = local_now.date() + dt.timedelta(days=int(match.group(1)))
    if day is None or day <= local_now.date():
        day = (local_now + DEFAULT_FOLLOW_UP).date()
    moment = dt.datetime.combine(day, dt.time(9, 0), desk.config.timezone)
    return moment.astimezone(dt.UTC)


# --- merging and splitting duplicates --------------------------------------------------------


async def merge(desk: Desk, actor: Actor, source_id: int, target_id: int) -> Outcome:
    """`source` was the same problem as `target`: its reporter (and followers) follow
    `target` from now on, and `source` is closed as merged."""

    async def merge_into_target(tx: Tx) -> Ticket:
        member = await _staff(tx, desk, actor)
        source = await _load(tx, source_id)
        target = await _load(tx, target_id)
        if source.id == target.id or not source.is_open or not target.is_open:
            raise TransitionError("stale_changed", source)
        if not (member.supervisor or member.admin or member.key == target.assignee_key):
            raise TransitionError("not_supervisor", target)
        now = desk.now()
        await escalations.move_followers(tx, source.id, target.id)
        await escalations.add_follower(
            tx,
            Follower.reporter_of(source, on=target),
            source.text,
            now,
        )
        source = await _move(tx, source, S.CANCELLED, closed_at=now, parent_id=target.id)
        await escalation.disarm(tx, source.id)
        event_id = await tickets.add_event(
            tx, source.id, "merged", now, actor_id=actor.user_id, note=str(target.id)
        )
        await tickets.add_event(
            tx, target.id, "merged", now, actor_id=actor.user_id, note=str(source.id)
        )
        await _queue(
            tx,
            desk,
            await audience.reporter_and_followers(
                tx,
                desk,
                target,
                key=f"ev{event_id}:merged",
                template="notice_merged",
                source_id=source.id,
            ),
        )
        return target

    return await _transition(
        desk, actor, merge_into_target, "merged", id=source_id, target=target_id
    )


async def split(desk: Desk, actor: Actor, ticket_id: int, position: int) -> Outcome:
    """The neighbour at `position` (1-based, as /ticket lists them) had a different
    problem after all: give them their own ticket."""
    from bot import intake  # intake files tickets through this module

    async def split_off_follower(tx: Tx) -> Ticket:
        member = await _staff(tx, desk, actor)
        ticket = await _load(tx, ticket_id)
        if not (member.supervisor or member.admin or member.key == ticket.assignee_key):
            raise TransitionError("not_supervisor", ticket)
        followers = await escalations.followers_of(tx, ticket.id)
        if not 1 <= position <= len(followers):
            raise TransitionError("no_such_follower", ticket)
        follower, text = followers[position - 1]
        await escalations.remove_follower(tx, ticket.id, follower.user_id)
        parsed = desk.parser.parse(text)
        category = parsed.category if parsed.is_request else ticket.category
        draft = await intake.new_draft(
            tx,
            desk,
            reporter_id=follower.user_id,
            reporter_name=follower.display_name,
            chat_id=follower.chat_id,
            message_id=follower.message_id,
            is_group=follower.is_group,
            text=text,
            parsed=parsed,
            category=category,
        )
        person = await people.get_person(tx, follower.user_id)
        locale = person.locale if person else desk.config.locale
        fresh = await intake.file_draft(tx, desk, draft, category, locale)
        await tickets.add_event(
            tx, ticket.id, "split", desk.now(), actor_id=actor.user_id, note=str(fresh.id)
        )
        return fresh

    return await _transition(desk, actor, split_off_follower, "split_done")
