"""The shared rate budget: learned from headers, no 429 once learned, fair, reported."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from tripletex_async import Limits, SystemClock, TripletexClient
from tripletex_async.testing import FakeConfig, FakeTripletex, Faults, RateLimit

from ..sinks.test_leases import InstantClock
from .conftest import MakeClient, client_id, sibling

pytestmark = pytest.mark.anyio


def _limited(
    fake: FakeTripletex, limit: int, period: float, latency: float = 0.0, **kw: Any
) -> FakeTripletex:
    config = FakeConfig(rate_limit=RateLimit(limit, period, **kw), faults=Faults(latency=latency))
    return sibling(fake, config)


async def _hammer(client: TripletexClient, company: int, n: int, workers: int = 16) -> None:
    send, receive = anyio.create_memory_object_stream[int](n)
    for i in range(n):
        send.send_nowait(i)
    send.close()

    async def worker() -> None:
        async for _ in receive:
            await client.company(company).get_list("/customer", dict[str, Any])

    with receive:
        async with anyio.create_task_group() as tg:
            for _ in range(workers):
                tg.start_soon(worker)


async def test_long_run_gets_no_429_once_the_budget_is_learned(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Under 20 calls per 10 s, 300 calls from 16 workers meet no 429 at all."""
    limited = _limited(fake, 20, 10, reset_header_on_429=True)
    async with make_client(sim=limited) as client:
        started = anyio.current_time()
        await _hammer(client, client_id(fake), 300)
        elapsed = anyio.current_time() - started
        budget = client.statistics().budget
    assert limited.statistics().rate_limited == 0
    assert (budget.limit, budget.period) == (20, 10.0)
    # 301 calls (with :create) need at least 15 windows; the budget wastes little.
    assert elapsed < 16 * 10 * 1.05


@pytest.mark.parametrize("reset_header_on_429", [True, False])
async def test_each_window_is_spent_at_once_not_spread_over_it(
    make_client: MakeClient, fake: FakeTripletex, reset_header_on_429: bool
) -> None:
    """Three windows' worth of calls (20 per 10 s, 60 with the session's) end as the
    third window opens: what a window allows goes at once, and no 429 is met. Spread
    evenly over each window, the same calls would take three whole windows."""
    limited = _limited(fake, 20, 10, latency=0.05, reset_header_on_429=reset_header_on_429)
    async with make_client(sim=limited, limits=Limits(max_in_flight=64, per_company=64)) as client:
        started = anyio.current_time()
        await _hammer(client, client_id(fake), 59, workers=32)
        elapsed = anyio.current_time() - started
    assert limited.statistics().rate_limited == 0
    assert 20 <= elapsed < 21


async def test_429_without_reset_header_still_completes_and_is_counted(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """When 429s carry no reset header (api2#103) the run completes; 429s are reported.
    Two clients on the same tokens (two processes, say) share the window without knowing
    of each other: some 429s are inevitable."""
    limited = _limited(fake, 10, 10, latency=1.0)
    limits = Limits(max_in_flight=64, per_company=64)
    async with (
        make_client(sim=limited, limits=limits) as client,
        make_client(sim=limited, limits=limits) as other,
    ):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_hammer, client, client_id(fake), 30, 15)
            tg.start_soon(_hammer, other, client_id(fake), 30, 15)
        seen = client.statistics().rate_limited + other.statistics().rate_limited
    assert limited.statistics().rate_limited > 0
    assert seen == limited.statistics().rate_limited


async def test_two_connections_have_separate_budgets(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Each employee token has its own budget: one exhausted does not hold the other."""
    limited = _limited(fake, 5, 10)
    company = client_id(fake)
    other = limited.company_credentials(company)
    async with make_client(sim=limited) as client:
        saas = client.connect(employee_token=other.employee_token)
        for _ in range(4):
            await client.company(company).get_list("/customer", dict[str, Any])
        started = anyio.current_time()
        await saas.get_list("/customer", dict[str, Any])
        assert anyio.current_time() - started < 1
        assert saas.connection is not client.connection
        assert saas.statistics().sessions_created == 1


async def test_small_company_is_not_starved_by_a_big_one(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """With 200 calls of company A queued, company B's one call is served early."""
    limited = _limited(fake, 10, 1)
    a, b = client_id(fake, 0), client_id(fake, 1)
    order: list[str] = []
    async with make_client(sim=limited, limits=Limits(max_in_flight=8, per_company=4)) as client:
        await client.who_am_i()

        async def call(name: str, company: int) -> None:
            await client.company(company).get_list("/customer", dict[str, Any])
            order.append(name)

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(call, "a", a)
            await anyio.lowlevel.checkpoint()
            tg.start_soon(call, "b", b)
    assert order.index("b") < 20


async def test_a_late_answer_of_the_last_window_does_not_open_the_next_one_twice() -> None:
    """An answer sent before a window ended but received after it says little time is
    left: the budget must not take it for a new window (and then a third one), which
    would spend the next window twice and meet 429s."""
    from tripletex_async import AdaptiveBudget

    clock = _ManualClock()
    budget = AdaptiveBudget(clock)
    budget.observe(10, 9, 10, in_flight=0)  # the first answer: 9 left, 10 s to go
    for _ in range(9):
        await budget.acquire()
    clock.now_seconds = 10.5  # the window ended
    for _ in range(10):
        await budget.acquire()  # the new window's ten calls
    budget.observe(10, 0, 0, in_flight=10)  # late: from the old window, "0 s left"
    assert budget.snapshot().reset_in is None or budget.snapshot().reset_in > 0
    with anyio.move_on_after(1) as scope:
        await budget.acquire()  # an eleventh call must wait for the next window
    assert scope.cancelled_caught


async def test_calls_still_under_way_spend_what_an_answer_says_is_left() -> None:
    """``in_flight`` is the calls sent and not answered besides the one answered (the
    connection counts it out before observing): with 8 left and 8 others under way, the
    window is spent. Allowing one more was a 429 at the end of busy windows."""
    from tripletex_async import AdaptiveBudget

    clock = _ManualClock()
    budget = AdaptiveBudget(clock)
    budget.observe(100, 8, 6, in_flight=8)
    with anyio.move_on_after(1) as scope:
        await budget.acquire()
    assert scope.cancelled_caught


async def test_a_spent_window_without_a_limit_header_ends_and_calls_go_again() -> None:
    """``Remaining: 0`` with a reset but no (or a zero) ``X-Rate-Limit-Limit``: once the
    window ends, a call goes (it used to back off for ever, tokens stuck at 0)."""
    from tripletex_async import AdaptiveBudget

    clock = _ManualClock()
    budget = AdaptiveBudget(clock)
    budget.observe(None, 0, 6, in_flight=0)
    clock.now_seconds = 7.0
    with anyio.fail_after(1):
        await budget.acquire()


class _ManualClock(SystemClock):
    """Time moves only when the test says (sleeps wait on the loop's own clock)."""

    def __init__(self) -> None:
        self.now_seconds = 0.0

    def monotonic(self) -> float:
        return self.now_seconds


async def test_after_a_429_without_a_reset_header_a_call_probes_once_the_backoff_ends() -> None:
    """A 429 without ``X-Rate-Limit-Reset`` (tripletex-api2#103) while no window end is
    known: after the backoff one call goes to find out. It used to back off for ever
    (tokens stuck at 0, and nothing sent that could tell it more)."""
    from tripletex_async import AdaptiveBudget

    clock = InstantClock()  # sleeps take no time: a backoff loop spins
    budget = AdaptiveBudget(clock)
    budget.observe(10, 5, None, in_flight=0)  # the limit, and no window end
    budget.rate_limited(None)
    with anyio.fail_after(2):  # real seconds; the clock's own time jumps with each sleep
        await budget.acquire()
    assert clock.now_seconds > 0  # it did back off first
