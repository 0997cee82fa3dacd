"""The shared rate budget of one (consumer token, employee token) pair.

Tripletex counts calls per employee per API consumer in fixed windows and reports
``X-Rate-Limit-Limit/Remaining/Reset`` (seconds left, rounded up). Once a window is
exhausted every call is a 429 until it ends, and the 429 may lack the reset header
(tripletex-api2#103).

`AdaptiveBudget` spends each window fully: as many calls as ``Remaining`` allows go at
once, then every caller waits for the window's end, and the next window is spent the
same way. Pacing calls evenly instead (one every window/limit seconds) leaves the first
window half used and makes a run of N windows last N + 1; a window that passes unused
while calls wait is time lost for good. The end of a window is known to within the
rounding of ``Reset``: each answer bounds it from above (received + reset), and the
smallest bound is the one waited for, so no call goes early.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import anyio

from ._clock import Clock

__all__ = [
    "AdaptiveBudget",
    "BudgetSnapshot",
    "RateLimiter",
    "RequestNotSent",
    "give_up_unsent",
    "unless_given_up",
    "until_ready",
]

#: Seconds the first call may go unanswered before another one is sent to learn the limit.
_PROBE_PATIENCE = 5.0


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

    async def ready(self) -> None:
        """Wait until a request could be sent now, without taking the permission (a
        caller decides what to ask for as late as it can)."""
        ...

    def observe(
        self, limit: int | None, remaining: int | None, reset: float | None, in_flight: int
    ) -> None:
        """Learn from a response's rate-limit headers; ``in_flight`` is the calls sent
        and not answered yet besides this one."""
        ...

    def rate_limited(self, reset: float | None) -> float:
        """A 429 arrived; hold the budget and return the pause in seconds."""
        ...

    def unanswered(self) -> None:
        """A call got no answer (a transport failure): nothing was learned from it."""
        ...

    def snapshot(self) -> BudgetSnapshot:
        """The budget's state."""
        ...


class RequestNotSent(Exception):
    """A request given up while it waited for the rate budget (see `give_up_unsent`)."""


_GIVE_UP: ContextVar[anyio.Event | None] = ContextVar("tripletex_async_give_up", default=None)


@contextmanager
def give_up_unsent(event: anyio.Event) -> Iterator[None]:
    """In this context (and the tasks started in it), whatever still waits for the rate
    budget when ``event`` is set gives up (`RequestNotSent`) instead of going when the
    next window opens: a run told to stop, or past its deadline, ends then, not a rate
    window (a minute in Tripletex) later. A request already sent is answered as always."""
    token = _GIVE_UP.set(event)
    try:
        yield
    finally:
        _GIVE_UP.reset(token)


def _would_wait(limiter: RateLimiter) -> bool:
    waits = getattr(limiter, "would_wait", None)
    return True if waits is None else bool(waits())


async def unless_given_up(limiter: RateLimiter, wait: Callable[[], Awaitable[None]]) -> None:
    """``await wait()`` (for ``limiter``), or `RequestNotSent` once this context gives up
    (at once when it has, and ``limiter`` would make it wait)."""
    give_up = _GIVE_UP.get()
    if give_up is None or not _would_wait(limiter):
        await wait()
        return
    if give_up.is_set():
        raise RequestNotSent
    done = False
    try:
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                await give_up.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            await wait()
            done = True
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # the waiter's own error, as it raised it
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    if not done:
        raise RequestNotSent


async def until_ready(limiter: RateLimiter) -> None:
    """`RateLimiter.ready` of ``limiter``; at once for a limiter written before that
    method existed (it then only tells what its answers report). `RequestNotSent` when
    this context gives up waiting (`give_up_unsent`)."""
    ready = getattr(limiter, "ready", None)
    if ready is not None:
        await unless_given_up(limiter, ready)


class AdaptiveBudget:
    """A `RateLimiter` that learns Tripletex's fixed windows from response headers and
    spends each of them fully (see the module's text)."""

    def __init__(
        self,
        clock: Clock,
        *,
        limit: int | None = None,
        period: float | None = None,
        rng: random.Random | None = None,
        in_flight: Callable[[], int] | None = None,
    ) -> None:
        self._clock = clock
        #: Calls sent and not answered now (the connection's count), if known.
        self._now_in_flight = in_flight
        self._rng = rng or random.Random()
        self._limit = limit
        self._period = period
        self._remaining: int | None = None
        #: Calls this window still allows, as far as we know (None: not known yet).
        self._tokens: int | None = None
        #: The current window's end (monotonic), an upper bound; None when unknown.
        self._window_end: float | None = None
        #: Calls in flight when last heard of (they may count in the next window).
        self._in_flight = 0
        self._hold_until = 0.0
        self._misses = 0
        #: After a window ended: answers saying it ends before this were sent in the old
        #: window and answered late; they must not start the new window a second time.
        self._stale_before: float | None = None
        #: Set by the first answer that tells the limit (or by two that tell nothing: no
        #: limit is reported): until then one call goes at a time, since sending many
        #: blind would spend the first window in 429s.
        self._heard = anyio.Event()
        self._probing = False
        self._bare_answers = 0

    async def acquire(self) -> None:
        """Wait until this window allows one more call (or the next one begins)."""
        while not self._heard.is_set():
            if not self._probing:
                self._probing = True
                return
            with anyio.move_on_after(_PROBE_PATIENCE):
                await self._heard.wait()
            if not self._heard.is_set():
                self._probing = False  # the probe got no answer: another call tries
        while (wait := self._wait()) is not None:
            if wait >= 0:
                await self._clock.sleep(wait)
                continue
            # Spent, and no idea when the window ends (a 429 without a reset header):
            # back off, then let one call go to find out. Only an answer tells more,
            # and none comes while every call waits.
            await self._clock.sleep(self._backoff())
            if self._tokens == 0 and self._window_end is None:
                self._tokens = 1
        if self._tokens is not None:
            self._tokens -= 1

    async def ready(self) -> None:
        """Wait until a call could go now (without taking it): until this window has a
        call left or the next one begins; at once while the limit or the window's end
        is not known (`acquire` then finds out)."""
        while self._heard.is_set() and (wait := self._wait()) is not None and wait >= 0:
            await self._clock.sleep(wait)

    def would_wait(self) -> bool:
        """Whether `acquire` would wait now (`ready` waits less: not for a backoff)."""
        if not self._heard.is_set():
            return False
        return self._wait() is not None

    def _wait(self) -> float | None:
        """Seconds until a call may go (negative: spent, end unknown), ``None``: now."""
        now = self._clock.monotonic()
        if self._hold_until > now:
            return self._hold_until - now
        if self._window_end is not None and now >= self._window_end:
            self._next_window()
        if self._tokens is None or self._tokens > 0:
            return None
        return -1.0 if self._window_end is None else self._window_end - now

    def _next_window(self) -> None:
        """The window ended: a new one starts with the next call (its first answer says
        when it ends); calls still in flight may count in it."""
        self._window_end = None
        now = self._clock.monotonic()
        self._stale_before = now + 0.5 * (self._period or 1.0)
        if self._limit is not None:
            pending = self._now_in_flight() if self._now_in_flight else self._in_flight
            self._tokens = max(1, self._limit - pending)
            self._remaining = self._limit
        else:  # answers said Remaining but no usable Limit: the next answer tells again
            self._tokens = None

    def observe(
        self, limit: int | None, remaining: int | None, reset: float | None, in_flight: int
    ) -> None:
        """Learn the limit, what this window allows still, and when it ends."""
        now = self._clock.monotonic()
        self._in_flight = in_flight
        if limit is not None or remaining is not None:
            self._heard.set()
        else:
            self._bare_answers += 1
            if self._bare_answers >= 2:
                self._heard.set()
        self._probing = False
        if limit is not None and limit > 0:
            self._limit = limit
        new_window = False
        if reset is not None and self._stale_before is not None:
            if now + reset < self._stale_before:
                return  # an answer of the window that ended: nothing new in it
            self._stale_before = None
        if reset is not None:
            end = now + reset
            # Reset counts down from the window length; the largest value seen is the
            # best estimate of it.
            if self._period is None or reset > self._period:
                self._period = float(max(reset, 1.0))
            jump = 0.5 * (self._period or 1.0)
            known = self._window_end
            if known is None or now >= known or end > known + jump:
                new_window, self._window_end = True, end
            else:
                self._window_end = min(known, end)
        if remaining is not None:
            self._remaining = remaining
            self._misses = 0
            # The other calls in flight may not be counted yet: each may spend one.
            allowed = max(0, remaining - in_flight)
            if new_window or self._tokens is None:
                self._tokens = allowed
            else:
                self._tokens = min(self._tokens, allowed)

    def rate_limited(self, reset: float | None) -> float:
        """A 429: nothing more this window. Hold until its end when known, else back off
        with jitter; returns the pause in seconds."""
        now = self._clock.monotonic()
        self._remaining = 0
        self._tokens = 0
        if reset is not None:
            self._window_end = now + reset
        if self._window_end is not None and self._window_end > now:
            until = self._window_end
        else:
            self._window_end = None
            until = now + self._backoff()
        self._hold_until = max(self._hold_until, until)
        return self._hold_until - now

    def unanswered(self) -> None:
        """A call got no answer: if it was the one sent to learn the limit, another may go."""
        self._probing = False

    def _backoff(self) -> float:
        self._misses += 1
        span = min(self._period or 1.0, 2.0 ** min(self._misses, 6))
        return span * (0.5 + self._rng.random() / 2)

    def snapshot(self) -> BudgetSnapshot:
        """The learned limit, window, remaining calls and any hold."""
        now = self._clock.monotonic()
        end = self._window_end
        reset_in = None if end is None else max(0.0, end - now)
        return BudgetSnapshot(
            limit=self._limit,
            period=self._period,
            remaining=self._remaining,
            reset_in=reset_in,
            held_for=max(0.0, self._hold_until - now),
        )
