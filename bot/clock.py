"""The clock is a dependency so tests can move time without sleeping."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self._now += delta
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = moment.astimezone(dt.UTC)


class OffsetClock:
    """System time plus an offset that only grows: the playground's fast-forward.

    Time keeps flowing (so the real JobQueue still fires), and `advance` jumps ahead to make
    deadlines come due without waiting.
    """

    def __init__(self, offset: dt.timedelta = dt.timedelta(0)) -> None:
        self._offset = offset

    @property
    def offset(self) -> dt.timedelta:
        return self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        # Going back would make the stored history run backwards; tickets assume it never does.
        if delta < dt.timedelta(0):
            raise ValueError("OffsetClock only moves forward")
        self._offset += delta
        return self.now()
