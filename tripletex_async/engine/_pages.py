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
import msgspec

from ._groups import sole_exception

__all__ = ["UNSEEN_PAGES", "CapReached", "Page", "PageBudget", "PageList", "scan"]

#: A page of a resource not seen yet takes this share of the budget: 1/16th.
UNSEEN_PAGES = 16


class CapReached(Exception):
    """Every page up to the result-set cap was full: the window holds too much."""


class PageList(msgspec.Struct, gc=False):
    """A list envelope whose records stay undecoded: bytes as fetched, split by msgspec."""

    values: list[msgspec.Raw]
    fullResultSize: int | None = None  # noqa: N815 - Tripletex's name
    versionDigest: str | None = None  # noqa: N815


@dataclass(slots=True)
class Page:
    """One fetched page: where it starts and its records, undecoded."""

    offset: int
    values: list[msgspec.Raw]
    full_hint: int | None = None
    digest: str | None = None
    #: Bytes of the page budget the page holds: its records' size as fetched.
    held: int = 0

    def size(self) -> int:
        """The records' size in bytes, as fetched."""
        return sum(len(value) for value in self.values)

    def take(self) -> list[msgspec.Raw]:
        """Hand the records over; the page keeps none. They point into the response body,
        which is freed once the taker drops them, however long the page lives on."""
        values, self.values = self.values, []
        return values

    def short(self, page_size: int) -> bool:
        """Fewer records than asked for: the last page of its query."""
        return len(self.values) < page_size


class PageBudget:
    """How many bytes of fetched records may be held at once, across the whole run.

    Counting bytes rather than pages lets narrow pages (a few fields) run many more
    requests at once than wide ones in the same memory. A page takes an estimate before
    its request is sent (the size of the query's previous page), settles to its real size
    when it arrives (overdrawing if it must, never waiting), and gives that back once the
    sink has stored it (or it was dropped). Waiters are served in order; a request larger
    than the whole budget goes through when nothing else is held. Only a task that holds
    no page of its query waits here, so the page any consumer waits for always holds its
    share: no deadlock.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a page budget needs at least one byte")
        self.limit = limit
        self._held = 0
        self._waiters: deque[tuple[int, anyio.Event]] = deque()

    @property
    def held(self) -> int:
        """Bytes held now (more than the limit after an overdraft)."""
        return self._held

    def _fits(self, size: int) -> bool:
        return self._held + size <= self.limit or self._held <= 0

    async def acquire(self, size: int) -> None:
        """Wait for room for ``size`` more bytes."""
        if not self._waiters and self._fits(size):
            self._held += size
            return
        entry = (size, anyio.Event())
        self._waiters.append(entry)
        try:
            await entry[1].wait()
        except BaseException:
            if entry[1].is_set():  # granted, then cancelled before it resumed
                self.release(size)
            else:
                self._waiters.remove(entry)
                self._wake()
            raise

    def try_acquire(self, size: int) -> bool:
        """Take room for ``size`` more bytes if there is some, without waiting."""
        if self._waiters or not self._fits(size):
            return False
        self._held += size
        return True

    def settle(self, page: Page, taken: int) -> None:
        """``page`` arrived having taken ``taken`` bytes: it now holds its real size."""
        page.held = page.size()
        self._held += page.held - taken
        self._wake()

    def release(self, size: int) -> None:
        """``size`` bytes left memory."""
        self._held -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._fits(self._waiters[0][0]):
            size, event = self._waiters.popleft()
            self._held += size
            event.set()


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
    """Fetch pages from ``start`` (``first`` is that page when already fetched) and pass
    each to ``emit`` in order, until a short page.

    Each page holds its share of ``budget`` (``first`` must hold its own already; a page
    not yet seen takes ``estimate`` bytes, then the previous full page's size); ``emit``
    takes over the page's share (`Page.held`). Raises `CapReached` when the page starting
    at ``cap`` holds records (the query matches more than ``cap``).
    Pages beyond a short one are dropped and their requests cancelled.
    """
    pages: dict[int, Page] = {}
    arrived: dict[int, anyio.Event] = {}
    hint = first.full_hint if first is not None else None

    async def fetch_into(offset: int, taken: int) -> None:
        try:
            page = await fetch(offset)
        except BaseException:
            budget.release(taken)
            raise
        budget.settle(page, taken)
        pages[offset] = page
        arrived[offset].set()

    try:
        async with anyio.create_task_group() as tg:

            def start_fetch(offset: int, taken: int) -> None:
                arrived[offset] = anyio.Event()
                tg.start_soon(fetch_into, offset, taken)

            if first is None:
                await budget.acquire(estimate)
                start_fetch(start, estimate)
            else:
                pages[start] = first
                arrived[start] = anyio.Event()
                arrived[start].set()
            scheduled, position = start + page_size, start
            while True:
                await arrived[position].wait()
                page = pages.pop(position)
                del arrived[position]
                hint = page.full_hint if page.full_hint is not None else hint
                if position >= cap and page.values:
                    # Past the cap: an empty page means exactly `cap` records (fine, and
                    # handed on as the short last page); anything more, too many.
                    pages[position] = page  # its share is given back below
                    tg.cancel_scope.cancel()
                    raise CapReached
                short = page.short(page_size)
                if not short:
                    estimate = page.held
                    # Ask for what follows before handing this page on, so a slow consumer
                    # does not stall the next request; but only with room to spare, since
                    # waiting for room while holding an unhanded page could deadlock.
                    horizon = min(_horizon(position + page_size, page_size, ahead, hint), cap + 1)
                    while scheduled < horizon and budget.try_acquire(estimate):
                        start_fetch(scheduled, estimate)
                        scheduled += page_size
                await emit(page)  # it may `take` the page's records
                if short:
                    tg.cancel_scope.cancel()
                    return
                position += page_size
                if scheduled == position:
                    # Nothing of this query is held now, so waiting for room is safe.
                    await budget.acquire(estimate)
                    start_fetch(position, estimate)
                    scheduled += page_size
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
    finally:
        # Pages fetched but never handed on (beyond a short page, or on failure).
        for dropped in pages.values():
            budget.release(dropped.held)


def _horizon(position: int, size: int, ahead: int, hint: int | None) -> int:
    """The offset up to which pages may be requested once ``position`` is next.

    With a ``fullResultSize`` hint, the pages it says hold records (no waste when it is
    right; a hint that is low costs one round trip at the end, never a record). Without
    one, the next page and one beyond.
    """
    guess = max(position + size, hint) if hint else position + 2 * size
    return min(guess, position + ahead * size)
