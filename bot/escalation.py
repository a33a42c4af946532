"""Nobody waits unanswered: a routed ticket nobody accepts climbs the chain (next on-duty
member → whole team → supervisor → staff group), resolution deadlines remind staff, and
overdue tickets reach the supervisor once a day. Every clock lives in the database and
each step is written with its messages in one transaction, so a restart neither loses
nor repeats a step."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot import audience, notify, routing
from bot.config import CommunityConfig, ConfigError
from bot.models import Outgoing, Ticket, TicketState
from bot.services import Desk, StaffContact, staff_contacts
from storage import escalations, outbox, people, tickets
from storage.db import Tx

log = logging.getLogger(__name__)

TARGETS = ("next", "team", "supervisor", "staff_group")


@dataclass(frozen=True, slots=True)
class Step:
    to: str
    wait_minutes: int  # after the previous step; the first step fires at the ack deadline
    repeat: int = 1


DEFAULT_STEPS = (
    Step("next", 0),
    Step("team", 10),
    Step("supervisor", 10),
    Step("staff_group", 15, repeat=2),
)


def policy(config: CommunityConfig) -> tuple[Step, ...]:
    """The chain from the config's [escalation] section (validated at start)."""
    raw: Any = config.raw.get("escalation", {})
    if not isinstance(raw, Mapping):
        raise ConfigError("escalation", "expected a table")
    for key in raw:
        if key != "steps":
            raise ConfigError(f"escalation.{key}", "unknown key (allowed: steps)")
    entries = raw.get("steps")
    if entries is None:
        return DEFAULT_STEPS
    if not isinstance(entries, list) or not entries:
        raise ConfigError("escalation.steps", "expected a non-empty array of tables")
    steps: list[Step] = []
    for index, entry in enumerate(entries):
        prefix = f"escalation.steps[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(prefix, "expected a table")
        unknown = set(entry) - {"to", "wait_minutes", "repeat"}
        if unknown:
            raise ConfigError(f"{prefix}.{sorted(unknown)[0]}", "unknown key")
        to = entry.get("to")
        if to not in TARGETS:
            raise ConfigError(f"{prefix}.to", f"expected one of {', '.join(TARGETS)}")
        wait = entry.get("wait_minutes", 10)
        repeat = entry.get("repeat", 1)
        for name, value in (("wait_minutes", wait), ("repeat", repeat)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{prefix}.{name}", "expected a whole number ≥ 0")
        if repeat == 0:
            raise ConfigError(f"{prefix}.repeat", "must be at least 1")
        steps.append(Step(str(to), int(wait), int(repeat)))
    return tuple(steps)


async def arm_for(tx: Tx, desk: Desk, ticket: Ticket) -> None:
    """Start the acknowledgement clock for a freshly routed ticket."""
    steps = desk.derived(policy)
    now = desk.now()
    if ticket.urgent:
        # Team and supervisor were pinged at once; carry on after those steps.
        later = [i for i, s in enumerate(steps) if s.to == "staff_group"]
        if not later:
            await escalations.disarm(tx, ticket.id)
            return
        start_step = later[0]
        wait = dt.timedelta(minutes=desk.config.sla.urgent_ack_minutes)
    else:
        start_step = 0
        wait = dt.timedelta(minutes=desk.config.sla.ack_minutes)
    await escalations.arm(tx, ticket.id, start_step, now + wait)


async def disarm(tx: Tx, ticket_id: int) -> None:
    await escalations.disarm(tx, ticket_id)


async def run_due(desk: Desk) -> int:
    """Fire every escalation step whose clock ran out; returns how many fired."""
    due = await desk.db.read(lambda tx: escalations.due(tx, desk.now()))

    async def fire_if_still_due(tx: Tx, *, ticket_id: int, step: int, repeats: int) -> int:
        # Re-read inside the transaction: another task may have moved it already.
        state = await escalations.current(tx, ticket_id)
        if state is None or (state[0], state[1]) != (step, repeats) or state[2] > desk.now():
            return 0
        return await _fire(tx, desk, ticket_id, step, repeats)

    fired = 0
    for ticket_id, step, repeats in due:
        fired += await desk.db.write(
            partial(fire_if_still_due, ticket_id=ticket_id, step=step, repeats=repeats)
        )
    if fired:
        desk.wake_outbox()
    return fired


async def _fire(tx: Tx, desk: Desk, ticket_id: int, step_index: int, repeats: int) -> int:
    steps = desk.derived(policy)
    ticket = await tickets.get_ticket(tx, ticket_id)
    waiting = (TicketState.NEW, TicketState.ASSIGNED, TicketState.REOPENED)
    if ticket is None or ticket.state not in waiting or step_index >= len(steps):
        await escalations.disarm(tx, ticket_id)
        return 0
    step = steps[step_index]
    now = desk.now()
    done = await _perform(tx, desk, ticket, step, f"esc{ticket.id}:{step_index}:{repeats}")
    if not done and step_index + 1 < len(steps):
        # Nothing to do at this step (e.g. nobody else on duty): go straight to the next.
        await escalations.arm(tx, ticket.id, step_index + 1, now)
        return 1
    if repeats + 1 < step.repeat:
        await escalations.arm(
            tx, ticket.id, step_index, now + dt.timedelta(minutes=step.wait_minutes), repeats + 1
        )
    elif step_index + 1 < len(steps):
        following = steps[step_index + 1]
        await escalations.arm(
            tx, ticket.id, step_index + 1, now + dt.timedelta(minutes=following.wait_minutes)
        )
    else:
        await escalations.disarm(tx, ticket.id)
    return 1


async def _perform(tx: Tx, desk: Desk, ticket: Ticket, step: Step, key: str) -> bool:
    now = desk.now()
    contacts = await staff_contacts(tx, desk)
    team = routing.team_for(desk.config, ticket.category)
    if step.to == "next":
        overrides = await people.duty_overrides(tx, desk.local(now).date())
        declined = await tickets.declined_by(tx, ticket.id)
        others = [
            m
            for m in routing.on_duty(desk.config, team, desk.local(now), overrides)
            if m.key != ticket.assignee_key and m.key not in declined
        ]
        keys = [member.key for member in others]
        chosen = routing.pick(
            others,
            ticket.building,
            await tickets.open_counts(tx, keys),
            await tickets.last_assigned(tx, keys),
        )
        if chosen is None:
            return False
        updated = await tickets.update_ticket(
            tx,
            ticket.id,
            ticket.state,
            state=TicketState.ASSIGNED,
            assignee_key=chosen.key,
            assigned_at=now,
        )
        if updated is None:
            return False
        event_id = await tickets.add_event(
            tx, ticket.id, "escalated", now, actor_key=chosen.key, note="next"
        )
        attachments = await tickets.attachments_for(tx, ticket.id)
        await _queue(
            tx,
            desk,
            notify.staff_card(
                desk, updated, contacts[chosen.key], event_id, attachments, reason="escalated"
            ),
        )
        return True
    if step.to == "team":
        overrides = await people.duty_overrides(tx, desk.local(now).date())
        members = routing.on_duty(desk.config, team, desk.local(now), overrides)
        if not members:
            return False
        event_id = await tickets.add_event(tx, ticket.id, "escalated", now, note="team")
        await _ping_all(tx, desk, ticket, [contacts[m.key] for m in members], event_id)
        return True
    if step.to == "supervisor":
        supervisor = routing.supervisor_for(desk.config, team)
        if supervisor is None:
            return False
        event_id = await tickets.add_event(
            tx, ticket.id, "escalated", now, actor_key=supervisor.key, note="supervisor"
        )
        await _ping_all(tx, desk, ticket, [contacts[supervisor.key]], event_id)
        await _tell_reporter_passed_on(tx, desk, ticket, event_id)
        return True
    if desk.config.staff_chat is None:
        return False
    event_id = await tickets.add_event(tx, ticket.id, "escalated", now, note="staff_group")
    await _queue(tx, desk, notify.staff_card(desk, ticket, None, event_id, [], reason="escalated"))
    return True


async def _ping_all(
    tx: Tx, desk: Desk, ticket: Ticket, contacts: list[StaffContact], event_id: int
) -> None:
    attachments = await tickets.attachments_for(tx, ticket.id)
    for contact in contacts:
        cards = notify.staff_card(desk, ticket, contact, event_id, attachments, reason="escalated")
        # One fallback card in the staff group is enough however many are unreachable.
        await _queue(tx, desk, cards)


async def _tell_reporter_passed_on(tx: Tx, desk: Desk, ticket: Ticket, event_id: int) -> None:
    await _queue(
        tx,
        desk,
        await audience.reporter_and_followers(
            tx, desk, ticket, key=f"ev{event_id}:passed", template="notice_passed_on"
        ),
    )


async def _queue(tx: Tx, desk: Desk, messages: list[Outgoing]) -> None:
    for message in messages:
        await outbox.enqueue(tx, message, desk.now())


# --- resolution deadlines --------------------------------------------------------------------


async def remind_deadlines(desk: Desk) -> int:
    """A heads-up to the assignee some hours before the resolution deadline (once)."""
    now = desk.now()
    soon = now + dt.timedelta(hours=desk.config.sla.remind_before_hours)

    async def queue_reminders(tx: Tx) -> int:
        sent = 0
        contacts = await staff_contacts(tx, desk)
        for ticket in await escalations.needing_reminder(tx, soon, now):
            assert ticket.resolve_due_at is not None
            # Short deadlines (urgent: 2 h) get their reminder in the last quarter instead.
            lead = min(
                dt.timedelta(hours=desk.config.sla.remind_before_hours),
                (ticket.resolve_due_at - ticket.created_at) / 4,
            )
            if now < ticket.resolve_due_at - lead:
                continue
            await tickets.update_ticket(tx, ticket.id, deadline_reminded_at=now)
            contact = contacts.get(ticket.assignee_key or "")
            message = _staff_message(desk, contact, ticket, "staff_deadline", f"t{ticket.id}:due")
            if message is not None:
                await outbox.enqueue(tx, message, now)
                sent += 1
        return sent

    sent = await desk.db.write(queue_reminders)
    if sent:
        desk.wake_outbox()
    return sent


async def follow_ups(desk: Desk) -> int:
    """Tickets handed to an outside agency: remind the assignee on the follow-up date."""
    now = desk.now()

    async def queue_follow_ups(tx: Tx) -> int:
        sent = 0
        contacts = await staff_contacts(tx, desk)
        for ticket in await escalations.follow_ups_due(tx, now):
            await tickets.update_ticket(tx, ticket.id, follow_up_at=None)
            event_id = await tickets.add_event(tx, ticket.id, "follow_up", now)
            contact = contacts.get(ticket.assignee_key or "")
            message = _staff_message(
                desk, contact, ticket, "staff_follow_up_due", f"ev{event_id}:fu"
            )
            if message is not None:
                await outbox.enqueue(tx, message, now)
                sent += 1
        return sent

    sent = await desk.db.write(queue_follow_ups)
    if sent:
        desk.wake_outbox()
    return sent


def _staff_message(
    desk: Desk, contact: StaffContact | None, ticket: Ticket, template: str, key: str
) -> Outgoing | None:
    """To the assignee by DM, falling back to (or, when unreachable, straight to) the
    staff group."""
    group = desk.config.staff_chat
    if contact is not None and contact.user_id is not None and contact.reachable:
        chat, locale = contact.user_id, contact.locale
    elif group is not None:
        chat, locale = group, desk.config.locale
    else:
        return None
    due = None
    if ticket.resolve_due_at is not None:
        due = desk.local(ticket.resolve_due_at).strftime("%m-%d %H:%M")

    def render(in_locale: str) -> str:
        return desk.texts.render(
            in_locale,
            template,
            t=notify.ticket_view(desk, ticket, in_locale),
            due=due,
            assignee=None if contact is None else contact.member.name,
        )

    fallback = None
    if group is not None and chat != group:
        fallback = Outgoing(
            key=f"{key}:{group}",
            chat_id=group,
            text=render(desk.config.locale),
            ticket_id=ticket.id,
        )
    return Outgoing(
        key=f"{key}:{chat}",
        chat_id=chat,
        text=render(locale),
        buttons=notify.staff_buttons(desk, ticket, locale),
        ticket_id=ticket.id,
        fallback=fallback,
        recipient_user_id=chat if chat > 0 else None,
    )


async def overdue_list(desk: Desk) -> list[Ticket]:
    return await desk.db.read(lambda tx: escalations.overdue(tx, desk.now()))


async def report_overdue(desk: Desk) -> bool:
    """Once a day, after the configured time, supervisors get the overdue list."""
    now = desk.now()
    local = desk.local(now)
    if local.time() < desk.config.sla.overdue_report_time:
        return False

    async def queue_overdue_report(tx: Tx) -> bool:
        """False when nothing is overdue or today's report was already claimed."""
        found = await escalations.overdue(tx, now)
        if not found or not await escalations.claim_daily(tx, "overdue", local.date(), now):
            return False
        contacts = await staff_contacts(tx, desk)
        keys = [s.key for s in desk.config.supervisors()]
        for message in _overdue_messages(desk, contacts, keys, found, local.date()):
            await outbox.enqueue(tx, message, now)
        return True

    if not await desk.db.write(queue_overdue_report):
        return False
    desk.wake_outbox()
    return True


def _overdue_messages(
    desk: Desk,
    contacts: dict[str, StaffContact],
    supervisor_keys: list[str],
    found: list[Ticket],
    day: dt.date,
) -> list[Outgoing]:
    def render(locale: str) -> str:
        return desk.texts.render(
            locale, "overdue_report", tickets=overdue_views(desk, found, locale)
        )

    group = desk.config.staff_chat
    group_message = None
    if group is not None:
        group_message = Outgoing(
            key=f"overdue:{day}:{group}", chat_id=group, text=render(desk.config.locale)
        )
    messages: list[Outgoing] = []
    for key in supervisor_keys:
        contact = contacts[key]
        if contact.user_id is None or not contact.reachable:
            continue
        messages.append(
            Outgoing(
                key=f"overdue:{day}:{contact.user_id}",
                chat_id=contact.user_id,
                text=render(contact.locale),
                fallback=group_message,
                recipient_user_id=contact.user_id,
            )
        )
    if not messages and group_message is not None:
        messages.append(group_message)
    return messages


def overdue_views(desk: Desk, found: list[Ticket], locale: str) -> list[dict[str, object]]:
    views = []
    for ticket in found:
        view = notify.ticket_view(desk, ticket, locale)
        member = desk.config.staff_by_key(ticket.assignee_key or "")
        view["assignee"] = member.name if member else None
        assert ticket.resolve_due_at is not None
        view["due"] = desk.local(ticket.resolve_due_at).strftime("%m-%d %H:%M")
        views.append(view)
    return views
