"""Builds the messages each ticket event owes people. Privacy rule: anything sent to a
group chat carries category and building only, never room, phone or name."""

from __future__ import annotations

from dataclasses import replace

from bot import callbacks
from bot.models import Attachment, Button, Follower, Outgoing, Ticket
from bot.routing import team_for
from bot.services import Desk, StaffContact


def _rows(*rows: tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(row for row in rows if row)


def ticket_view(desk: Desk, ticket: Ticket, locale: str) -> dict[str, object]:
    """Everything templates may show about a ticket; templates pick what fits the audience."""
    team = team_for(desk.config, ticket.category)
    return {
        "id": ticket.id,
        "category": desk.label(locale, "category", ticket.category),
        "state": desk.label(locale, "state", ticket.state.value),
        "team": desk.config.teams[team].name if team in desk.config.teams else team,
        "building": ticket.building,
        "unit": ticket.unit,
        "room": ticket.room,
        "urgent": ticket.urgent,
        "text": ticket.text,
        "reporter": ticket.reporter_name,
        "note": ticket.resolution_note,
        "rating": ticket.rating,
        "created": desk.local(ticket.created_at).strftime("%m-%d %H:%M"),
    }


def rating_buttons(desk: Desk, ticket: Ticket, locale: str) -> tuple[tuple[Button, ...], ...]:
    stars = tuple(
        Button(desk.label(locale, "stars", str(n)), callbacks.ticket("rate", ticket.id, n))
        for n in range(1, 6)
    )
    return (stars[:3], stars[3:])


def staff_buttons(desk: Desk, ticket: Ticket, locale: str) -> tuple[tuple[Button, ...], ...]:
    def button(action: str, name: str) -> Button:
        return Button(desk.label(locale, "button", name), callbacks.ticket(action, ticket.id))

    if ticket.state.value in ("new", "assigned", "reopened"):
        return _rows(
            (button("acc", "accept"), button("dec", "decline")), (button("det", "details"),)
        )
    if ticket.state.value == "accepted":
        return _rows(
            (button("res", "resolve"), button("una", "unable")),
            (button("ref", "refer"), button("det", "details")),
        )
    return details_only(desk, ticket, locale)


def details_only(desk: Desk, ticket: Ticket, locale: str) -> tuple[tuple[Button, ...], ...]:
    return ((Button(desk.label(locale, "button", "details"), callbacks.ticket("det", ticket.id)),),)


def staff_card(
    desk: Desk,
    ticket: Ticket,
    contact: StaffContact | None,
    event_id: int,
    attachments: list[Attachment],
    *,
    reason: str = "assigned",
    followers: int = 0,
) -> list[Outgoing]:
    """The card (plus any photos/voice/location) for the staff member, falling back to the
    staff group when they cannot be reached by DM."""
    group = desk.config.staff_chat
    group_locale = desk.config.locale
    key = f"ev{event_id}:card"

    def card_for(chat_id: int, locale: str, in_group: bool) -> Outgoing:
        text = desk.texts.render(
            locale,
            "staff_card",
            t=ticket_view(desk, ticket, locale),
            assignee=None if contact is None else contact.member.name,
            in_group=in_group,
            reason=reason,
            attachments=len(attachments),
            followers=followers,
        )
        return Outgoing(
            key=f"{key}:{chat_id}",
            chat_id=chat_id,
            text=text,
            buttons=staff_buttons(desk, ticket, locale),
            ticket_id=ticket.id,
            purpose="staff_card",
        )

    group_card = None if group is None else card_for(group, group_locale, True)
    if contact is not None and contact.user_id is not None and contact.reachable:
        primary = card_for(contact.user_id, contact.locale, False)
        primary = _with_fallback(primary, group_card, contact.user_id)
    elif group_card is not None:
        primary = group_card
    else:
        return []
    messages = [primary]
    for index, attachment in enumerate(attachments):
        messages.append(
            Outgoing(
                key=f"{key}:att{index}:{primary.chat_id}",
                chat_id=primary.chat_id,
                attachment=attachment,
                text=desk.texts.render(
                    contact.locale if contact else group_locale, "attachment_caption", id=ticket.id
                ),
                ticket_id=ticket.id,
                recipient_user_id=primary.recipient_user_id,
                fallback=None
                if group is None or primary.chat_id == group
                else Outgoing(
                    key=f"{key}:att{index}:{group}",
                    chat_id=group,
                    attachment=attachment,
                    text=desk.texts.render(group_locale, "attachment_caption", id=ticket.id),
                    ticket_id=ticket.id,
                ),
            )
        )
    return messages


def _with_fallback(primary: Outgoing, fallback: Outgoing | None, user_id: int) -> Outgoing:
    return replace(primary, fallback=fallback, recipient_user_id=user_id)


def to_reporter(
    desk: Desk,
    ticket: Ticket,
    *,
    key: str,
    template: str,
    reporter_locale: str,
    reporter_reachable: bool,
    buttons_dm: tuple[tuple[Button, ...], ...] = (),
    buttons_group: tuple[tuple[Button, ...], ...] = (),
    **context: object,
) -> Outgoing:
    """A step notice for the reporter: DM when possible, else a reply in the group that
    leaves out private details (the template gets `private=False`)."""
    return _step_notice(
        desk,
        ticket,
        Follower.reporter_of(ticket),
        key=key,
        template=template,
        locale=reporter_locale,
        reachable=reporter_reachable,
        buttons_dm=buttons_dm,
        buttons_group=buttons_group,
        context={"follower": False, **context},
    )


def to_follower(
    desk: Desk,
    ticket: Ticket,
    follower: Follower,
    *,
    key: str,
    template: str,
    locale: str,
    reachable: bool,
    **context: object,
) -> Outgoing:
    """Like `to_reporter`, for a neighbour who reported the same problem (no rating)."""
    return _step_notice(
        desk,
        ticket,
        follower,
        key=key,
        template=template,
        locale=locale,
        reachable=reachable,
        context={"follower": True, **context},
    )


def _step_notice(
    desk: Desk,
    ticket: Ticket,
    person: Follower,
    *,
    key: str,
    template: str,
    locale: str,
    reachable: bool,
    context: dict[str, object],
    buttons_dm: tuple[tuple[Button, ...], ...] = (),
    buttons_group: tuple[tuple[Button, ...], ...] = (),
) -> Outgoing:
    group_message: Outgoing | None = None
    if person.is_group:
        group_locale = desk.config.locale
        group_message = Outgoing(
            key=f"{key}:group",
            chat_id=person.chat_id,
            text=desk.texts.render(
                group_locale,
                template,
                t=ticket_view(desk, ticket, group_locale),
                private=False,
                link=desk.deep_link(f"t-{ticket.id}"),
                **context,
            ),
            buttons=buttons_group,
            reply_to_message_id=person.message_id,
            ticket_id=ticket.id,
        )
    if not reachable and group_message is not None:
        return group_message
    dm = Outgoing(
        key=f"{key}:dm",
        chat_id=person.user_id,
        text=desk.texts.render(
            locale,
            template,
            t=ticket_view(desk, ticket, locale),
            private=True,
            link=None,
            **context,
        ),
        buttons=buttons_dm,
        ticket_id=ticket.id,
    )
    return _with_fallback(dm, group_message, person.user_id)


def to_supervisors(
    desk: Desk,
    contacts: dict[str, StaffContact],
    ticket: Ticket,
    *,
    key: str,
    template: str,
    supervisor_keys: list[str],
    **context: object,
) -> list[Outgoing]:
    """Supervisor alerts go by DM, falling back to the staff group."""
    group = desk.config.staff_chat
    messages: list[Outgoing] = []
    group_message = None
    if group is not None:
        locale = desk.config.locale
        group_message = Outgoing(
            key=f"{key}:sup:{group}",
            chat_id=group,
            text=desk.texts.render(
                locale, template, t=ticket_view(desk, ticket, locale), **context
            ),
            buttons=staff_buttons(desk, ticket, locale),
            ticket_id=ticket.id,
        )
    for staff_key in supervisor_keys:
        contact = contacts.get(staff_key)
        if contact is None or contact.user_id is None or not contact.reachable:
            continue
        text = desk.texts.render(
            contact.locale, template, t=ticket_view(desk, ticket, contact.locale), **context
        )
        dm = Outgoing(
            key=f"{key}:sup:{contact.user_id}",
            chat_id=contact.user_id,
            text=text,
            buttons=staff_buttons(desk, ticket, contact.locale),
            ticket_id=ticket.id,
            purpose="staff_card",
        )
        messages.append(_with_fallback(dm, group_message, contact.user_id))
    if not messages and group_message is not None:
        messages.append(group_message)
    return messages
