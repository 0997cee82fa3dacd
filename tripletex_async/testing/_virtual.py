"""An asyncio event loop with virtual time, for tests of time-based behaviour.

Whenever the loop has nothing ready to run and would sleep until its next timer, it jumps
its clock to that timer instead. Session expiry at midnight, backoff and rate windows then
play out in microseconds, deterministically. Use it only where all I/O is in-process (the
`FakeTransport`): a wait on a real socket with a timer pending would be skipped over.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

__all__ = ["VirtualTimeEventLoop"]


class _JumpingSelector(selectors.BaseSelector):
    """Delegates to a real selector, but turns idle waits into clock jumps."""

    def __init__(self) -> None:
        self._inner = selectors.DefaultSelector()
        self.now = 0.0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        # Every loop iteration costs a little time, as on a real clock. Without it, a timer
        # that re-arms itself "now" (aiolimiter does, on float round-off) spins forever.
        self.now += 1e-7
        events = self._inner.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            # Nothing scheduled at all: only real I/O (another thread) can wake us.
            return self._inner.select(None)
        # Jump at least a microsecond: a timer set a few ulps ahead (aiolimiter recomputes
        # its wake-up with float error) must not leave the clock where it is forever.
        self.now += max(timeout, 1e-6)
        return []

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Any:
        return self._inner.get_map()


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` advances only by jumping to timers."""

    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        """Virtual seconds since the loop was made."""
        return self._jumping.now
