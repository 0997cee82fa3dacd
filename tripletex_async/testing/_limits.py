"""Fixed-window rate limiting as Tripletex documents it (the API docs' "Rate limiting").

The app keys windows by budget: (consumer token, employee token), as Tripletex counts
them; every session of a budget, and every company an accountant's token reaches with
it, draws on the same window. Each key also keeps a tally of its windows, so that a
benchmark can see how much of its budget a client used while it was sending.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._config import RateLimit

__all__ = ["FixedWindows", "Verdict", "WindowUsage"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a call may pass, and the headers that go with its answer."""

    allowed: bool
    headers: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """What one key did with its windows so far."""

    #: Windows it opened: a window opens with a call, so each had at least one.
    windows: int
    #: Calls allowed in them (the refused ones beyond the limit not counted).
    calls: int


@dataclass(slots=True)
class _Window:
    end: float
    used: int
    #: Windows opened and calls allowed so far, this window's included.
    windows: int = 0
    calls: int = 0


class FixedWindows(Generic[K]):
    """One fixed window per key; every call in an exhausted window is refused."""

    def __init__(self, limit: RateLimit, now: Callable[[], float]) -> None:
        self._limit = limit
        self._now = now
        self._windows: dict[K, _Window] = {}

    @property
    def limit(self) -> int:
        """Calls a window allows."""
        return self._limit.limit

    def usage(self) -> dict[K, WindowUsage]:
        """Per key that made a call: its windows and the calls allowed in them. The
        current window counts as a whole one, though it may have time left."""
        return {key: WindowUsage(w.windows, w.calls) for key, w in self._windows.items()}

    def hit(self, key: K) -> Verdict:
        """Count one call against ``key``'s window."""
        now = self._now()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(now + self._limit.period, 0)
        elif now >= window.end:
            window.end, window.used = now + self._limit.period, 0
        if window.used == 0:
            window.windows += 1
        window.used += 1
        reset = str(max(0, math.ceil(window.end - now)))
        limit = str(self._limit.limit)
        if window.used <= self._limit.limit:
            window.calls += 1
            remaining = str(self._limit.limit - window.used)
            return Verdict(True, _headers(limit, remaining, reset))
        # tripletex-api2#103: the 429 itself may come without the reset header.
        headers = _headers(limit, "0", reset if self._limit.reset_header_on_429 else None)
        return Verdict(False, headers)


def _headers(limit: str, remaining: str, reset: str | None) -> list[tuple[str, str]]:
    headers = [("x-rate-limit-limit", limit), ("x-rate-limit-remaining", remaining)]
    if reset is not None:
        headers.append(("x-rate-limit-reset", reset))
    return headers
