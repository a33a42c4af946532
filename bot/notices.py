"""Scheduled notices: health lectures, vaccine campaigns, reminders; RSVP with capacity and
a waitlist; DM subscriptions by topic; quiet hours for DMs; the staff /notice conversation.

The schedule is data in SQLite. Each occurrence is decided exactly once: a unique row per
(notice, occurrence) is inserted in the same transaction as its outbox rows. Everything
here is idempotent, so the JobQueue, the start-up catch-up and the playground's
fast-forward may all call `run_due` at any moment."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot import callbacks, recurrence
from bot.config import (
    CommunityConfig,
    ConfigError,
    _expect,
    _int_list,
    _time,
    _unknown_keys,
    _weekdays,
)
from bot.models import Actor, Button, Outgoing
from bot.recurrence import LAST, Repeat, Rule, RuleError
from bot.services import Desk, staff_member_of
from storage import notices as repo
from storage import outbox, people
from storage.db import Tx
from storage.notices import MonthTopic, Notice, NoticeSpec, Rsvp

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("announcement", "lecture", "vaccine")
TOPICS: tuple[str, ...] = ("health", "vaccine", "activity", "community")
LEAD_CHOICES: tuple[int, ...] = (0, 60, 1440, 4320)  # minutes, offered by /notice
LATE_AFTER = dt.timedelta(minutes=1)  # posted later than this is recorded as "late"
EVENTS_HORIZON = dt.timedelta(days=45)
DRAFT_TTL = dt.timedelta(days=1)
MAX_TEXT = 3000


# --- config ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigNotice:
    config_id: str
    spec: NoticeSpec
    digest: str  # changes when the definition in the file changes


@dataclass(frozen=True, slots=True)
class NoticeSettings:
    grace: dt.timedelta = dt.timedelta(hours=1)
    quiet_start: dt.time | None = dt.time(22, 0)
    quiet_end: dt.time | None = dt.time(7, 0)
    reminders: tuple[dt.timedelta, ...] = (dt.timedelta(days=1), dt.timedelta(hours=1))
    definitions: tuple[ConfigNotice, ...] = ()


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
_DEFINITION_KEYS = {
    "id", "kind", "title", "text", "speaker", "place", "notes", "eligible", "bring", "topic",
    "repeat", "date", "time", "weekdays", "weekday", "week", "day", "start", "until",
    "announce_before", "chats", "capacity", "topics",
}  # fmt: skip


def parse_duration(value: Any, key: str) -> dt.timedelta:
    """A duration: "3d", "1h", "90m", "1d12h", or 0."""
    if value == 0 or value == "0":
        return dt.timedelta(0)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ConfigError(key, f'expected a duration such as "1d", "2h" or "30m", got {value!r}')
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes)


def _clock(value: Any, key: str) -> dt.time:
    if isinstance(value, dt.time):  # TOML local time literal
        return value.replace(second=0, microsecond=0)
    return _time(value, key)


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(key, f"expected a date such as 2026-12-25, got {value!r}")


def _text(entry: Mapping[str, Any], name: str, prefix: str) -> str | None:
    value = entry.get(name)
    return None if value is None else str(_expect(value, str, f"{prefix}.{name}", "a string"))


def _weekday(value: Any, key: str) -> int:
    return _weekdays([value], key)[0] if isinstance(value, str) else _weekdays(value, key)[0]


def _rule(entry: Mapping[str, Any], prefix: str) -> Rule:
    repeat = entry.get("repeat", "once")
    if "time" not in entry:
        raise ConfigError(f"{prefix}.time", 'missing (local time such as "15:00")')
    time = _clock(entry["time"], f"{prefix}.time")
    start = None if "start" not in entry else _date(entry["start"], f"{prefix}.start")
    until = None if "until" not in entry else _date(entry["until"], f"{prefix}.until")
    try:
        if repeat == "once":
            if "date" not in entry:
                raise ConfigError(f"{prefix}.date", "missing (a one-off notice needs a date)")
            return Rule(Repeat.ONCE, time, start=_date(entry["date"], f"{prefix}.date"))
        if repeat == "weekly":
            raw = entry.get("weekdays", entry.get("weekday"))
            if raw is None:
                raise ConfigError(f"{prefix}.weekdays", 'missing, e.g. ["tue"]')
            days = _weekdays([raw] if isinstance(raw, str) else raw, f"{prefix}.weekdays")
            return Rule(Repeat.WEEKLY, time, start=start, until=until, weekdays=days)
        if repeat == "monthly":
            if "day" in entry:
                day = _expect(entry["day"], int, f"{prefix}.day", "a day of the month 1–31")
                return Rule(Repeat.MONTHLY_DAY, time, start=start, until=until, day=day)
            if "weekday" not in entry:
                raise ConfigError(f"{prefix}.weekday", "monthly needs `day` or `weekday` + `week`")
            week = entry.get("week", 1)
            nth = LAST if week == "last" else _expect(week, int, f"{prefix}.week", '1–5 or "last"')
            weekday = _weekday(entry["weekday"], f"{prefix}.weekday")
            return Rule(
                Repeat.MONTHLY_NTH, time, start=start, until=until, weekday=weekday, nth=nth
            )
    except RuleError as error:
        field_name, _, problem = str(error).partition(": ")
        raise ConfigError(f"{prefix}.{field_name}", problem) from None
    raise ConfigError(f"{prefix}.repeat", f"expected once, weekly or monthly, got {repeat!r}")


def _month_topics(raw: Any, prefix: str) -> dict[str, MonthTopic]:
    _expect(raw, dict, prefix, 'a table such as { "2027-01" = "口腔健康" }')
    topics: dict[str, MonthTopic] = {}
    for month, value in raw.items():
        key = f"{prefix}.{month}"
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            raise ConfigError(key, "expected a month such as 2027-01")
        if isinstance(value, str):
            topics[month] = MonthTopic(title=value)
            continue
        _expect(value, dict, key, "a topic title or { title = ..., speaker = ... }")
        _unknown_keys(value, {"title", "speaker", "notes"}, key)
        if "title" not in value:
            raise ConfigError(f"{key}.title", "missing")
        topics[month] = MonthTopic(
            title=str(_expect(value["title"], str, f"{key}.title", "a string")),
            speaker=_text(value, "speaker", key),
            notes=_text(value, "notes", key),
        )
    return topics


def _definition(
    entry: Any, prefix: str, default_kind: str, group_chats: tuple[int, ...]
) -> ConfigNotice:
    _expect(entry, dict, prefix, "a table")
    _unknown_keys(entry, _DEFINITION_KEYS, prefix)
    for required in ("id", "title"):
        if required not in entry:
            raise ConfigError(f"{prefix}.{required}", "missing")
    config_id = str(_expect(entry["id"], str, f"{prefix}.id", "a stable id such as flu-2026"))
    kind = entry.get("kind", default_kind)
    if kind not in KINDS:
        raise ConfigError(f"{prefix}.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    topic = entry.get("topic")
    if topic is not None and topic not in TOPICS:
        raise ConfigError(f"{prefix}.topic", f"expected one of {', '.join(TOPICS)}")
    capacity = entry.get("capacity", 0)
    _expect(capacity, int, f"{prefix}.capacity", "a number of places (0 = no sign-up)")
    if capacity < 0:
        raise ConfigError(f"{prefix}.capacity", "must not be negative")
    chats = _int_list(entry["chats"], f"{prefix}.chats") if "chats" in entry else group_chats
    spec = NoticeSpec(
        kind=kind,
        title=str(_expect(entry["title"], str, f"{prefix}.title", "a string")),
        rule=_rule(entry, prefix),
        body=_text(entry, "text", prefix) or "",
        speaker=_text(entry, "speaker", prefix),
        place=_text(entry, "place", prefix),
        notes=_text(entry, "notes", prefix),
        eligible=_text(entry, "eligible", prefix),
        bring=_text(entry, "bring", prefix),
        topics=_month_topics(entry.get("topics", {}), f"{prefix}.topics"),
        topic=topic,
        announce_before=parse_duration(
            entry.get("announce_before", 0), f"{prefix}.announce_before"
        ),
        chats=chats,
        capacity=capacity or None,
    )
    canonical = json.dumps([entry, list(chats)], sort_keys=True, default=str, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return ConfigNotice(config_id=config_id, spec=spec, digest=digest)


def parse_settings(raw: Mapping[str, Any], group_chats: tuple[int, ...]) -> NoticeSettings:
    """[notices] settings, [[notices.schedule]] and [[lecture_series]] → NoticeSettings."""
    section = _expect(raw.get("notices", {}), dict, "notices", "a [notices] table")
    _unknown_keys(section, {"grace_minutes", "quiet_hours", "reminders", "schedule"}, "notices")
    defaults = NoticeSettings()
    grace = section.get("grace_minutes", 60)
    _expect(grace, int, "notices.grace_minutes", "minutes")
    if grace < 0:
        raise ConfigError("notices.grace_minutes", "must not be negative")
    quiet_start, quiet_end = defaults.quiet_start, defaults.quiet_end
    if "quiet_hours" in section:
        quiet = _expect(section["quiet_hours"], list, "notices.quiet_hours", '["22:00", "07:00"]')
        if not quiet:
            quiet_start = quiet_end = None
        elif len(quiet) != 2:
            raise ConfigError("notices.quiet_hours", 'expected ["start", "end"] or []')
        else:
            quiet_start = _clock(quiet[0], "notices.quiet_hours[0]")
            quiet_end = _clock(quiet[1], "notices.quiet_hours[1]")
    reminders = defaults.reminders
    if "reminders" in section:
        listed = _expect(section["reminders"], list, "notices.reminders", '["1d", "1h"]')
        reminders = tuple(
            parse_duration(v, f"notices.reminders[{i}]") for i, v in enumerate(listed)
        )
    definitions: list[ConfigNotice] = []
    series = _expect(raw.get("lecture_series", []), list, "lecture_series", "[[lecture_series]]")
    for index, entry in enumerate(series):
        definitions.append(_definition(entry, f"lecture_series[{index}]", "lecture", group_chats))
    schedule = _expect(
        section.get("schedule", []), list, "notices.schedule", "[[notices.schedule]]"
    )
    for index, entry in enumerate(schedule):
        definitions.append(
            _definition(entry, f"notices.schedule[{index}]", "announcement", group_chats)
        )
    seen: set[str] = set()
    for definition in definitions:
        if definition.config_id in seen:
            raise ConfigError(definition.config_id, "duplicate notice id")
        seen.add(definition.config_id)
    return NoticeSettings(
        grace=dt.timedelta(minutes=grace),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        reminders=tuple(sorted(set(reminders), reverse=True)),
        definitions=tuple(definitions),
    )


def settings(config: CommunityConfig) -> NoticeSettings:
    """The config's [notices] section (a Desk keeps it parsed: `desk.derived(settings)`)."""
    return parse_settings(config.raw, config.group_chats)


# --- quiet hours -------------------------------------------------------------------------


def in_quiet_hours(options: NoticeSettings, local: dt.datetime) -> bool:
    start, end = options.quiet_start, options.quiet_end
    if start is None or end is None or start == end:
        return False
    now = local.time()
    if start < end:
        return start <= now < end
    return now >= start or now < end  # e.g. 22:00–07:00 spans midnight


def deliver_after(options: NoticeSettings, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """Now, or the end of the quiet hours we are in."""
    local = now.astimezone(zone)
    if not in_quiet_hours(options, local):
        return now
    assert options.quiet_end is not None
    end = dt.datetime.combine(local.date(), options.quiet_end, tzinfo=zone)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), options.quiet_end, zone)
    return end.astimezone(dt.UTC)


async def _queue_dm(
    tx: Tx,
    desk: Desk,
    message: Outgoing,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> bool:
    """A DM this feature owes: straight to the outbox, or held until quiet hours end.
    False when it was owed before (the key is the idempotency key)."""
    assert message.recipient_user_id is not None
    when = deliver_after(desk.derived(settings), desk.config.timezone, now)
    if not await repo.hold_dm(tx, message, message.recipient_user_id, when, expires_at):
        return False
    if when <= now:
        await outbox.enqueue(tx, message, now)
        await repo.release_dm(tx, message.key, now)
    return True


async def release_held(desk: Desk) -> int:
    """Hand DMs held through quiet hours to the outbox; drop reminders gone stale."""
    now = desk.now()

    async def release_due(tx: Tx) -> int:
        released = 0
        for held in await repo.due_dms(tx, now):
            if held.expires_at is not None and now >= held.expires_at:
                await repo.release_dm(tx, held.key, now, dropped=True)
                continue
            await outbox.enqueue(tx, held.message, now)
            await repo.release_dm(tx, held.key, now)
            released += 1
        return released

    return await desk.db.write(release_due)


# --- views -------------------------------------------------------------------------------


def say(desk: Desk, locale: str, code: str, **context: object) -> str:
    return desk.texts.render(locale, "notice_answer", code=code, **context)


def when_text(desk: Desk, locale: str, moment: dt.datetime) -> str:
    local = desk.local(moment)
    return desk.texts.render(
        locale,
        "notice_when",
        year=local.year,
        month=local.month,
        day=local.day,
        weekday=local.weekday(),
        hm=local.strftime("%H:%M"),
    )


def rule_text(desk: Desk, locale: str, rule: Rule) -> str:
    return desk.texts.render(
        locale,
        "notice_rule",
        repeat=rule.repeat.value,
        hm=rule.time.strftime("%H:%M"),
        start=None if rule.start is None else rule.start.isoformat(),
        until=None if rule.until is None else rule.until.isoformat(),
        weekdays=list(rule.weekdays),
        weekday=rule.weekday,
        nth=rule.nth,
        day=rule.day,
    )


def occurrence_key(occurs_at: dt.datetime) -> str:
    return occurs_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")


def occurrence_minute(occurs_at: dt.datetime) -> int:
    return int(occurs_at.timestamp()) // 60


def from_minute(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, dt.UTC)


def month_topic(desk: Desk, notice: Notice, occurs_at: dt.datetime) -> MonthTopic | None:
    return notice.spec.topics.get(desk.local(occurs_at).strftime("%Y-%m"))


def is_held(desk: Desk, notice: Notice, occurs_at: dt.datetime) -> bool:
    """A series with a topic list skips months that have no topic."""
    return not notice.spec.topics or month_topic(desk, notice, occurs_at) is not None


def is_event(notice: Notice) -> bool:
    """Something people attend at the occurrence time (so reminders and expiry apply)."""
    spec = notice.spec
    return spec.kind != "announcement" or notice.rsvp or spec.announce_before > dt.timedelta(0)


def _view(desk: Desk, locale: str, notice: Notice, occurs_at: dt.datetime) -> dict[str, object]:
    spec, month = notice.spec, month_topic(desk, notice, occurs_at)
    return {
        "id": notice.id,
        "kind": spec.kind,
        "title": spec.title,
        "topic": None if month is None else month.title,
        "speaker": (month.speaker if month and month.speaker else None) or spec.speaker,
        "place": spec.place,
        "notes": (month.notes if month and month.notes else None) or spec.notes,
        "eligible": spec.eligible,
        "bring": spec.bring,
        "body": spec.body,
        "when": when_text(desk, locale, occurs_at),
        "capacity": spec.capacity if notice.rsvp else None,
        "event": is_event(notice),
    }


def rsvp_buttons(
    desk: Desk, locale: str, notice: Notice, occurs_at: dt.datetime, *, cancel_only: bool = False
) -> tuple[tuple[Button, ...], ...]:
    if not notice.rsvp:
        return ()
    minute = occurrence_minute(occurs_at)
    cancel = Button(
        desk.label(locale, "button", "unrsvp"), callbacks.notice("no", notice.id, minute)
    )
    if cancel_only:
        return ((cancel,),)
    go = Button(desk.label(locale, "button", "rsvp"), callbacks.notice("go", notice.id, minute))
    return ((go, cancel),)


def render_post(
    desk: Desk,
    locale: str,
    notice: Notice,
    occurs_at: dt.datetime,
    *,
    dm: bool,
    going: int | None = None,
) -> str:
    """The post; with `going`, it also says how many places are taken."""
    topic = None if notice.spec.topic is None else topic_label(desk, locale, notice.spec.topic)
    view = _view(desk, locale, notice, occurs_at)
    return desk.texts.render(locale, "notice_post", n=view, dm=dm, sub_topic=topic, going=going)


async def post_as_now(
    desk: Desk, notice_id: int, occurs_at: dt.datetime, locale: str, *, dm: bool
) -> str | None:
    """A post re-rendered with its current sign-up count (to refresh it after a press);
    None when the notice is gone or takes no sign-ups."""

    async def notice_and_count(tx: Tx) -> tuple[Notice | None, int]:
        return await repo.get_notice(tx, notice_id), await repo.count_going(
            tx, notice_id, occurs_at
        )

    notice, going = await desk.db.read(notice_and_count)
    if notice is None or not notice.rsvp:
        return None
    return render_post(desk, locale, notice, occurs_at, dm=dm, going=going)


def topic_label(desk: Desk, locale: str, topic: str) -> str:
    return desk.texts.render(locale, "notice_label", kind="topic", name=topic)


# --- config sync and firing --------------------------------------------------------------


async def sync_config(desk: Desk) -> int:
    """Upsert config-defined notices by their stable id. A definition is re-applied only
    when it changed in the file, so edits made in chat survive restarts; notices removed
    from the file are retired. Returns how many rows changed."""
    options = desk.derived(settings)
    now = desk.now()

    async def apply_definitions(tx: Tx) -> int:
        changed = 0
        known = await repo.config_notices(tx)
        for definition in options.definitions:
            existing = known.get(definition.config_id)
            if existing is None:
                await repo.insert_notice(
                    tx,
                    definition.spec,
                    now,
                    config_id=definition.config_id,
                    config_hash=definition.digest,
                )
                changed += 1
            elif existing[1] != definition.digest:
                await repo.update_spec(tx, existing[0], definition.spec, now, definition.digest)
                notice = await repo.get_notice(tx, existing[0])
                if notice is not None and notice.state == "retired":
                    await repo.set_state(tx, notice.id, "active", now)
                changed += 1
        wanted = {d.config_id for d in options.definitions}
        for config_id, (notice_id, _) in known.items():
            notice = await repo.get_notice(tx, notice_id)
            if config_id not in wanted and notice is not None and notice.state != "retired":
                await repo.set_state(tx, notice_id, "retired", now)
                changed += 1
        return changed

    return await desk.db.write(apply_definitions)


@dataclass(frozen=True, slots=True)
class DueSummary:
    posted: int = 0
    skipped: int = 0
    reminders: int = 0
    released: int = 0


async def run_due(desk: Desk) -> DueSummary:
    """Post due occurrences (late within the grace window, else skip and log), send due
    reminders and release DMs held through quiet hours. Safe to call any time, twice."""
    active = await desk.db.read(repo.notices)
    posted = skipped = 0
    for notice in active:
        try:
            sent, missed = await _fire(desk, notice)
        except Exception:  # one broken notice must not stop the others
            log.exception("notice %s: firing failed", notice.id)
            continue
        posted, skipped = posted + sent, skipped + missed
    summary = DueSummary(
        posted=posted,
        skipped=skipped,
        reminders=await _remind(desk),
        released=await release_held(desk),
    )
    if summary.posted or summary.reminders or summary.released:
        desk.wake_outbox()
    return summary


async def _fire(desk: Desk, notice: Notice) -> tuple[int, int]:
    options, zone, now = desk.derived(settings), desk.config.timezone, desk.now()
    lead = notice.spec.announce_before
    # Occurrences whose posting time fell in (checked_until, now].
    due = recurrence.between(notice.spec.rule, zone, notice.checked_until + lead, now + lead)
    posted = skipped = 0

    async def decide_occurrence(tx: Tx, occurs_at: dt.datetime) -> str | None:
        """Record the occurrence's outcome and queue its posts. None when the notice is no
        longer active; "decided" when it was decided before (e.g. fired just before a
        restart)."""
        current = await repo.get_notice(tx, notice.id)
        if current is None or current.state != "active":
            return None
        post_at = occurs_at - lead
        if not is_held(desk, current, occurs_at):
            outcome = "no_topic"
        elif now - post_at > options.grace:
            outcome = "skipped"
        else:
            outcome = "late" if now - post_at > LATE_AFTER else "sent"
        if not await repo.record_occurrence(tx, notice.id, occurs_at, post_at, outcome, now):
            return "decided"
        if outcome in ("sent", "late"):
            await _queue_post(tx, desk, current, occurs_at, now)
        return outcome

    for occurs_at in due:
        post_at = occurs_at - lead
        outcome = await desk.db.write(partial(decide_occurrence, occurs_at=occurs_at))
        if outcome is None:
            return posted, skipped
        if outcome == "decided":
            continue
        if outcome == "skipped":
            skipped += 1
            log.warning(
                "notice %s: occurrence %s was due at %s, missed beyond the %s grace window;"
                " skipped",
                notice.id,
                occurrence_key(occurs_at),
                post_at.isoformat(),
                options.grace,
            )
        elif outcome == "no_topic":
            log.info("notice %s: no topic for %s; skipped", notice.id, occurrence_key(occurs_at))
        else:
            posted += 1
            if outcome == "late":
                log.info("notice %s: posted %s late", notice.id, now - post_at)
    if due:  # nothing fell due: the cursor may stay where it is
        await desk.db.write(lambda tx: repo.set_checked_until(tx, notice.id, now))
    return posted, skipped


async def _queue_post(
    tx: Tx, desk: Desk, notice: Notice, occurs_at: dt.datetime, now: dt.datetime
) -> None:
    """One outbox row per group chat and one DM per reachable subscriber."""
    stamp = occurrence_key(occurs_at)
    locale = desk.config.locale
    for chat in notice.spec.chats:
        if await people.chat_removed(tx, chat):
            continue
        await outbox.enqueue(
            tx,
            Outgoing(
                key=f"notice:{notice.id}:{stamp}:{chat}",
                chat_id=chat,
                text=render_post(desk, locale, notice, occurs_at, dm=False),
                buttons=rsvp_buttons(desk, locale, notice, occurs_at),
                purpose="notice",
            ),
            now,
        )
    if notice.spec.topic is None:
        return
    expires = occurs_at if is_event(notice) else None
    for user_id in await repo.subscribers(tx, notice.spec.topic):
        person = await people.get_person(tx, user_id)
        if person is None or not person.reachable_by_dm:
            continue
        message = Outgoing(
            key=f"notice:{notice.id}:{stamp}:{user_id}",
            chat_id=user_id,
            text=render_post(desk, person.locale, notice, occurs_at, dm=True),
            buttons=rsvp_buttons(desk, person.locale, notice, occurs_at),
            recipient_user_id=user_id,
            purpose="notice",
        )
        await _queue_dm(tx, desk, message, now, expires)


async def _remind(desk: Desk) -> int:
    """DM reminders (e.g. 1 day and 1 hour before) to everyone with a place, each once.
    A reminder missed while down goes out late within the grace window, never after the
    event has started, and not to people who got their place after it was due."""
    options, now = desk.derived(settings), desk.now()
    upcoming = await desk.db.read(lambda tx: repo.rsvp_occurrences(tx, now))

    async def queue_reminders(
        tx: Tx, notice_id: int, occurs_at: dt.datetime, before: dt.timedelta
    ) -> int:
        notice = await repo.get_notice(tx, notice_id)
        if notice is None or notice.state != "active" or not notice.rsvp:
            return 0
        due = occurs_at - before
        queued = 0
        for rsvp in await repo.rsvps(tx, notice_id, occurs_at, "going"):
            if rsvp.confirmed_at is None or rsvp.confirmed_at > due:
                continue
            queued += await _queue_reminder(tx, desk, notice, rsvp, before, now)
        return queued

    queued = 0
    for notice_id, occurs_at in upcoming:
        for before in options.reminders:
            due = occurs_at - before
            if due > now or now - due > options.grace:
                continue
            queued += await desk.db.write(
                partial(queue_reminders, notice_id=notice_id, occurs_at=occurs_at, before=before)
            )
    return queued


async def _queue_reminder(
    tx: Tx, desk: Desk, notice: Notice, rsvp: Rsvp, before: dt.timedelta, now: dt.datetime
) -> int:
    person = await people.get_person(tx, rsvp.user_id)
    if person is None or not person.reachable_by_dm:
        return 0
    minutes = int(before.total_seconds() // 60)
    text = desk.texts.render(
        person.locale,
        "notice_reminder",
        n=_view(desk, person.locale, notice, rsvp.occurs_at),
        minutes=minutes,
    )
    message = Outgoing(
        key=f"notice:{notice.id}:{occurrence_key(rsvp.occurs_at)}:remind{minutes}:{rsvp.user_id}",
        chat_id=rsvp.user_id,
        text=text,
        buttons=rsvp_buttons(desk, person.locale, notice, rsvp.occurs_at, cancel_only=True),
        recipient_user_id=rsvp.user_id,
        purpose="notice_reminder",
    )
    return int(await _queue_dm(tx, desk, message, now, expires_at=rsvp.occurs_at))


async def next_posts(desk: Desk) -> dict[int, dt.datetime]:
    """When each active notice next needs posting (for the JobQueue's `notice:<id>`)."""
    zone = desk.config.timezone
    active = await desk.db.read(repo.notices)
    found: dict[int, dt.datetime] = {}
    for notice in active:
        lead = notice.spec.announce_before
        occurs_at = recurrence.next_after(notice.spec.rule, zone, notice.checked_until + lead)
        if occurs_at is not None:
            found[notice.id] = occurs_at - lead
    return found


# --- RSVP --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """What a notice action says back to the person who acted."""

    text: str
    ok: bool = True
    buttons: tuple[tuple[Button, ...], ...] = ()
    changed: bool = False  # the schedule changed: rebuild the jobs
    status: str | None = None


async def _open_occurrence(
    tx: Tx, desk: Desk, notice_id: int, occurs_at: dt.datetime
) -> tuple[Notice | None, str]:
    notice = await repo.get_notice(tx, notice_id)
    if notice is None or notice.state != "active":
        return None, "rsvp_closed"
    if not notice.rsvp:
        return None, "rsvp_none"
    rule, zone = notice.spec.rule, desk.config.timezone
    if not recurrence.is_occurrence(rule, zone, occurs_at) or not is_held(desk, notice, occurs_at):
        return None, "rsvp_unknown"
    if occurs_at <= desk.now():
        return None, "rsvp_closed"
    return notice, ""


async def rsvp(desk: Desk, actor: Actor, notice_id: int, occurs_at: dt.datetime) -> Answer:
    """Sign up; a second press is answered with the place already held, never counted."""
    now = desk.now()

    async def record_rsvp(tx: Tx) -> Answer:
        notice, problem = await _open_occurrence(tx, desk, notice_id, occurs_at)
        if notice is None:
            return Answer(say(desk, actor.locale, problem), ok=False)
        person = await people.upsert_person(
            tx, actor.user_id, actor.display_name, actor.username, actor.locale
        )
        title = notice.spec.title
        existing = await repo.get_rsvp(tx, notice_id, occurs_at, actor.user_id)
        if existing is not None and existing.status != "cancelled":
            status = existing.status
            code = "rsvp_already" if status == "going" else "rsvp_already_waiting"
            rsvp_row = existing
        else:
            going = await repo.count_going(tx, notice_id, occurs_at)
            capacity = notice.spec.capacity or 0
            status = "going" if going < capacity else "waiting"
            rsvp_row = await repo.put_rsvp(
                tx, notice_id, occurs_at, actor.user_id, actor.display_name, status, now
            )
            code = "rsvp_going" if status == "going" else "rsvp_waiting"
        position = await repo.waitlist_position(tx, rsvp_row) if status == "waiting" else 0
        going = await repo.count_going(tx, notice_id, occurs_at)
        text = say(
            desk,
            actor.locale,
            code,
            title=title,
            when=when_text(desk, actor.locale, occurs_at),
            position=position,
            going=going,
            capacity=notice.spec.capacity,
            dm_hint=not person.reachable_by_dm,
            bot=desk.bot_username,
        )
        return Answer(text, status=status)

    return await desk.db.write(record_rsvp)


async def cancel_rsvp(desk: Desk, actor: Actor, notice_id: int, occurs_at: dt.datetime) -> Answer:
    now = desk.now()

    async def cancel_place(tx: Tx) -> tuple[Answer, int]:
        """The answer, and how many were promoted from the waitlist into the freed place."""
        existing = await repo.get_rsvp(tx, notice_id, occurs_at, actor.user_id)
        notice = await repo.get_notice(tx, notice_id)
        if existing is None or existing.status == "cancelled" or notice is None:
            return Answer(say(desk, actor.locale, "rsvp_not_found"), ok=False), 0
        if occurs_at <= now:
            return Answer(say(desk, actor.locale, "rsvp_closed"), ok=False), 0
        if not await repo.set_rsvp_status(tx, existing, "cancelled", now, expect=existing.status):
            return Answer(say(desk, actor.locale, "rsvp_not_found"), ok=False), 0
        promoted = 0
        if existing.status == "going":
            promoted = await _promote(tx, desk, notice, occurs_at, now)
        return Answer(say(desk, actor.locale, "rsvp_cancelled", title=notice.spec.title)), promoted

    answer, promoted = await desk.db.write(cancel_place)
    if promoted:
        desk.wake_outbox()
    return answer


async def _promote(
    tx: Tx, desk: Desk, notice: Notice, occurs_at: dt.datetime, now: dt.datetime
) -> int:
    """Fill free places from the waitlist in order; each promoted person is told by DM."""
    capacity = notice.spec.capacity or 0
    promoted = 0
    for waiting in await repo.rsvps(tx, notice.id, occurs_at, "waiting"):
        if await repo.count_going(tx, notice.id, occurs_at) >= capacity:
            break
        if not await repo.set_rsvp_status(tx, waiting, "going", now, expect="waiting"):
            continue
        promoted += 1
        person = await people.get_person(tx, waiting.user_id)
        if person is None or not person.reachable_by_dm:
            log.info("notice %s: promoted %s, who cannot get DMs", notice.id, waiting.user_id)
            continue
        stamp = occurrence_key(occurs_at)
        message = Outgoing(
            key=f"notice:{notice.id}:{stamp}:promoted:{waiting.user_id}:{waiting.seq}",
            chat_id=waiting.user_id,
            text=desk.texts.render(
                person.locale, "notice_promoted", n=_view(desk, person.locale, notice, occurs_at)
            ),
            buttons=rsvp_buttons(desk, person.locale, notice, occurs_at, cancel_only=True),
            recipient_user_id=waiting.user_id,
            purpose="notice_promoted",
        )
        await _queue_dm(tx, desk, message, now, expires_at=occurs_at)
    return promoted


# --- residents: /events, /subscribe, /unsubscribe ----------------------------------------


@dataclass(frozen=True, slots=True)
class _Upcoming:
    notice: Notice
    occurs_at: dt.datetime


async def _upcoming(tx: Tx, desk: Desk, limit: int = 10) -> list[_Upcoming]:
    now, zone = desk.now(), desk.config.timezone
    found: list[_Upcoming] = []
    for notice in await repo.notices(tx):
        if not is_event(notice):
            continue
        for occurs_at in recurrence.between(
            notice.spec.rule, zone, now, now + EVENTS_HORIZON, limit
        ):
            if is_held(desk, notice, occurs_at):
                found.append(_Upcoming(notice, occurs_at))
    found.sort(key=lambda u: (u.occurs_at, u.notice.id))
    return found[:limit]


async def events(desk: Desk, actor: Actor, *, in_group: bool) -> Answer:
    """Upcoming events with places left and the person's own sign-ups (with buttons in a
    private chat)."""
    locale = desk.config.locale if in_group else actor.locale

    async def list_upcoming(tx: Tx) -> tuple[list[dict[str, object]], list[tuple[Button, ...]]]:
        rows: list[dict[str, object]] = []
        buttons: list[tuple[Button, ...]] = []
        for item in await _upcoming(tx, desk):
            notice, occurs_at = item.notice, item.occurs_at
            mine = await repo.get_rsvp(tx, notice.id, occurs_at, actor.user_id)
            status = None if mine is None or mine.status == "cancelled" else mine.status
            going = await repo.count_going(tx, notice.id, occurs_at) if notice.rsvp else 0
            rows.append(
                _view(desk, locale, notice, occurs_at)
                | {"going": going, "status": None if in_group else status}
            )
            if notice.rsvp and not in_group:
                action = "no" if status else "go"
                label = desk.texts.render(
                    locale,
                    "notice_button",
                    action=action,
                    title=notice.spec.title,
                    month=desk.local(occurs_at).month,
                    day=desk.local(occurs_at).day,
                )
                data = callbacks.notice(action, notice.id, occurrence_minute(occurs_at))
                buttons.append((Button(label, data),))
        return rows, buttons

    rows, buttons = await desk.db.read(list_upcoming)
    text = desk.texts.render(locale, "notice_events", events=rows, in_group=in_group)
    return Answer(text, buttons=tuple(buttons))


def resolve_topic(desk: Desk, word: str) -> str | None:
    """A topic key, or its label in any locale (e.g. 健康)."""
    word = word.strip().lower()
    for topic in TOPICS:
        names = {topic} | {topic_label(desk, loc, topic).lower() for loc in ("zh", "en")}
        if word in names:
            return topic
    return None


async def subscribe(desk: Desk, actor: Actor, word: str) -> Answer:
    topic = resolve_topic(desk, word) if word else None
    labels = [topic_label(desk, actor.locale, t) for t in TOPICS]
    if topic is None:
        mine = await desk.db.read(lambda tx: repo.topics_of(tx, actor.user_id))
        return Answer(
            say(
                desk,
                actor.locale,
                "subscribe_usage",
                topics=list(zip(TOPICS, labels, strict=True)),
                mine=[topic_label(desk, actor.locale, t) for t in mine],
                unknown=word or None,
            ),
            ok=not word,
        )

    async def record_subscription(tx: Tx) -> None:
        await people.upsert_person(
            tx, actor.user_id, actor.display_name, actor.username, actor.locale
        )
        await people.mark_started(tx, actor.user_id, desk.now())  # they are writing to us
        await repo.subscribe(tx, actor.user_id, topic, desk.now())

    await desk.db.write(record_subscription)
    label = topic_label(desk, actor.locale, topic)
    return Answer(say(desk, actor.locale, "subscribed", topic=label))


async def unsubscribe(desk: Desk, actor: Actor, word: str) -> Answer:
    topic = resolve_topic(desk, word) if word else None
    if word and topic is None:
        return Answer(say(desk, actor.locale, "unknown_topic", word=word), ok=False)
    removed = await desk.db.write(lambda tx: repo.unsubscribe(tx, actor.user_id, topic))
    label = None if topic is None else topic_label(desk, actor.locale, topic)
    return Answer(say(desk, actor.locale, "unsubscribed", topic=label, removed=removed))


# --- staff: /notices ---------------------------------------------------------------------


EDITABLE = ("title", "text", "place", "speaker", "notes", "eligible", "bring", "capacity",
            "time", "topic", "announce")  # fmt: skip


async def manage(desk: Desk, actor: Actor, args: Sequence[str]) -> Answer:
    """/notices [list | pause N | resume N | cancel N | rsvp N | edit N field value]."""
    member = await desk.db.read(lambda tx: staff_member_of(tx, desk, actor.user_id))
    if member is None:
        return Answer(say(desk, actor.locale, "not_staff"), ok=False)
    verb = args[0].lower() if args else "list"
    if verb == "list":
        return await _list(desk, actor)
    if len(args) < 2 or not args[1].lstrip("#").isdigit():
        return Answer(say(desk, actor.locale, "manage_usage", fields=EDITABLE), ok=False)
    notice_id = int(args[1].lstrip("#"))
    if verb in ("pause", "resume", "cancel"):
        return await _set_state(desk, actor, notice_id, verb)
    if verb == "rsvp":
        return await rsvp_list(desk, actor, notice_id)
    if verb == "edit" and len(args) >= 4:
        return await edit(desk, actor, notice_id, args[2].lower(), " ".join(args[3:]))
    return Answer(say(desk, actor.locale, "manage_usage", fields=EDITABLE), ok=False)


async def _list(desk: Desk, actor: Actor) -> Answer:
    found = await desk.db.read(lambda tx: repo.notices(tx, ("active", "paused", "cancelled")))
    upcoming = await next_posts(desk)
    zone, now = desk.config.timezone, desk.now()
    rows = []
    for notice in found:
        occurs_at = recurrence.next_after(notice.spec.rule, zone, now)
        post_at = upcoming.get(notice.id)
        rows.append(
            {
                "id": notice.id,
                "title": notice.spec.title,
                "state": desk.texts.render(
                    actor.locale, "notice_label", kind="state", name=notice.state
                ),
                "rule": rule_text(desk, actor.locale, notice.spec.rule),
                "next": None if occurs_at is None else when_text(desk, actor.locale, occurs_at),
                "post": None if post_at is None else when_text(desk, actor.locale, post_at),
                "capacity": notice.spec.capacity,
                "from_config": notice.config_id is not None,
            }
        )
    return Answer(desk.texts.render(actor.locale, "notice_list", notices=rows))


async def _set_state(desk: Desk, actor: Actor, notice_id: int, verb: str) -> Answer:
    now = desk.now()
    target = {"pause": "paused", "resume": "active", "cancel": "cancelled"}[verb]
    allowed = {"pause": ("active",), "resume": ("paused",), "cancel": ("active", "paused")}[verb]

    async def change_state(tx: Tx) -> tuple[Answer, int]:
        """The answer, and how many people were told of a cancellation by DM."""
        notice = await repo.get_notice(tx, notice_id)
        if notice is None or notice.state == "retired":
            return Answer(say(desk, actor.locale, "unknown_notice", id=notice_id), ok=False), 0
        if notice.state not in allowed:
            state = desk.texts.render(actor.locale, "notice_label", kind="state", name=notice.state)
            return Answer(
                say(desk, actor.locale, "state_unchanged", id=notice_id, state=state), ok=False
            ), 0
        await repo.set_state(tx, notice_id, target, now)
        if verb == "resume":
            await repo.reset_checked_until(tx, notice_id, now)
        told = 0
        if verb == "cancel":
            told = await _tell_cancelled(tx, desk, notice, now)
        answer = Answer(
            say(desk, actor.locale, f"notice_{target}", id=notice_id, title=notice.spec.title),
            changed=True,
        )
        return answer, told

    answer, told = await desk.db.write(change_state)
    if told:
        desk.wake_outbox()
    return answer


async def _tell_cancelled(tx: Tx, desk: Desk, notice: Notice, now: dt.datetime) -> int:
    """Everyone signed up for a future occurrence hears the event is off."""
    told = 0
    for entry in await repo.upcoming_rsvps(tx, notice.id, now):
        person = await people.get_person(tx, entry.user_id)
        if person is None or not person.reachable_by_dm:
            continue
        message = Outgoing(
            key=f"notice:{notice.id}:{occurrence_key(entry.occurs_at)}:off:{entry.user_id}",
            chat_id=entry.user_id,
            text=desk.texts.render(
                person.locale,
                "notice_event_off",
                n=_view(desk, person.locale, notice, entry.occurs_at),
            ),
            recipient_user_id=entry.user_id,
            purpose="notice_cancelled",
        )
        told += await _queue_dm(tx, desk, message, now, expires_at=entry.occurs_at)
    return told


async def rsvp_list(desk: Desk, actor: Actor, notice_id: int) -> Answer:
    """Sign-ups for the next occurrence that has any (or the next occurrence)."""
    now = desk.now()

    async def list_rsvps(tx: Tx) -> Answer:
        notice = await repo.get_notice(tx, notice_id)
        if notice is None:
            return Answer(say(desk, actor.locale, "unknown_notice", id=notice_id), ok=False)
        entries = await repo.upcoming_rsvps(tx, notice_id, now)
        if entries:
            occurs_at: dt.datetime | None = entries[0].occurs_at
        else:
            occurs_at = recurrence.next_after(notice.spec.rule, desk.config.timezone, now)
        listed = [] if occurs_at is None else await repo.rsvps(tx, notice_id, occurs_at)
        going = [r.display_name for r in listed if r.status == "going"]
        waiting = [r.display_name for r in listed if r.status == "waiting"]
        return Answer(
            desk.texts.render(
                actor.locale,
                "notice_rsvps",
                title=notice.spec.title,
                id=notice.id,
                when=None if occurs_at is None else when_text(desk, actor.locale, occurs_at),
                capacity=notice.spec.capacity,
                going=going,
                waiting=waiting,
            )
        )

    return await desk.db.read(list_rsvps)


_WHEN = re.compile(
    r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*"
    r"(\d{1,2})\s*[:：点時时]\s*(\d{2})?\s*分?$"
)


def parse_when(text: str, zone: ZoneInfo, now: dt.datetime) -> dt.datetime | None:
    """A local date and time: "2026-12-20 15:00", "12-20 15:00", "12月20日 15:00".
    Without a year, the next such date from today."""
    match = _WHEN.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    local_now = now.astimezone(zone)
    try:
        moment = dt.datetime(
            int(year) if year else local_now.year,
            int(month),
            int(day),
            int(hour),
            int(minute or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
    if year is None and moment < local_now:
        try:
            moment = moment.replace(year=moment.year + 1)
        except ValueError:  # 29 February
            return None
    return moment


async def edit(desk: Desk, actor: Actor, notice_id: int, name: str, value: str) -> Answer:
    now = desk.now()
    value = value.strip()[:MAX_TEXT]

    async def apply_edit(tx: Tx) -> tuple[Answer, int]:
        """The answer, and how many were promoted from the waitlist by a larger capacity."""
        notice = await repo.get_notice(tx, notice_id)
        if notice is None or notice.state == "retired":
            return Answer(say(desk, actor.locale, "unknown_notice", id=notice_id), ok=False), 0
        spec = _edited(desk, notice.spec, name, value, now)
        if spec is None:
            return Answer(
                say(desk, actor.locale, "bad_edit", field=name, fields=EDITABLE), ok=False
            ), 0
        await repo.update_spec(tx, notice_id, spec, now)
        if name in ("time", "announce"):  # earlier occurrences of the new rule are not "missed"
            await repo.reset_checked_until(tx, notice_id, now)
        promoted = 0
        if name == "capacity":
            updated = await repo.get_notice(tx, notice_id)
            assert updated is not None
            for entry in await repo.upcoming_rsvps(tx, notice_id, now):
                promoted += await _promote(tx, desk, updated, entry.occurs_at, now)
        answer = Answer(
            say(desk, actor.locale, "edited", id=notice_id, field=name, promoted=promoted),
            changed=True,
        )
        return answer, promoted

    answer, promoted = await desk.db.write(apply_edit)
    if promoted:
        desk.wake_outbox()
    return answer


def _edited(
    desk: Desk, spec: NoticeSpec, name: str, value: str, now: dt.datetime
) -> NoticeSpec | None:
    optional = value or None
    if name == "title":
        return replace(spec, title=value) if value else None
    if name == "text":
        return replace(spec, body=value)
    if name == "place":
        return replace(spec, place=optional)
    if name == "speaker":
        return replace(spec, speaker=optional)
    if name == "notes":
        return replace(spec, notes=optional)
    if name == "eligible":
        return replace(spec, eligible=optional)
    if name == "bring":
        return replace(spec, bring=optional)
    if name == "capacity":
        return replace(spec, capacity=int(value) or None) if value.isdigit() else None
    if name == "announce":
        try:
            return replace(spec, announce_before=parse_duration(value, "announce"))
        except ConfigError:
            return None
    if name == "time":
        moment = parse_when(value, desk.config.timezone, now)
        return (
            None if moment is None else replace(spec, rule=recurrence.moved_to(spec.rule, moment))
        )
    if name == "topic":
        month, _, title = value.partition(" ")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            return None
        topics = dict(spec.topics)
        if title.strip():
            topics[month] = MonthTopic(title=title.strip())
        else:
            topics.pop(month, None)
        return replace(spec, topics=topics)
    return None


# --- staff: the /notice conversation -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    ok: bool = True
    created: int | None = None  # the new notice's id, once published


def _button(desk: Desk, locale: str, name: str, data: str) -> Button:
    return Button(desk.label(locale, "button", name), data)


async def begin_draft(desk: Desk, actor: Actor) -> Step:
    async def open_draft(tx: Tx) -> Step:
        if await staff_member_of(tx, desk, actor.user_id) is None:
            return Step(say(desk, actor.locale, "not_staff"), ok=False)
        await repo.put_draft(tx, actor.user_id, "text", {}, desk.now())
        templates = [n for n in await repo.notices(tx, ("active", "paused")) if n.spec.title]
        rows = [
            (Button(f"📋 {n.spec.title}", callbacks.notice("tpl", n.id)),) for n in templates[:6]
        ]
        rows.append((_button(desk, actor.locale, "quit", callbacks.notice("quit")),))
        return Step(_prompt(desk, actor.locale, "text"), tuple(rows))

    return await desk.db.write(open_draft)


def _prompt(desk: Desk, locale: str, step: str, **context: object) -> str:
    values: dict[str, object] = {"preview": None, "summary": None, "error": None} | context
    return desk.texts.render(locale, "notice_draft", step=step, **values)


async def draft_text(desk: Desk, actor: Actor, text: str) -> Step | None:
    """A staff member's message while a /notice draft is open; None when there is none
    (the message is then handled as usual)."""
    now = desk.now()
    text = text.strip()[:MAX_TEXT]
    # Every private message passes here: read first.
    if await desk.db.read(lambda tx: repo.get_draft(tx, actor.user_id)) is None:
        return None

    async def advance_draft(tx: Tx) -> Step | None:
        draft = await repo.get_draft(tx, actor.user_id)
        if draft is None:
            return None
        if now - draft.updated_at > DRAFT_TTL:
            await repo.drop_draft(tx, actor.user_id)
            return None
        data = dict(draft.data)
        if draft.step == "text" and text:
            title, _, body = text.partition("\n")
            data |= {"title": title.strip()[:120], "body": body.strip(), "kind": "announcement"}
            await repo.put_draft(tx, actor.user_id, "when", data, now)
            return Step(_prompt(desk, actor.locale, "when"), _quit_row(desk, actor.locale))
        if draft.step == "when":
            moment = parse_when(text, desk.config.timezone, now)
            if moment is None or moment <= now:
                error = "bad_when" if moment is None else "past_when"
                return Step(
                    _prompt(desk, actor.locale, "when", error=error),
                    _quit_row(desk, actor.locale),
                    ok=False,
                )
            data["when"] = moment.replace(tzinfo=None).isoformat(timespec="minutes")
            await repo.put_draft(tx, actor.user_id, "repeat", data, now)
            return _repeat_step(desk, actor.locale, moment)
        if draft.step == "capacity":
            if not text.isdigit() or int(text) > 10000:
                return Step(
                    _prompt(desk, actor.locale, "capacity", error="bad_capacity"),
                    _capacity_buttons(desk, actor.locale),
                    ok=False,
                )
            data["capacity"] = int(text)
            await repo.put_draft(tx, actor.user_id, "confirm", data, now)
            return _confirm_step(desk, actor.locale, data)
        return _reprompt(desk, actor.locale, draft.step, data)

    return await desk.db.write(advance_draft)


def _quit_row(desk: Desk, locale: str) -> tuple[tuple[Button, ...], ...]:
    return ((_button(desk, locale, "quit", callbacks.notice("quit")),),)


def _local_when(desk: Desk, data: Mapping[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(data["when"])).replace(tzinfo=desk.config.timezone)


def _repeat_step(desk: Desk, locale: str, moment: dt.datetime) -> Step:
    rows = [
        (Button(rule_text(desk, locale, rule), callbacks.notice("rep", name)),)
        for name, rule in recurrence.choices_for(moment).items()
    ]
    rows.append((_button(desk, locale, "quit", callbacks.notice("quit")),))
    return Step(_prompt(desk, locale, "repeat"), tuple(rows))


def _lead_step(desk: Desk, locale: str) -> Step:
    labels = [
        Button(
            desk.texts.render(locale, "notice_label", kind="lead", name=str(minutes)),
            callbacks.notice("lead", minutes),
        )
        for minutes in LEAD_CHOICES
    ]
    rows = (tuple(labels[:2]), tuple(labels[2:]), *_quit_row(desk, locale))
    return Step(_prompt(desk, locale, "lead"), rows)


def _chats_step(desk: Desk, locale: str) -> Step:
    rows = [
        (Button(str(chat), callbacks.notice("chat", index)),)
        for index, chat in enumerate(desk.config.group_chats)
    ]
    rows.append((_button(desk, locale, "all_groups", callbacks.notice("chat", "all")),))
    return Step(_prompt(desk, locale, "chats"), (*rows, *_quit_row(desk, locale)))


def _capacity_buttons(desk: Desk, locale: str) -> tuple[tuple[Button, ...], ...]:
    return (
        (_button(desk, locale, "no_rsvp", callbacks.notice("cap", 0)),),
        *_quit_row(desk, locale),
    )


def _spec_from(desk: Desk, data: Mapping[str, Any]) -> NoticeSpec:
    moment = _local_when(desk, data)
    rule = recurrence.choices_for(moment)[str(data.get("repeat", "once"))]
    capacity = int(data.get("capacity", 0))
    return NoticeSpec(
        kind=str(data.get("kind", "announcement")),
        title=str(data["title"]),
        rule=rule,
        body=str(data.get("body", "")),
        speaker=data.get("speaker"),
        place=data.get("place"),
        notes=data.get("notes"),
        eligible=data.get("eligible"),
        bring=data.get("bring"),
        topic=data.get("topic") or "community",
        announce_before=dt.timedelta(minutes=int(data.get("lead", 0))),
        chats=tuple(data.get("chats", desk.config.group_chats)),
        capacity=capacity or None,
    )


def _confirm_step(desk: Desk, locale: str, data: Mapping[str, Any]) -> Step:
    spec = _spec_from(desk, data)
    preview_notice = Notice(
        id=0,
        config_id=None,
        spec=spec,
        state="active",
        checked_until=desk.now(),
        created_by=None,
        created_at=desk.now(),
    )
    occurs_at = _local_when(desk, data).astimezone(dt.UTC)
    summary = {
        "rule": rule_text(desk, locale, spec.rule),
        "lead": desk.texts.render(
            locale, "notice_label", kind="lead", name=str(int(data.get("lead", 0)))
        ),
        "chats": list(spec.chats),
        "capacity": spec.capacity,
    }
    buttons = (
        (
            _button(desk, locale, "publish", callbacks.notice("ok")),
            _button(desk, locale, "quit", callbacks.notice("quit")),
        ),
    )
    preview = render_post(desk, locale, preview_notice, occurs_at, dm=False)
    return Step(_prompt(desk, locale, "confirm", preview=preview, summary=summary), buttons)


def _reprompt(desk: Desk, locale: str, step: str, data: Mapping[str, Any]) -> Step:
    if step == "repeat":
        return _repeat_step(desk, locale, _local_when(desk, data))
    if step == "lead":
        return _lead_step(desk, locale)
    if step == "chats":
        return _chats_step(desk, locale)
    if step == "capacity":
        return Step(_prompt(desk, locale, "capacity"), _capacity_buttons(desk, locale))
    if step == "confirm":
        return _confirm_step(desk, locale, data)
    return Step(_prompt(desk, locale, step), _quit_row(desk, locale))


async def draft_choice(desk: Desk, actor: Actor, action: str, arg: str | None) -> Step:
    """A button in the /notice conversation."""
    now, locale = desk.now(), actor.locale

    async def apply_choice(tx: Tx) -> Step:
        draft = await repo.get_draft(tx, actor.user_id)
        if draft is None or now - draft.updated_at > DRAFT_TTL:
            return Step(say(desk, locale, "draft_gone"), ok=False)
        if await staff_member_of(tx, desk, actor.user_id) is None:
            return Step(say(desk, locale, "not_staff"), ok=False)
        data, step = dict(draft.data), draft.step
        if action == "quit":
            await repo.drop_draft(tx, actor.user_id)
            return Step(say(desk, locale, "draft_dropped"))
        if action == "tpl" and step == "text" and arg is not None:
            base = await repo.get_notice(tx, int(arg))
            if base is None:
                return Step(say(desk, locale, "unknown_notice", id=arg), ok=False)
            data |= _template_fields(base.spec)
            await repo.put_draft(tx, actor.user_id, "when", data, now)
            return Step(_prompt(desk, locale, "when"), _quit_row(desk, locale))
        if (
            action == "rep"
            and step == "repeat"
            and arg in recurrence.choices_for(_local_when(desk, data))
        ):
            data["repeat"] = arg
            await repo.put_draft(tx, actor.user_id, "lead", data, now)
            return _lead_step(desk, locale)
        if action == "lead" and step == "lead" and arg is not None and int(arg) in LEAD_CHOICES:
            data["lead"] = int(arg)
            next_step = "chats" if len(desk.config.group_chats) > 1 else "capacity"
            await repo.put_draft(tx, actor.user_id, next_step, data, now)
            return _reprompt(desk, locale, next_step, data)
        if action == "chat" and step == "chats" and arg is not None:
            chats = desk.config.group_chats
            if arg != "all" and int(arg) >= len(chats):
                return _reprompt(desk, locale, step, data)
            data["chats"] = list(chats) if arg == "all" else [chats[int(arg)]]
            await repo.put_draft(tx, actor.user_id, "capacity", data, now)
            return _reprompt(desk, locale, "capacity", data)
        if action == "cap" and step == "capacity":
            data["capacity"] = 0
            await repo.put_draft(tx, actor.user_id, "confirm", data, now)
            return _confirm_step(desk, locale, data)
        if action == "ok" and step == "confirm":
            notice = await repo.insert_notice(
                tx, _spec_from(desk, data), now, created_by=actor.user_id
            )
            await repo.drop_draft(tx, actor.user_id)
            text = say(desk, locale, "published", id=notice.id, title=notice.spec.title)
            return Step(text, created=notice.id)
        return _reprompt(desk, locale, step, data)

    return await desk.db.write(apply_choice)


def _template_fields(spec: NoticeSpec) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": spec.kind,
        "title": spec.title,
        "body": spec.body,
        "speaker": spec.speaker,
        "place": spec.place,
        "notes": spec.notes,
        "eligible": spec.eligible,
        "bring": spec.bring,
        "topic": spec.topic,
    }  # not a series' month topics: the copy is a notice of its own
    return {k: v for k, v in fields.items() if v is not None}
