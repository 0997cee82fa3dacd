"""Paging one query: in order, ahead of need, to a short page, within the page budget."""

from __future__ import annotations

import random

import anyio
import msgspec
import pytest

from tripletex_async.engine._pages import CapReached, Page, PageBudget, Readahead, Share, scan

pytestmark = pytest.mark.anyio
SIZE = 10
#: Budget bytes a page of `Source` is assumed to hold before one has arrived (its
#: records are "0".."99": 10 to 20 bytes a page).
PAGE = 20


class Source:
    """A query of ``total`` records answering after a random short delay."""

    def __init__(self, total: int, *, hint: int | None = None, seed: int = 0, pad: int = 0) -> None:
        self.total, self.hint, self.pad = total, hint, b" " * pad
        self.asked: list[int] = []
        self.in_flight = self.most_in_flight = 0
        self.rng = random.Random(seed)

    async def fetch(self, offset: int) -> Page:
        self.asked.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.rng.random() / 100)
        finally:
            self.in_flight -= 1
        end = min(offset + SIZE, self.total)
        values = [msgspec.Raw(b"%d%s" % (i, self.pad)) for i in range(offset, end)]
        return Page(offset, values, SIZE, self.hint)


async def collect(source: Source, budget: PageBudget, **kwargs: int) -> list[int]:
    seen: list[int] = []

    async def emit(page: Page) -> None:
        seen.extend(int(bytes(v)) for v in page.values)
        page.release()

    options = {"start": 0, "page_size": SIZE, "cap": 10_000, "ahead": 4, "estimate": PAGE}
    options |= kwargs
    await scan(source.fetch, emit, budget, **options)
    return seen


@pytest.mark.parametrize("total", [0, 5, 10, 95, 100])
async def test_records_come_out_in_order_up_to_the_short_page(total: int) -> None:
    """Whatever order pages arrive in, records are handed on in order, each once."""
    source = Source(total, hint=total, seed=total)
    assert await collect(source, PageBudget(8 * PAGE)) == list(range(total))


async def test_an_exact_hint_wastes_no_request() -> None:
    """With a right fullResultSize, no page beyond the last is requested."""
    source = Source(95, hint=95)
    await collect(source, PageBudget(8 * PAGE))
    assert sorted(source.asked) == list(range(0, 100, SIZE))


async def test_a_wrong_hint_never_loses_records() -> None:
    """A fullResultSize far too small still pages to the end."""
    assert await collect(Source(95, hint=3), PageBudget(8 * PAGE)) == list(range(95))


async def test_without_hint_at_most_one_page_is_wasted() -> None:
    """With no hint, speculation stays one page beyond the next."""
    source = Source(95)
    await collect(source, PageBudget(8 * PAGE))
    assert len(source.asked) <= 11


async def test_full_pages_up_to_the_cap_raise_cap_reached() -> None:
    """A query whose pages are full up to the cap needs splitting."""
    with pytest.raises(CapReached):
        await collect(Source(100, hint=100), PageBudget(8 * PAGE), cap=50)


async def test_every_budget_byte_comes_back() -> None:
    """After a scan, dropped and failed pages have returned their share of the budget."""
    budget = PageBudget(3 * PAGE)
    with pytest.raises(CapReached):
        await collect(Source(100, hint=100), budget, cap=50)
    assert budget.held == 0


async def test_a_budget_smaller_than_a_page_still_finishes() -> None:
    """One byte of budget (one page at a time) is slow but cannot deadlock."""
    assert await collect(Source(45, hint=45), PageBudget(1)) == list(range(45))


async def test_small_pages_run_more_requests_at_once_in_the_same_budget() -> None:
    """The budget counts bytes: after the first page shows how big pages are, pages a
    tenth the size are fetched ahead many at a time, pages as big as the budget's
    quarter four at most."""
    big, small = Source(400, hint=400, pad=PAGE // 2), Source(400, hint=400)
    page_bytes = SIZE * (2 + PAGE // 2)
    for source in (big, small):
        budget = PageBudget(4 * page_bytes)
        await collect(source, budget, ahead=40, estimate=page_bytes)
        assert budget.held == 0
    assert big.most_in_flight <= 4
    assert small.most_in_flight > 8


async def test_exactly_cap_records_is_not_too_many() -> None:
    """A query matching exactly `cap` records pages to the end without CapReached."""
    budget = PageBudget(8 * PAGE)
    assert await collect(Source(50, hint=50), budget, cap=50) == list(range(50))
    assert budget.held == 0


async def test_an_emit_that_takes_the_records_still_pages_to_the_end() -> None:
    """The consumer may `take` a page's records (freeing the response body early): the
    scan decides whether the page was the last one before handing it on."""
    source, budget, seen = Source(95, hint=95), PageBudget(4 * PAGE), list[int]()

    async def emit(page: Page) -> None:
        seen.extend(int(bytes(v)) for v in page.take())
        assert page.values == []
        page.release()

    await scan(
        source.fetch, emit, budget, start=0, page_size=SIZE, cap=10_000, ahead=4, estimate=PAGE
    )
    assert seen == list(range(95))


# -- the budget itself ------------------------------------------------------------------


async def test_a_request_larger_than_the_budget_goes_through_when_nothing_is_held() -> None:
    """No page waits forever: one bigger than the whole budget proceeds alone."""
    budget = PageBudget(10)
    share = await budget.acquire(25)
    assert budget.held == 25
    assert budget.try_acquire(1) is None
    share.release()
    assert budget.try_acquire(10) is not None


async def test_waiters_are_served_in_order() -> None:
    """A large request that waits is not overtaken by small ones arriving after it."""
    budget, order, shares = PageBudget(10), list[str](), dict[str, Share]()
    first = await budget.acquire(8)

    async def take(name: str, size: int) -> None:
        shares[name] = await budget.acquire(size)
        order.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "large", 9)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(take, "small", 2)
        await anyio.wait_all_tasks_blocked()
        assert order == []  # 2 bytes would fit, but "large" is first in line
        first.release()
        await anyio.wait_all_tasks_blocked()
        assert order == ["large"]  # and now "small" does not fit beside it
        shares["large"].release()
    assert order == ["large", "small"]
    assert budget.held == 2


async def test_a_cancelled_waiter_holds_nothing_and_lets_the_next_one_in() -> None:
    """Cancelling a waiting request leaves no bytes taken and unblocks those behind it."""
    budget, got, waiting = PageBudget(10), list[int](), anyio.CancelScope()
    await budget.acquire(6)

    async def take(size: int) -> None:
        await budget.acquire(size)
        got.append(size)

    async def take_cancellable(size: int) -> None:
        with waiting:
            await take(size)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take_cancellable, 8)  # waits: 6 + 8 > 10
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(take, 3)
        await anyio.wait_all_tasks_blocked()
        assert got == []  # 3 would fit, but it is in line behind the 8
        waiting.cancel()
    assert got == [3]
    assert budget.held == 9


async def test_a_page_that_arrives_bigger_than_its_estimate_overdraws() -> None:
    """A page settles to its real size without waiting; new requests wait until the
    budget is back under its limit."""
    budget = PageBudget(100)
    share = await budget.acquire(40)
    share.settle(150)
    assert (share.size, budget.held) == (150, 150)
    assert budget.try_acquire(1) is None
    share.release()
    assert budget.try_acquire(100) is not None


async def test_a_share_is_released_once_however_often_it_is_given_back() -> None:
    """Every path that drops a page may release its share: the bytes go back once."""
    budget = PageBudget(100)
    share, other = await budget.acquire(30), await budget.acquire(20)
    share.release()
    share.release()
    assert budget.held == 20
    other.release()
    assert budget.held == 0


async def test_a_released_share_cannot_be_settled() -> None:
    """Settling after the release would hold bytes nobody gives back: it raises."""
    budget = PageBudget(100)
    share = await budget.acquire(30)
    share.release()
    with pytest.raises(RuntimeError, match="released"):
        share.settle(50)
    assert budget.held == 0


async def test_negative_sizes_are_refused() -> None:
    """A negative share would let everything through; it is an error, not a credit."""
    budget = PageBudget(100)
    with pytest.raises(ValueError, match="-1"):
        await budget.acquire(-1)
    with pytest.raises(ValueError, match="-1"):
        budget.try_acquire(-1)
    share = await budget.acquire(10)
    with pytest.raises(ValueError, match="-5"):
        share.settle(-5)


async def test_a_share_used_as_a_context_is_released_at_its_end() -> None:
    """``async with share:`` gives the bytes back however the block ends."""
    budget = PageBudget(100)
    share = await budget.acquire(30)
    with pytest.raises(KeyError):
        async with share:
            raise KeyError
    assert share.released
    assert budget.held == 0


async def test_a_failing_consumer_gets_every_page_back_to_the_budget() -> None:
    """When ``emit`` fails, the page it was given and every page fetched ahead come back."""
    budget = PageBudget(8 * PAGE)

    async def emit(page: Page) -> None:
        if page.offset == 3 * SIZE:
            raise KeyError(page.offset)
        page.release()

    with pytest.raises(KeyError):
        await scan(
            Source(95, hint=95).fetch, emit, budget, start=0, page_size=SIZE, cap=10_000,
            ahead=4, estimate=PAGE,
        )  # fmt: skip
    assert budget.held == 0


# -- the read-ahead state, without I/O -------------------------------------------------


def full_page(offset: int) -> Page:
    return Page(offset, [msgspec.Raw(b"1")] * SIZE, SIZE)


@pytest.mark.parametrize(("hint", "ahead"), [(None, [10, 20]), (95, [10, 20, 30, 40]), (15, [10])])
async def test_read_ahead_reaches_as_far_as_the_hint_says_within_its_limit(
    hint: int | None, ahead: list[int]
) -> None:
    """After a full first page: one page beyond the next without a hint; with one, the
    pages it says hold records, at most ``ahead`` of them."""
    state = Readahead(page_size=SIZE, cap=10_000, ahead=4, next=0, requested=0)
    assert state.request() == 0
    page = full_page(0)
    page.full_hint = hint
    assert state.arrived(page) is False
    asked = []
    while state.may_request_ahead():
        asked.append(state.request())
    assert asked == ahead


async def test_read_ahead_may_wait_for_budget_only_when_nothing_is_requested() -> None:
    """`advance` says when no page of the query is in flight, so waiting cannot deadlock."""
    state = Readahead(page_size=SIZE, cap=10_000, ahead=4, next=0, requested=0)
    state.request()
    state.request()
    assert state.advance() is False  # page 10 is still coming
    assert state.advance() is True


async def test_read_ahead_refuses_a_page_past_the_cap_that_holds_records() -> None:
    """The page at the cap must be empty; one with records means the query is too big."""
    state = Readahead(page_size=SIZE, cap=20, ahead=4, next=20, requested=30)
    assert state.arrived(Page(20, [], SIZE)) is True
    with pytest.raises(CapReached):
        state.arrived(full_page(20))
