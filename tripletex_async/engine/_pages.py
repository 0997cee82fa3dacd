"""Paging one query with ``from``/``count``: ahead of need, in order, to a short page.

After a full page, the pages that follow are fetched in parallel and handed on in order,
so a consumer sees a contiguous prefix (which is what makes "pages done" resumable). How
far ahead depends on what is known: one page beyond the next when nothing is, and up to
``ahead`` pages when ``fullResultSize`` says more are coming. That number steers only
speculation; paging stops on a short or empty page, never on ``fullResultSize``
(Tripletex made it inexact in 2026, tripletex-api2#127).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import anyio.abc
import msgspec

from ._groups import first_error

__all__ = [
    "UNSEEN_PAGES",
    "CapReached",
    "Page",
    "PageBudget",
    "Readahead",
    "Share",
    "fetch_held",
    "scan",
]

#: A page of a resource not seen yet takes this share of the budget: 1/16th.
UNSEEN_PAGES = 16


class CapReached(Exception):
    """Every page up to the result-set cap was full: the window holds too much."""


class Share:
    """Bytes of a `PageBudget` one page holds, from before its request until it is stored.

    Made by `PageBudget.acquire`; whoever holds the page holds its share and gives it back
    with `release` (idempotent: every path that drops a page may call it), or leaves it to
    ``async with share:``. A released share cannot be settled again.
    """

    __slots__ = ("_budget", "_released", "_size")

    def __init__(self, budget: PageBudget, size: int) -> None:
        self._budget = budget
        self._size = size
        self._released = False

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return f"<Share {self._size} bytes, {state}>"

    @property
    def size(self) -> int:
        """Bytes held (after `release`, what was held last)."""
        return self._size

    @property
    def released(self) -> bool:
        """Whether the bytes went back to the budget."""
        return self._released

    def settle(self, size: int) -> None:
        """Hold ``size`` bytes instead: the page arrived and its real size is known. Never
        waits: a page bigger than its estimate overdraws the budget until it is stored."""
        if self._released:
            raise RuntimeError(f"{self!r} cannot be settled: it was released")
        if size < 0:
            raise ValueError(f"a share cannot hold {size} bytes")
        self._budget._change(size - self._size)
        self._size = size

    def release(self) -> None:
        """Give the bytes back (once; later calls do nothing)."""
        if not self._released:
            self._released = True
            self._budget._change(-self._size)

    async def __aenter__(self) -> Share:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()


class PageBudget:
    """How many bytes of fetched records may be held at once, across the whole run.

    Counting bytes rather than pages lets narrow pages (a few fields) run many more
    requests at once than wide ones in the same memory. A page takes a `Share` of an
    estimate before its request is sent (the size of the query's previous page), settles
    it to its real size when it arrives (overdrawing if it must, never waiting), and gives
    it back once the sink has stored it (or it was dropped). Waiters are served in order;
    a request larger than the whole budget goes through when nothing else is held. Only a
    task that holds no page of its query waits here, so the page any consumer waits for
    always holds its share: no deadlock.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a page budget needs at least one byte")
        self.limit = limit
        self._held = 0
        self._waiters: deque[tuple[int, anyio.Event]] = deque()

    def __repr__(self) -> str:
        return f"<PageBudget {self._held} of {self.limit} bytes held>"

    @property
    def held(self) -> int:
        """Bytes held now (more than the limit after an overdraft)."""
        return self._held

    async def acquire(self, size: int) -> Share:
        """A share of ``size`` bytes, once there is room for it."""
        _check(size)
        if not self._waiters and self._fits(size):
            return self._grant(size)
        entry = (size, anyio.Event())
        self._waiters.append(entry)
        try:
            await entry[1].wait()
        except BaseException:
            if entry[1].is_set():  # granted, then cancelled before it resumed
                self._change(-size)
            else:
                self._waiters.remove(entry)
                self._wake()
            raise
        return Share(self, size)

    def try_acquire(self, size: int) -> Share | None:
        """A share of ``size`` bytes if there is room now, else ``None``."""
        _check(size)
        if self._waiters or not self._fits(size):
            return None
        return self._grant(size)

    def _grant(self, size: int) -> Share:
        self._held += size
        return Share(self, size)

    def _fits(self, size: int) -> bool:
        return self._held + size <= self.limit or self._held <= 0

    def _change(self, delta: int) -> None:
        self._held += delta
        if delta < 0:
            self._wake()

    def _wake(self) -> None:
        while self._waiters and self._fits(self._waiters[0][0]):
            size, event = self._waiters.popleft()
            self._held += size
            event.set()


def _check(size: int) -> None:
    if size < 0:
        raise ValueError(f"cannot acquire {size} bytes")


@dataclass(slots=True)
class Page:
    """One fetched page: where it starts and its records, undecoded."""

    offset: int
    values: list[msgspec.Raw]
    #: Records asked for (``count``): fewer means the last page.
    asked: int
    full_hint: int | None = None
    digest: str | None = None
    #: The page budget's bytes the page holds (its records' size as fetched); `None` for
    #: a page made outside a budget.
    share: Share | None = None

    @property
    def held(self) -> int:
        """Bytes of the page budget the page holds."""
        return 0 if self.share is None else self.share.size

    def size(self) -> int:
        """The records' size in bytes, as fetched."""
        return sum(len(value) for value in self.values)

    def take(self) -> list[msgspec.Raw]:
        """Hand the records over; the page keeps none. They point into the response body,
        which is freed once the taker drops them, however long the page lives on."""
        values, self.values = self.values, []
        return values

    def short(self) -> bool:
        """Fewer records than asked for: the last page of its query."""
        return len(self.values) < self.asked

    def release(self) -> None:
        """Give the page's budget share back (idempotent)."""
        if self.share is not None:
            self.share.release()


async def fetch_held(share: Share, fetch: Callable[[], Awaitable[Page | None]]) -> Page | None:
    """``fetch`` a page that is to hold ``share``: settled to the page's size when it
    comes, released when none does (an error, a 304)."""
    try:
        page = await fetch()
    except BaseException:
        share.release()
        raise
    if page is None:
        share.release()
        return None
    share.settle(page.size())
    page.share = share
    return page


@dataclass(slots=True)
class Readahead:
    """Where the paging of one query stands, and what it may ask for next: pure state,
    no I/O (`scan` does that around it).

    Pages are requested ahead of ``next`` (the offset to hand on next), up to a horizon
    that ``fullResultSize`` steers, and handed on strictly in order.
    """

    page_size: int
    cap: int
    ahead: int
    #: The offset of the page to hand on next.
    next: int
    #: The first offset not requested yet.
    requested: int
    hint: int | None = None

    def request(self) -> int:
        """The offset to request now (it counts as requested)."""
        offset, self.requested = self.requested, self.requested + self.page_size
        return offset

    def arrived(self, page: Page) -> bool:
        """Take in the next page; whether it is the last. Raises `CapReached` for a page
        past the cap that holds records."""
        if page.full_hint is not None:
            self.hint = page.full_hint
        if page.offset >= self.cap and page.values:
            # Past the cap: an empty page means exactly `cap` records (fine, and handed
            # on as the short last page); anything more, too many.
            raise CapReached
        return page.short()

    def may_request_ahead(self) -> bool:
        """Whether one more page beyond ``next`` is worth requesting now."""
        horizon = _horizon(self.next + self.page_size, self.page_size, self.ahead, self.hint)
        return self.requested < min(horizon, self.cap + 1)

    def advance(self) -> bool:
        """Move past the page handed on; whether nothing of the query is requested now
        (then the next request may wait for budget: no unhanded page is held)."""
        self.next += self.page_size
        return self.requested == self.next


class _InFlight:
    """The pages of one query requested and not yet handed on; owns their shares."""

    def __init__(self, fetch: Callable[[int], Awaitable[Page]]) -> None:
        self._fetch = fetch
        self._pages: dict[int, Page] = {}
        self._arrived: dict[int, anyio.Event] = {}

    def start(self, tg: anyio.abc.TaskGroup, offset: int, share: Share) -> None:
        self._arrived[offset] = anyio.Event()
        tg.start_soon(self._run, offset, share)

    def put(self, page: Page) -> None:
        self._pages[page.offset] = page
        self._arrived[page.offset] = anyio.Event()
        self._arrived[page.offset].set()

    async def _run(self, offset: int, share: Share) -> None:
        page = await fetch_held(share, lambda: self._fetch(offset))
        assert page is not None  # `fetch` always gives a page
        self._pages[offset] = page
        self._arrived[offset].set()

    async def take(self, offset: int) -> Page:
        """The page at ``offset``, once it arrived; the caller owns it from now on."""
        await self._arrived[offset].wait()
        del self._arrived[offset]
        return self._pages.pop(offset)

    def drop_all(self) -> None:
        """Release what was fetched but never handed on (beyond a short page, on failure)."""
        for page in self._pages.values():
            page.release()
        self._pages.clear()


async def scan(
    fetch: Callable[[int], Awaitable[Page]],
    emit: Callable[[Page], Awaitable[None]],
    budget: PageBudget,
    *,
    start: int,
    page_size: int,
    cap: int,
    ahead: int,
    estimate: int,
    first: Page | None = None,
) -> None:
    """Fetch pages from ``start`` (``first`` is that page when already fetched, holding
    its share) and pass each to ``emit`` in order, until a short page.

    A page not yet seen takes a share of ``estimate`` bytes, then of the previous full
    page's size. ``emit`` takes the page and its share over (if it raises, the share is
    released here). Raises `CapReached` when the page starting at ``cap`` holds records
    (the query matches more than ``cap``). Pages beyond a short one are dropped and their
    requests cancelled.
    """
    state = Readahead(page_size, cap, ahead, next=start, requested=start)
    pages = _InFlight(fetch)
    try:
        async with anyio.create_task_group() as tg:
            if first is None:
                pages.start(tg, state.request(), await budget.acquire(estimate))
            else:
                pages.put(first)
                state.request()
            while True:
                page = await pages.take(state.next)
                try:
                    last = state.arrived(page)
                    if not last:
                        estimate = page.held
                        # Ask for what follows before handing this page on, so a slow
                        # consumer does not stall the next request; but only with room to
                        # spare: waiting while holding an unhanded page could deadlock.
                        while state.may_request_ahead():
                            share = budget.try_acquire(estimate)
                            if share is None:
                                break
                            pages.start(tg, state.request(), share)
                    await emit(page)
                except BaseException:
                    page.release()
                    raise
                if last:
                    tg.cancel_scope.cancel()
                    return
                if state.advance():
                    pages.start(tg, state.request(), await budget.acquire(estimate))
    except BaseExceptionGroup as group:
        # Several pages of the query may fail at once (a spent request budget, an
        # outage): the window fails once, with the first error.
        raise first_error(group) from None
    finally:
        pages.drop_all()


def _horizon(position: int, size: int, ahead: int, hint: int | None) -> int:
    """The offset up to which pages may be requested once ``position`` is next.

    With a ``fullResultSize`` hint, the pages it says hold records (no waste when it is
    right; a hint that is low costs one round trip at the end, never a record). Without
    one, the next page and one beyond.
    """
    guess = max(position + size, hint) if hint else position + 2 * size
    return min(guess, position + ahead * size)
