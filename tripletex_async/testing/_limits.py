"""Fixed-window rate limiting as Tripletex documents it (the API docs' "Rate limiting")."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from ._config import RateLimit

__all__ = ["FixedWindows", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a call may pass, and the headers that go with its answer."""

    allowed: bool
    headers: list[tuple[str, str]]


@dataclass(slots=True)
class _Window:
    end: float
    used: int


class FixedWindows:
    """One fixed window per key; every call in an exhausted window is refused."""

    def __init__(self, limit: RateLimit, now: Callable[[], float]) -> None:
        self._limit = limit
        self._now = now
        self._windows: dict[Hashable, _Window] = {}

    def hit(self, key: Hashable) -> Verdict:
        """Count one call against ``key``'s window."""
        now = self._now()
        window = self._windows.get(key)
        if window is None or now >= window.end:
            window = _Window(now + self._limit.period, 0)
            self._windows[key] = window
        window.used += 1
        reset = str(max(0, math.ceil(window.end - now)))
        limit = str(self._limit.limit)
        if window.used <= self._limit.limit:
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
