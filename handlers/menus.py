"""The command menus Telegram shows: residents' everywhere, and the staff commands in each
staff member's private chat and in the staff group (set per chat, so residents never see
them)."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from bot.context import App
from bot.services import Desk, staff_contacts
from bot.texts import Texts

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = ("report", "my", "cancel", "events", "subscribe", "unsubscribe", "faq", "help")
GROUP_COMMANDS = ("report", "events", "faq", "help")
STAFF_COMMANDS = (
    *("open", "ticket", "duty", "overdue", "new", "assign", "merge", "split"),
    *("stats", "export", "demand", "notice", "notices", "invite", "my", "help"),
)
STAFF_GROUP_COMMANDS = ("open", "ticket", "duty", "overdue", "stats", "help")


def commands(texts: Texts, locale: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(n, texts.render(locale, "label", kind="command", name=n)) for n in names]


async def install(application: App) -> None:
    """At start: the residents' menus, then each linked staff member's and the staff
    group's."""
    bot, desk = application.bot, application.bot_data.require_desk()
    menus: tuple[tuple[tuple[str, ...], BotCommandScope], ...] = (
        (GROUP_COMMANDS, BotCommandScopeDefault()),
        (RESIDENT_COMMANDS, BotCommandScopeAllPrivateChats()),
    )
    for locale, language in (("zh", None), ("en", "en")):
        for names, scope in menus:
            await bot.set_my_commands(commands(desk.texts, locale, names), scope, language)
    contacts = await desk.db.read(lambda tx: staff_contacts(tx, desk))
    for contact in contacts.values():
        if contact.user_id is not None and contact.reachable:
            await show_staff_menu(bot, desk, contact.user_id, contact.locale)
    if desk.config.staff_chat is not None:
        chat = desk.config.staff_chat
        await _set(bot, chat, commands(desk.texts, desk.config.locale, STAFF_GROUP_COMMANDS))


async def show_staff_menu(bot: Bot, desk: Desk, chat_id: int, locale: str) -> None:
    await _set(bot, chat_id, commands(desk.texts, locale, STAFF_COMMANDS))


async def _set(bot: Bot, chat_id: int, menu: list[BotCommand]) -> None:
    scope: BotCommandScope = BotCommandScopeChat(chat_id)
    try:
        await bot.set_my_commands(menu, scope)
    except TelegramError as error:
        # A menu is a convenience: a blocked bot or a vanished chat must not stop anything.
        log.warning("could not set the staff menu for chat %s: %s", chat_id, error)
