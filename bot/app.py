"""The one application factory: `build_application(settings, request=None)`."""

from __future__ import annotations

import functools
import logging
from typing import cast

from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ContextTypes,
    Defaults,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot import escalation, faq, notices, scheduler, staffdesk
from bot.config import Settings
from bot.context import App, BotData
from bot.outbox import OutboxSender
from bot.parsing import Parser
from bot.services import Desk
from bot.telegram_bot import DeskBot
from bot.texts import Texts
from bot.transport import TelegramTransport
from handlers import all_handlers, error_handler, menus
from storage.db import Database

log = logging.getLogger(__name__)


def build_application(settings: Settings, request: BaseRequest | None = None) -> App:
    # A bad section stops start-up here, naming the key, rather than at first use.
    for parse_section in (escalation.policy, faq.matcher, notices.settings):
        parse_section(settings.community)
    builder = (
        Application.builder()
        .bot(_make_bot(settings, request))
        .context_types(ContextTypes(bot_data=BotData))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    application = cast(App, builder.build())
    application.bot_data.settings = settings

    for group, handlers in all_handlers():
        application.add_handlers(handlers, group=group)
    application.add_error_handler(error_handler)
    return application


def _make_bot(settings: Settings, request: BaseRequest | None) -> DeskBot:
    if request is None:
        timeout = settings.request_timeout or 5.0
        request = HTTPXRequest(
            connection_pool_size=16,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
        )
        updates_request: BaseRequest = HTTPXRequest(
            connection_pool_size=1,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
        )
    else:
        updates_request = request
    base_url = settings.api_base_url or "https://api.telegram.org/bot"
    file_url = settings.api_file_url or base_url.replace("/bot", "/file/bot")
    return DeskBot(
        settings.token,
        base_url=base_url,
        base_file_url=file_url,
        request=request,
        get_updates_request=updates_request,
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.community.timezone),
        rate_limiter=AIORateLimiter(
            overall_max_rate=settings.outbox.global_per_second,
            group_max_rate=settings.outbox.group_per_minute,
            max_retries=0,  # the outbox reschedules 429s itself
        ),
    )


async def _post_init(application: App) -> None:
    data = application.bot_data
    settings = data.settings
    assert settings is not None
    db = await Database.open(settings.db_path)
    texts = Texts()
    desk = Desk(
        db=db,
        config=settings.community,
        texts=texts,
        clock=settings.clock,
        parser=Parser(settings.community.vocabulary),
        bot_username=application.bot.username or "",
    )
    sender = OutboxSender(db, TelegramTransport(application.bot), settings.clock, settings.outbox)
    desk.wake_outbox = sender.wake
    data.desk, data.sender = desk, sender
    bot = cast(DeskBot, application.bot)
    bot.set_update_sink(functools.partial(staffdesk.store_updates, desk))
    for raw in await staffdesk.unhandled_updates(desk):
        # Fetched before a crash but never handled: handle now, before anything new.
        await application.update_queue.put(bot.parse_update(raw))
    await menus.install(application)
    await scheduler.rebuild(application)
    sender.start()
    log.info("community desk ready for %s as @%s", settings.community.name, desk.bot_username)


async def _post_shutdown(application: App) -> None:
    data = application.bot_data
    if data.sender is not None:
        await data.sender.stop()
    if data.desk is not None:
        await data.desk.db.close()
