"""The dependencies every service needs, passed explicitly (no globals)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.clock import Clock
from bot.config import CommunityConfig, StaffMember
from bot.parsing import Parser
from bot.texts import Texts
from storage import people
from storage.db import Database, Tx

T = TypeVar("T")


def _no_wakeup() -> None:
    return None


@dataclass
class Desk:
    db: Database
    config: CommunityConfig
    texts: Texts
    clock: Clock
    parser: Parser
    bot_username: str = ""
    # Called after a transaction that queued messages, so the sender need not poll.
    wake_outbox: Callable[[], None] = field(default=_no_wakeup)
    _labels: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)
    # Updates whose handling transaction also recorded them as handled (see `claim`).
    _claimed: set[int] = field(default_factory=set, repr=False)
    _derived: dict[Callable[[CommunityConfig], Any], Any] = field(default_factory=dict, repr=False)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.config.timezone)

    def label(self, locale: str, kind: str, name: str) -> str:
        # Labels are fixed per locale: render each once (a request shows a dozen of them).
        key = (locale, kind, name)
        if key not in self._labels:
            # Plain text: buttons show it as is, templates escape it once themselves.
            rendered = self.texts.render(locale, "label", kind=kind, name=name)
            self._labels[key] = html.unescape(rendered)
        return self._labels[key]

    def derived(self, build: Callable[[CommunityConfig], T]) -> T:
        """What `build` makes of the config (a parsed section, a matcher), made once."""
        if build not in self._derived:
            self._derived[build] = build(self.config)
        value: T = self._derived[build]
        return value

    def claim(self, update_id: int) -> None:
        """Note that an update was recorded as handled along with its effects, so the
        generic after-handler need not write it again."""
        self._claimed.add(update_id)

    def take_claim(self, update_id: int) -> bool:
        if update_id in self._claimed:
            self._claimed.discard(update_id)
            return True
        return False

    def deep_link(self, payload: str) -> str | None:
        if not self.bot_username:
            return None
        return f"https://t.me/{self.bot_username}?start={payload}"


@dataclass(frozen=True, slots=True)
class StaffContact:
    member: StaffMember
    user_id: int | None
    reachable: bool  # has started the bot and not blocked it
    locale: str


async def staff_contacts(tx: Tx, desk: Desk) -> dict[str, StaffContact]:
    links = await people.all_links(tx)
    user_ids = {m.key: links.get(m.key, m.telegram_id) for m in desk.config.staff}
    known = await people.get_people(tx, [u for u in user_ids.values() if u is not None])
    contacts: dict[str, StaffContact] = {}
    for member in desk.config.staff:
        user_id = user_ids[member.key]
        person = None if user_id is None else known.get(user_id)
        contacts[member.key] = StaffContact(
            member=member,
            user_id=user_id,
            reachable=person is not None and person.reachable_by_dm,
            locale=person.locale if person is not None else desk.config.locale,
        )
    return contacts


async def staff_member_of(tx: Tx, desk: Desk, user_id: int) -> StaffMember | None:
    """The staff entry a Telegram account belongs to (invite link first, then config id)."""
    key = await people.staff_key_of(tx, user_id)
    if key is not None:
        return desk.config.staff_by_key(key)
    links = await people.all_links(tx)
    for member in desk.config.staff:
        if member.telegram_id == user_id and member.key not in links:
            return member
    return None
