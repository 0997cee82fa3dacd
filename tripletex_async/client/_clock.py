"""Time, injectable: wall-clock time for Oslo dates, monotonic time and sleep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import anyio

__all__ = ["OSLO", "Clock", "LoopClock", "SystemClock"]

OSLO = ZoneInfo("Europe/Oslo")


class Clock(Protocol):
    """What the client needs to know about time."""

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (the event loop's)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clocks: the system's wall time and the event loop's time."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """The event loop's clock."""
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        """``anyio.sleep``."""
        await anyio.sleep(seconds)


class LoopClock(SystemClock):
    """Wall time derived from the event loop's clock, starting at ``start``.

    Under an event loop with virtual time (as in this project's tests) every clock moves
    together and nothing really waits.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start
        self._origin: float | None = None

    def now(self) -> datetime:
        """``start`` plus the loop time elapsed since the first call."""
        t = anyio.current_time()
        if self._origin is None:
            self._origin = t
        return self._start + timedelta(seconds=t - self._origin)
