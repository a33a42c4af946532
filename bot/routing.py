"""Who gets a ticket: the team's members on duty now, preferring those who cover the
building, then the fewest open tickets, then whoever was given one longest ago."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from bot.config import CommunityConfig, StaffMember

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def team_for(config: CommunityConfig, category: str) -> str:
    return config.category_teams.get(category, config.category_teams["other"])


def on_duty(
    config: CommunityConfig,
    team: str | None,
    local_now: dt.datetime,
    overrides: Mapping[str, bool],
) -> list[StaffMember]:
    """Members of `team` (all teams when None) on duty at `local_now` in the community's
    zone; today's overrides (/duty on, /duty off) beat the weekly roster."""
    rostered = {
        shift.staff
        for shift in config.roster
        if (team is None or shift.team == team) and shift.covers(local_now)
    }
    members: list[StaffMember] = []
    for member in config.staff:
        if team is not None and team not in member.teams:
            continue
        override = overrides.get(member.key)
        if override is True or (override is None and member.key in rostered):
            members.append(member)
    return members


def pick(
    candidates: Collection[StaffMember],
    building: str | None,
    open_counts: Mapping[str, int],
    last_assigned: Mapping[str, dt.datetime],
) -> StaffMember | None:
    if not candidates:
        return None

    def rank(member: StaffMember) -> tuple[int, int, dt.datetime, str]:
        covers = building is not None and building in member.buildings
        return (
            0 if covers else 1,
            open_counts.get(member.key, 0),
            last_assigned.get(member.key, _EPOCH),
            member.key,
        )

    return min(candidates, key=rank)


def supervisor_for(config: CommunityConfig, team: str | None) -> StaffMember | None:
    if team is not None and team in config.teams:
        key = config.teams[team].supervisor
        if key is not None:
            return config.staff_by_key(key)
    supervisors = config.supervisors()
    return supervisors[0] if supervisors else None
