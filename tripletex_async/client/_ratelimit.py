"""The shared rate budget of one (consumer token, employee token) pair.

Tripletex counts calls per employee per API consumer in fixed windows and reports
``X-Rate-Limit-Limit/Remaining/Reset`` (seconds left). Once a window is exhausted every
call is a 429 until it ends, and the 429 may lack the reset header (tripletex-api2#103).

`AdaptiveBudget` learns the limit and the window from those headers and paces calls one
every ``window / limit`` seconds: on asyncio with an aiolimiter bucket of capacity one
(aiolimiter lets a full bucket's worth through at start, so a bucket sized to the limit
could send twice the limit in the first window), on any other anyio backend (trio) with
`SlotPacer`, which does the same with the budget's clock.
When ``Remaining`` would not cover the calls already in flight it holds every caller until
the reset; after a 429 it holds until the last known reset, or backs off with jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

import sniffio

from ._clock import Clock

__all__ = ["AdaptiveBudget", "BudgetSnapshot", "RateLimiter", "SlotPacer"]


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    """What a budget knows right now."""

    limit: int | None
    period: float | None
    remaining: int | None
    reset_in: float | None
    held_for: float


class RateLimiter(Protocol):
    """A rate budget shared by every task and company using one pair of tokens."""

    async def acquire(self) -> None:
        """Wait for permission to send one request."""
        ...

    def observe(
        self, limit: int | None, remaining: int | None, reset: float | None, in_flight: int
    ) -> None:
        """Learn from a response's rate-limit headers."""
        ...

    def rate_limited(self, reset: float | None) -> float:
        """A 429 arrived; hold the budget and return the pause in seconds."""
        ...

    def snapshot(self) -> BudgetSnapshot:
        """The budget's state."""
        ...


class _Pacer(Protocol):
    async def acquire(self) -> None: ...


class SlotPacer:
    """One call every ``interval`` seconds, in arrival order, on any anyio backend: each
    caller takes the next free slot and sleeps until it."""

    def __init__(self, interval: float, clock: Clock) -> None:
        self._interval = interval
        self._clock = clock
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        now = self._clock.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._clock.sleep(slot - now)


def _pacer(interval: float, clock: Clock) -> _Pacer:
    """aiolimiter on asyncio (as it always was), `SlotPacer` elsewhere."""
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = "asyncio"  # not in a task at all
    if library == "asyncio":
        from aiolimiter import AsyncLimiter

        return AsyncLimiter(1, interval)
    return SlotPacer(interval, clock)


class AdaptiveBudget:
    """A `RateLimiter` that learns Tripletex's fixed windows from response headers."""

    def __init__(
        self,
        clock: Clock,
        *,
        limit: int | None = None,
        period: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._limit = limit
        self._period = period
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._hold_until = 0.0
        self._misses = 0
        self._bucket: _Pacer | None = None
        self._built = False

    def _rebuild(self) -> None:
        self._built = True
        if self._limit and self._period:
            self._bucket = _pacer(self._period / self._limit, self._clock)

    async def acquire(self) -> None:
        """Wait out any hold, then take one token from the pacing bucket."""
        if not self._built:
            self._rebuild()  # here, in a task, where the backend is known
        while True:
            wait = self._hold_until - self._clock.monotonic()
            if wait > 0:
                await self._clock.sleep(wait)
                continue
            if self._bucket is not None:
                await self._bucket.acquire()
            # A hold may have begun while we waited for the bucket.
            if self._clock.monotonic() >= self._hold_until:
                return

    def observe(
        self, limit: int | None, remaining: int | None, reset: float | None, in_flight: int
    ) -> None:
        """Learn the limit and window; hold when the window cannot cover what is in flight."""
        now = self._clock.monotonic()
        changed = False
        if limit is not None and limit > 0 and limit != self._limit:
            self._limit, changed = limit, True
        if reset is not None:
            self._reset_at = now + reset
            # Reset counts down from the window length; the largest value seen is the best
            # estimate of it.
            if self._period is None or reset > self._period:
                self._period, changed = float(max(reset, 1.0)), True
        if changed:
            self._rebuild()
        if remaining is not None:
            self._remaining = remaining
            self._misses = 0
            if remaining <= max(0, in_flight - 1) and self._reset_at is not None:
                self._hold_until = max(self._hold_until, self._reset_at)

    def rate_limited(self, reset: float | None) -> float:
        """Hold until the window resets (known or last known), else back off with jitter."""
        now = self._clock.monotonic()
        self._remaining = 0
        if reset is not None:
            self._reset_at = now + reset
        if self._reset_at is not None and self._reset_at > now:
            until = self._reset_at
        else:
            self._misses += 1
            span = min(self._period or 1.0, 2.0 ** min(self._misses, 6))
            until = now + span * (0.5 + self._rng.random() / 2)
        self._hold_until = max(self._hold_until, until)
        return self._hold_until - now

    def snapshot(self) -> BudgetSnapshot:
        """The learned limit, window, remaining calls and any hold."""
        now = self._clock.monotonic()
        reset_in = None if self._reset_at is None else max(0.0, self._reset_at - now)
        return BudgetSnapshot(
            limit=self._limit,
            period=self._period,
            remaining=self._remaining,
            reset_in=reset_in,
            held_for=max(0.0, self._hold_until - now),
        )
