"""Who hears about a ticket's steps: the reporter (DM when possible, else a group reply
without private details) and the neighbours following it."""

from __future__ import annotations

from bot import notify
from bot.models import Outgoing, Ticket
from bot.services import Desk
from storage import escalations, people
from storage.db import Tx


async def reporter_reach(tx: Tx, desk: Desk, ticket: Ticket) -> tuple[str, bool]:
    person = await people.get_person(tx, ticket.reporter_id)
    if person is None:
        return desk.config.locale, False
    return person.locale, person.reachable_by_dm


async def reporter_and_followers(
    tx: Tx,
    desk: Desk,
    ticket: Ticket,
    *,
    key: str,
    template: str,
    with_rating: bool = False,
    **context: object,
) -> list[Outgoing]:
    """A step notice for the reporter and every neighbour following the ticket; only the
    reporter gets rating buttons."""
    locale, reachable = await reporter_reach(tx, desk, ticket)
    messages = [
        notify.to_reporter(
            desk,
            ticket,
            key=key,
            template=template,
            reporter_locale=locale,
            reporter_reachable=reachable,
            buttons_dm=notify.rating_buttons(desk, ticket, locale) if with_rating else (),
            buttons_group=notify.rating_buttons(desk, ticket, desk.config.locale)
            if with_rating
            else (),
            **context,
        )
    ]
    for follower, _text in await escalations.followers_of(tx, ticket.id):
        person = await people.get_person(tx, follower.user_id)
        messages.append(
            notify.to_follower(
                desk,
                ticket,
                follower,
                key=f"{key}:f{follower.user_id}",
                template=template,
                locale=person.locale if person else desk.config.locale,
                reachable=person is not None and person.reachable_by_dm,
                **context,
            )
        )
    return messages
