"""Paging one query with ``from``/``count``: ahead of need, in order, to a short page.

After a full page, the pages that follow are fetched in parallel and handed on in order,
so a consumer sees a contiguous prefix (which is what makes "pages done" resumable). How
far ahead depends on what is known: one page beyond the next when nothing is, and up to
``ahead`` pages when ``fullResultSize`` says more are coming. That number steers only
speculation; paging stops on a short or empty page, never on ``fullResultSize``
(Tripletex made it inexact in 2026, tripletex-api2#127).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import msgspec

from ._groups import sole_exception

__all__ = ["CapReached", "Page", "PageBudget", "PageList", "scan"]


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

    def take(self) -> list[msgspec.Raw]:
        """Hand the records over; the page keeps none. They point into the response body,
        which is freed once the taker drops them, however long the page lives on."""
        values, self.values = self.values, []
        return values

    def short(self, page_size: int) -> bool:
        """Fewer records than asked for: the last page of its query."""
        return len(self.values) < page_size


class PageBudget:
    """How many pages may be held in memory at once, across the whole run.

    A page takes a unit before its request is sent and gives it back once the sink has
    stored it (or it was dropped). Units are taken in page order by the task that pages a
    query, so the next page any consumer waits for always holds one: no deadlock.
    """

    def __init__(self, pages: int) -> None:
        if pages < 1:
            raise ValueError("a page budget needs at least one page")
        self._semaphore = anyio.Semaphore(pages)

    async def acquire(self) -> None:
        """Wait for room for one more page."""
        await self._semaphore.acquire()

    def try_acquire(self) -> bool:
        """Take room for one more page if there is some, without waiting."""
        try:
            self._semaphore.acquire_nowait()
        except anyio.WouldBlock:
            return False
        return True

    def release(self) -> None:
        """A page left memory."""
        self._semaphore.release()


async def scan(
    fetch: Callable[[int], Awaitable[Page]],
    emit: Callable[[Page], Awaitable[None]],
    budget: PageBudget,
    *,
    start: int,
    page_size: int,
    cap: int,
    ahead: int,
    first: Page | None = None,
) -> None:
    """Fetch pages from ``start`` (``first`` is that page when already fetched) and pass
    each to ``emit`` in order, until a short page.

    Each page holds a unit of ``budget`` (``first`` must hold one already); ``emit`` takes
    over the page's unit. Raises `CapReached` when the page starting at ``cap`` holds
    records (the query matches more than ``cap``).
    Pages beyond a short one are dropped and their requests cancelled.
    """
    pages: dict[int, Page] = {}
    arrived: dict[int, anyio.Event] = {}
    hint = first.full_hint if first is not None else None

    async def fetch_into(offset: int) -> None:
        try:
            pages[offset] = await fetch(offset)
        except BaseException:
            budget.release()
            raise
        arrived[offset].set()

    try:
        async with anyio.create_task_group() as tg:

            def start_fetch(offset: int) -> None:
                arrived[offset] = anyio.Event()
                tg.start_soon(fetch_into, offset)

            if first is None:
                await budget.acquire()
                start_fetch(start)
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
                    pages[position] = page  # its unit is given back below
                    tg.cancel_scope.cancel()
                    raise CapReached
                short = page.short(page_size)
                if not short:
                    # Ask for what follows before handing this page on, so a slow consumer
                    # does not stall the next request; but only with room to spare, since
                    # waiting for room while holding an unhanded page could deadlock.
                    horizon = min(_horizon(position + page_size, page_size, ahead, hint), cap + 1)
                    while scheduled < horizon and budget.try_acquire():
                        start_fetch(scheduled)
                        scheduled += page_size
                await emit(page)  # it may `take` the page's records
                if short:
                    tg.cancel_scope.cancel()
                    return
                position += page_size
                if scheduled == position:
                    # Nothing of this query is held now, so waiting for room is safe.
                    await budget.acquire()
                    start_fetch(position)
                    scheduled += page_size
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
    finally:
        # Pages fetched but never handed on (beyond a short page, or on failure).
        for _ in pages:
            budget.release()


def _horizon(position: int, size: int, ahead: int, hint: int | None) -> int:
    """The offset up to which pages may be requested once ``position`` is next.

    With a ``fullResultSize`` hint, the pages it says hold records (no waste when it is
    right; a hint that is low costs one round trip at the end, never a record). Without
    one, the next page and one beyond.
    """
    guess = max(position + size, hint) if hint else position + 2 * size
    return min(guess, position + ahead * size)
