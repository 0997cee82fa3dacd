"""Retrying one call: how many tries are left, how long to wait, when to give up.

`RetryPolicy` is the configuration and the pure backoff; a `Retrying` is the state of one
call under it (stamina's shape: one object per call, asked to `wait` after each
failure). It raises that failure once the attempts or the time are spent, so the loop
around it has one reason to run again and no bookkeeping of its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ._clock import Clock
from ._config import RetryPolicy

__all__ = ["Retrying"]


class Retrying:
    """The retries of one call; ``on_retry(attempt, delay, failure)`` hears of each."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        rng: random.Random,
        on_retry: Callable[[int, float, BaseException], None] | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._on_retry = on_retry
        self._deadline = clock.monotonic() + policy.total
        #: Failures so far.
        self.failures = 0

    @property
    def last(self) -> bool:
        """Whether the try about to be made is the last the attempts allow."""
        return self.failures + 1 >= self._policy.attempts

    async def wait(self, failure: BaseException) -> None:
        """Sleep before the next try, or raise ``failure`` when none is left."""
        self.failures += 1
        delay = self._policy.backoff(self.failures, self._rng.random())
        spent = self._clock.monotonic() + delay > self._deadline
        if self.failures >= self._policy.attempts or spent:
            raise failure
        if self._on_retry is not None:
            self._on_retry(self.failures, delay, failure)
        await self._clock.sleep(delay)
