"""The bot added to or removed from a group: stop writing there, or start again."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler

from bot import staffdesk
from bot.context import Context
from handlers.common import desk_of

log = logging.getLogger(__name__)


async def my_membership(update: Update, context: Context) -> None:
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    removed = status in (ChatMember.LEFT, ChatMember.BANNED)
    await staffdesk.set_chat_removed(desk_of(context), change.chat.id, removed)
    log.info("bot %s chat %s", "removed from" if removed else "added to", change.chat.id)


HANDLERS: list[BaseHandler[Update, Context, None]] = [
    ChatMemberHandler(my_membership, ChatMemberHandler.MY_CHAT_MEMBER)
]
