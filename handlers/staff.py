"""Staff buttons on ticket cards and staff commands; each press is re-checked by the
services (who may do what to which ticket)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, ForceReply, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler

from bot import lifecycle, notify, staffdesk
from bot.callbacks import Press
from bot.context import Context
from bot.models import Actor, Outcome
from bot.services import Desk
from bot.transport import keyboard
from handlers.common import actor_of, args_text, desk_of, reply

RESOLUTIONS = {"res": "fixed", "una": "unable", "ref": "referred"}


async def on_ticket_press(query: CallbackQuery, context: Context, press: Press) -> None:
    desk, actor = desk_of(context), actor_of(query.from_user)
    if press.action == "det":
        details = await staffdesk.ticket_details(desk, actor, press.target_id)
        await query.answer()
        if details.ok and query.message is not None:
            await context.bot.send_message(query.message.chat.id, details.text)
        return
    if press.action in RESOLUTIONS:
        kind = RESOLUTIONS[press.action]
        outcome = await lifecycle.begin_resolve(desk, actor, press.target_id, kind)
        await query.answer(None if outcome.ok else outcome.answer, show_alert=not outcome.ok)
        if outcome.ok and query.message is not None:
            await context.bot.send_message(
                query.message.chat.id, outcome.answer, reply_markup=ForceReply(selective=True)
            )
        return
    if press.action == "acc":
        outcome = await lifecycle.accept(desk, actor, press.target_id)
    else:
        outcome = await lifecycle.decline(desk, actor, press.target_id)
    await query.answer(outcome.answer, show_alert=not outcome.ok)
    await _refresh_card(query, context, outcome)


async def _refresh_card(query: CallbackQuery, context: Context, outcome: Outcome) -> None:
    """Show the buttons that fit the ticket's state now (a stale card gets fixed too)."""
    ticket = outcome.ticket
    if ticket is None:
        return
    desk, locale = desk_of(context), actor_of(query.from_user).locale
    buttons = notify.staff_buttons(desk, ticket, locale)
    if not outcome.ok and ticket.state.value == "accepted":
        buttons = notify.details_only(desk, ticket, locale)  # someone else's now
    elif outcome.ok and ticket.state.value != "accepted":
        buttons = ()  # declined: the card has moved on to someone else
    with contextlib.suppress(BadRequest):  # "message is not modified": already shows this
        await query.edit_message_reply_markup(reply_markup=keyboard(buttons))


async def ticket_command(update: Update, context: Context) -> None:
    user = update.effective_user
    if user is None:
        return
    arg = args_text(context).lstrip("#")
    desk, actor = desk_of(context), actor_of(user)
    if not arg.isdigit():
        await reply(update, lifecycle.answer(desk, actor, "ticket_usage"))
        return
    details = await staffdesk.ticket_details(desk, actor, int(arg))
    await reply(update, details.text)


async def open_command(update: Update, context: Context) -> None:
    if update.effective_user is None:
        return
    answer = await staffdesk.open_tickets(desk_of(context), actor_of(update.effective_user))
    await reply(update, answer.text)


async def assign_command(update: Update, context: Context) -> None:
    user = update.effective_user
    if user is None:
        return
    desk, actor = desk_of(context), actor_of(user)
    args = context.args or []
    if len(args) != 2 or not args[0].lstrip("#").isdigit():
        await reply(update, lifecycle.answer(desk, actor, "assign_usage"))
        return
    staff_key = await staffdesk.resolve_staff_key(desk, args[1])
    if staff_key is None:
        await reply(update, lifecycle.answer(desk, actor, "unknown_staff"))
        return
    outcome = await lifecycle.assign(desk, actor, int(args[0].lstrip("#")), staff_key)
    await reply(update, outcome.answer)


async def duty_command(update: Update, context: Context) -> None:
    if update.effective_user is None:
        return
    change = context.args[0] if context.args else None
    answer = await staffdesk.duty(desk_of(context), actor_of(update.effective_user), change)
    await reply(update, answer.text)


async def invite_command(update: Update, context: Context) -> None:
    if update.effective_user is None:
        return
    desk, actor = desk_of(context), actor_of(update.effective_user)
    if not context.args:
        await reply(update, lifecycle.answer(desk, actor, "invite_usage"))
        return
    answer = await staffdesk.create_invite(desk, actor, context.args[0])
    await reply(update, answer.text)


async def overdue_command(update: Update, context: Context) -> None:
    if update.effective_user is None:
        return
    answer = await staffdesk.overdue(desk_of(context), actor_of(update.effective_user))
    await reply(update, answer.text)


async def new_command(update: Update, context: Context) -> None:
    """/new <address, contact, problem>: a ticket for a resident without Telegram."""
    if update.effective_user is None:
        return
    answer = await staffdesk.new_on_behalf(
        desk_of(context), actor_of(update.effective_user), args_text(context)
    )
    if answer is not None:
        await reply(update, answer.text)


async def _two_numbers(
    update: Update,
    context: Context,
    usage: str,
    action: Callable[[Desk, Actor, int, int], Awaitable[Outcome]],
) -> None:
    user = update.effective_user
    if user is None:
        return
    desk, actor = desk_of(context), actor_of(user)
    numbers = [a.lstrip("#") for a in context.args or []]
    if len(numbers) != 2 or not all(n.isdigit() for n in numbers):
        await reply(update, lifecycle.answer(desk, actor, usage))
        return
    outcome = await action(desk, actor, int(numbers[0]), int(numbers[1]))
    await reply(update, outcome.answer)


async def merge_command(update: Update, context: Context) -> None:
    """/merge A B: A is the same problem as B."""
    await _two_numbers(update, context, "merge_usage", lifecycle.merge)


async def split_command(update: Update, context: Context) -> None:
    """/split N K: the K-th neighbour following N gets a ticket of their own."""
    await _two_numbers(update, context, "split_usage", lifecycle.split)


HANDLERS: list[BaseHandler[Update, Context, None]] = [
    CommandHandler("overdue", overdue_command),
    CommandHandler("new", new_command),
    CommandHandler("merge", merge_command),
    CommandHandler("split", split_command),
    CommandHandler("ticket", ticket_command),
    CommandHandler("open", open_command),
    CommandHandler("assign", assign_command),
    CommandHandler("duty", duty_command),
    CommandHandler("invite", invite_command),
]
