"""Paging one query: in order, ahead of need, to a short page, within the page budget."""

from __future__ import annotations

import random

import anyio
import msgspec
import pytest

from tripletex_async._pages import CapReached, Page, PageBudget, scan

pytestmark = pytest.mark.anyio
SIZE = 10


class Source:
    """A query of ``total`` records answering after a random short delay."""

    def __init__(self, total: int, *, hint: int | None = None, seed: int = 0) -> None:
        self.total, self.hint = total, hint
        self.asked: list[int] = []
        self.rng = random.Random(seed)

    async def fetch(self, offset: int) -> Page:
        self.asked.append(offset)
        await anyio.sleep(self.rng.random() / 100)
        values = [msgspec.Raw(b"%d" % i) for i in range(offset, min(offset + SIZE, self.total))]
        return Page(offset, values, self.hint)


async def collect(source: Source, budget: PageBudget, **kwargs: int) -> list[int]:
    seen: list[int] = []

    async def emit(page: Page) -> None:
        seen.extend(int(bytes(v)) for v in page.values)
        budget.release()

    options = {"start": 0, "page_size": SIZE, "cap": 10_000, "ahead": 4, **kwargs}
    await scan(source.fetch, emit, budget, **options)
    return seen


@pytest.mark.parametrize("total", [0, 5, 10, 95, 100])
async def test_records_come_out_in_order_up_to_the_short_page(total: int) -> None:
    """Whatever order pages arrive in, records are handed on in order, each once."""
    source = Source(total, hint=total, seed=total)
    assert await collect(source, PageBudget(8)) == list(range(total))


async def test_an_exact_hint_wastes_no_request() -> None:
    """With a right fullResultSize, no page beyond the last is requested."""
    source = Source(95, hint=95)
    await collect(source, PageBudget(8))
    assert sorted(source.asked) == list(range(0, 100, SIZE))


async def test_a_wrong_hint_never_loses_records() -> None:
    """A fullResultSize far too small still pages to the end."""
    assert await collect(Source(95, hint=3), PageBudget(8)) == list(range(95))


async def test_without_hint_at_most_one_page_is_wasted() -> None:
    """With no hint, speculation stays one page beyond the next."""
    source = Source(95)
    await collect(source, PageBudget(8))
    assert len(source.asked) <= 11


async def test_full_pages_up_to_the_cap_raise_cap_reached() -> None:
    """A query whose pages are full up to the cap needs splitting."""
    with pytest.raises(CapReached):
        await collect(Source(100, hint=100), PageBudget(8), cap=50)


async def test_every_budget_unit_comes_back() -> None:
    """After a scan, dropped and failed pages have returned their budget units."""
    budget = PageBudget(3)
    with pytest.raises(CapReached):
        await collect(Source(100, hint=100), budget, cap=50)
    for _ in range(3):
        assert budget.try_acquire()
    assert not budget.try_acquire()


async def test_a_budget_of_one_page_still_finishes() -> None:
    """One unit of memory is slow but cannot deadlock."""
    assert await collect(Source(45, hint=45), PageBudget(1)) == list(range(45))


async def test_exactly_cap_records_is_not_too_many() -> None:
    """A query matching exactly `cap` records pages to the end without CapReached."""
    budget = PageBudget(8)
    assert await collect(Source(50, hint=50), budget, cap=50) == list(range(50))
    for _ in range(8):
        assert budget.try_acquire()


async def test_an_emit_that_takes_the_records_still_pages_to_the_end() -> None:
    """The consumer may `take` a page's records (freeing the response body early): the
    scan decides whether the page was the last one before handing it on."""
    source, budget, seen = Source(95, hint=95), PageBudget(4), list[int]()

    async def emit(page: Page) -> None:
        seen.extend(int(bytes(v)) for v in page.take())
        assert page.values == []
        budget.release()

    await scan(source.fetch, emit, budget, start=0, page_size=SIZE, cap=10_000, ahead=4)
    assert seen == list(range(95))
