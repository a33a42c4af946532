"""Scheduled notices in chat: /events, /subscribe, /unsubscribe for residents; /notice (a
short conversation persisted in the database) and /notices for staff; the "n1:" buttons
(RSVP, the conversation's choices, the FAQ's "ask a person"). Also the JobQueue glue:
one `notice:<id>` job per active notice at its next posting time, plus `notices:tick`
for reminders and DMs held through quiet hours."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import cast

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import callbacks, notices
from bot.context import App, Context
from bot.transport import keyboard
from handlers import faq as faq_handlers
from handlers.common import actor_of, desk_of, is_group, reply, text_of

log = logging.getLogger(__name__)

TICK = dt.timedelta(minutes=1)


# --- jobs ----------------------------------------------------------------------------------


async def start(application: App) -> None:
    """At start: apply the config's notices, catch up on what fell due while the bot was
    down (late within the grace window, else skipped), then arm the jobs."""
    desk = application.bot_data.require_desk()
    await notices.sync_config(desk)
    await notices.run_due(desk)
    queue = application.job_queue
    assert queue is not None
    for job in queue.get_jobs_by_name("notices:tick"):
        job.schedule_removal()
    queue.run_repeating(tick_job, interval=TICK, first=TICK, name="notices:tick")
    await reschedule(application)


async def reschedule(application: App) -> None:
    """One run_once job `notice:<id>` per active notice at its next posting time; jobs of
    notices that are paused, cancelled or finished are removed."""
    desk = application.bot_data.require_desk()
    queue = application.job_queue
    assert queue is not None
    wanted = await notices.next_posts(desk)
    now = desk.now()
    for job in queue.jobs():
        name = job.name or ""
        if name.startswith("notice:") and int(name.removeprefix("notice:")) not in wanted:
            job.schedule_removal()
    for notice_id, post_at in wanted.items():
        name = f"notice:{notice_id}"
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()
        # A delay from the desk's clock, so a fake clock in tests and the playground agrees.
        delay = max(post_at - now, dt.timedelta(0))
        queue.run_once(fire_job, when=delay, name=name)


async def run_due(application: App) -> None:
    """The scheduler's fast-forward entry: everything due now, then re-arm the jobs."""
    summary = await notices.run_due(application.bot_data.require_desk())
    if summary.posted or summary.skipped:
        await reschedule(application)


async def fire_job(context: Context) -> None:
    await run_due(cast(App, context.application))


async def tick_job(context: Context) -> None:
    await run_due(cast(App, context.application))


# --- residents -----------------------------------------------------------------------------


async def events_command(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    answer = await notices.events(desk_of(context), actor_of(user), in_group=is_group(chat))
    await reply(update, answer.text, answer.buttons)


async def subscribe_command(update: Update, context: Context) -> None:
    await _topic_command(update, context, subscribe=True)


async def unsubscribe_command(update: Update, context: Context) -> None:
    await _topic_command(update, context, subscribe=False)


async def _topic_command(update: Update, context: Context, *, subscribe: bool) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    desk, actor = desk_of(context), actor_of(user)
    if is_group(chat):  # DMs need the person's own chat with the bot
        await reply(update, notices.say(desk, desk.config.locale, "private_only"))
        return
    word = " ".join(context.args or [])
    change = notices.subscribe if subscribe else notices.unsubscribe
    answer = await change(desk, actor, word)
    await reply(update, answer.text)


# --- staff ---------------------------------------------------------------------------------


async def notice_command(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    desk, actor = desk_of(context), actor_of(user)
    if is_group(chat):
        await reply(update, notices.say(desk, actor.locale, "private_only"))
        return
    step = await notices.begin_draft(desk, actor)
    await reply(update, step.text, step.buttons)


async def notices_command(update: Update, context: Context) -> None:
    user = update.effective_user
    if user is None:
        return
    answer = await notices.manage(desk_of(context), actor_of(user), context.args or [])
    await reply(update, answer.text)
    if answer.changed:
        await reschedule(cast(App, context.application))


async def draft_input(update: Update, context: Context) -> bool:
    """A private message while its sender has a /notice draft open (called by the private
    message handler before intake); False when there is no draft."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not text_of(message).strip():
        return False
    step = await notices.draft_text(desk_of(context), actor_of(user), text_of(message))
    if step is None:
        return False
    await reply(update, step.text, step.buttons)
    return True


# --- buttons -------------------------------------------------------------------------------


async def on_press(update: Update, context: Context) -> None:
    query = update.callback_query
    if query is None:
        return
    press = callbacks.decode_notice(query.data)
    desk, actor = desk_of(context), actor_of(query.from_user)
    if press is None:
        text = desk.texts.render(
            actor.locale, "answer", code="bad_button", id=None, assignee=None, state=None
        )
        await query.answer(text, show_alert=True)
        return
    if press.action in ("go", "no"):
        notice_id, occurs_at = int(press.args[0]), notices.from_minute(int(press.args[1]))
        change = notices.rsvp if press.action == "go" else notices.cancel_rsvp
        answer = await change(desk, actor, notice_id, occurs_at)
        await query.answer(answer.text, show_alert=not answer.ok or answer.status == "waiting")
        if answer.ok:
            await _refresh_post(query, context, notice_id, occurs_at)
    elif press.action == "ask":
        await faq_handlers.on_ask(query, context, int(press.args[0]))
    else:
        await _draft_press(query, context, press)


async def _refresh_post(
    query: CallbackQuery, context: Context, notice_id: int, occurs_at: dt.datetime
) -> None:
    """Show the new sign-up count on the post that was pressed (not on a reminder, whose
    only button is the cancel one)."""
    message, desk = query.message, desk_of(context)
    if not isinstance(message, Message) or message.text is None or not _is_post(message):
        return
    in_group = is_group(message.chat)
    locale = desk.config.locale if in_group else actor_of(query.from_user).locale
    text = await notices.post_as_now(desk, notice_id, occurs_at, locale, dm=not in_group)
    if text is not None:
        with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
            await query.edit_message_text(text, reply_markup=message.reply_markup)


def _is_post(message: Message) -> bool:
    markup = message.reply_markup
    buttons = [] if markup is None else [b for row in markup.inline_keyboard for b in row]
    for button in buttons:
        data = button.callback_data
        press = callbacks.decode_notice(data) if isinstance(data, str) else None
        if press is not None and press.action == "go":
            return True
    return False


async def _draft_press(
    query: CallbackQuery, context: Context, press: callbacks.NoticePress
) -> None:
    desk, actor = desk_of(context), actor_of(query.from_user)
    arg = press.args[0] if press.args else None
    step = await notices.draft_choice(desk, actor, press.action, arg)
    await query.answer(None if step.ok else step.text, show_alert=not step.ok)
    if step.created is not None:
        await reschedule(cast(App, context.application))
    if step.ok:
        with contextlib.suppress(BadRequest):  # unchanged, or too old to edit
            await query.edit_message_text(step.text, reply_markup=keyboard(step.buttons))


HANDLERS: list[BaseHandler[Update, Context, None]] = [
    CommandHandler("events", events_command),
    CommandHandler("subscribe", subscribe_command),
    CommandHandler("unsubscribe", unsubscribe_command),
    CommandHandler("notice", notice_command),
    CommandHandler("notices", notices_command),
    # Before the generic button handler, which would call "n1:" data invalid.
    CallbackQueryHandler(on_press, pattern=r"^n1:"),
]
