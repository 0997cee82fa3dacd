"""Rows per request: where Tripletex's rate budget binds, a request is worth as many rows
as it can carry (10,000, the result-set cap, so a window under the cap costs one request);
where it does not, smaller pages in parallel. Always within the memory budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import anyio
import msgspec
import pytest

from tripletex_async import (
    RESOURCES,
    AdaptiveBudget,
    BudgetSnapshot,
    LoopClock,
    SyncOptions,
    SystemClock,
    sync,
)
from tripletex_async.engine._pages import Page, PageBudget
from tripletex_async.engine._sizing import RowsPerRequest
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTripletex,
    Faults,
    Portfolio,
    PortfolioConfig,
    RateLimit,
    generate_portfolio,
)

from ..client.conftest import MakeClient, observe
from ..expectations import expected, stored

pytestmark = pytest.mark.anyio
POSTINGS = "ledger/posting"
#: Three yearly windows; the portfolio's records are all in 2025.
FROM, TO = date(2024, 1, 1), date(2027, 1, 1)
WINDOWS = 3
#: A window of 2025 holds this many postings: over a page of 1000, under the cap.
ROWS = 3_000


@dataclass
class Recorder:
    """Every posting request's ``count`` and the size of its answer."""

    counts: list[int] = field(default_factory=list)
    bodies: list[int] = field(default_factory=list)

    def note(self, request: FakeRequest, response: FakeResponse) -> None:
        if request.raw_path.endswith(POSTINGS):
            self.counts.append(int(request.params()["count"]))
            self.bodies.append(len(response.body))


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """One company whose 2025 holds `ROWS` postings."""
    config = PortfolioConfig(
        seed=3, companies=1, empty_companies=0, heavy_companies=0, sizes={POSTINGS: ROWS}
    )
    return generate_portfolio(config)


def simulator(
    portfolio: Portfolio, clock: LoopClock, rate_limit: RateLimit | None = None
) -> tuple[FakeTripletex, Recorder]:
    """The simulator (50 ms a request), with a rate budget when given, recording posting
    requests."""
    config = FakeConfig(rate_limit=rate_limit, faults=Faults(latency=0.05))
    fake = FakeTripletex(portfolio, config, clock=clock.now, sleep=anyio.sleep)
    recorder = Recorder()
    observe(fake, answered=recorder.note)
    return fake, recorder


async def run(make_client: MakeClient, fake: FakeTripletex, options: SyncOptions) -> MemorySink:
    sink = MemorySink()
    company = int(fake.portfolio.clients[0]["id"])
    async with make_client(sim=fake) as client:
        report = await sync(
            client, sink, companies=[company], resources=[POSTINGS], date_from=FROM, date_to=TO,
            options=options,
        )  # fmt: skip
    assert report.ok
    assert stored(await sink.read(POSTINGS), company) == expected(fake, company, POSTINGS)
    return sink


#: More calls per rate window than windows to read, but not enough to read them all in
#: parallel pages: the budget binds (judging it ample would spill into the next window).
BINDING = RateLimit(limit=8, period=10)


async def test_a_binding_budget_reads_a_window_under_the_cap_in_one_request(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """Where the rate budget is the limit, each window costs one request."""
    fake, seen = simulator(portfolio, clock, BINDING)
    await run(make_client, fake, SyncOptions())
    assert len(seen.counts) == WINDOWS


async def test_an_ample_budget_reads_in_parallel_pages(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """With no rate limit to respect, a big window is read as pages of 1000 at once
    (latency, not requests, is what costs there)."""
    fake, seen = simulator(portfolio, clock)
    await run(make_client, fake, SyncOptions())
    assert max(seen.counts) <= 1000
    assert len(seen.counts) > WINDOWS


async def test_a_page_size_given_is_kept_under_a_binding_budget(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """``page_size`` set by the caller is what every request asks for."""
    fake, seen = simulator(portfolio, clock, BINDING)
    await run(make_client, fake, SyncOptions(page_size=700))
    assert set(seen.counts) == {700}


async def test_rows_per_request_stay_within_the_memory_budget(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """A small memory budget caps the rows one request may bring: no answer holds more
    than a quarter of it (four such pages fit)."""
    memory = 2 * 1024 * 1024
    fake, seen = simulator(portfolio, clock, BINDING)
    await run(make_client, fake, SyncOptions(max_bytes_in_memory=memory))
    assert max(seen.bodies) <= memory // 4
    assert len(seen.counts) > WINDOWS


async def test_pages_of_unknown_size_are_reserved_at_their_largest(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """With a fixed ``page_size`` of 10,000 and a memory budget of one such page, the
    windows are fetched one at a time: none may come back on top of another's bytes
    (guessing their size low let sixteen come back at once)."""
    fake, _ = simulator(portfolio, clock)
    in_flight = most = 0

    def arrived(request: FakeRequest) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight) if request.raw_path.endswith(POSTINGS) else most

    def answered(request: FakeRequest, response: FakeResponse) -> None:
        nonlocal in_flight
        in_flight -= 1

    observe(fake, arrived=arrived, answered=answered)
    memory = 10_000 * 2_000
    await run(make_client, fake, SyncOptions(page_size=10_000, max_bytes_in_memory=memory))
    assert most == 1


def test_one_wide_record_does_not_shrink_every_later_page() -> None:
    """Bytes per row are the mean over all rows seen, not the widest page's: a last
    page holding one 300 kB order must not cut later requests to a few rows."""
    memory = PageBudget(24 * 1024 * 1024)
    rows = RowsPerRequest(AdaptiveBudget(SystemClock()), memory, cap=10_000)
    order = RESOURCES["order"]
    rows.learn(order, Page(0, [msgspec.Raw(b"x" * 1000)] * 1000, 1000))
    rows.learn(order, Page(1000, [msgspec.Raw(b"x" * 300_000)], 1000))
    assert rows.row_bytes(order) < 1500


async def test_a_rate_limiter_without_ready_still_syncs(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """A limiter written against the protocol before `RateLimiter.ready` existed keeps
    working with rows per request left to the engine."""

    class Unlimited:
        async def acquire(self) -> None:
            return None

        def observe(self, *args: object) -> None:
            return None

        def rate_limited(self, reset: float | None) -> float:
            return 1.0

        def unanswered(self) -> None:
            return None

        def snapshot(self) -> BudgetSnapshot:
            return BudgetSnapshot(None, None, None, None, 0.0)

    fake, _ = simulator(portfolio, clock)
    sink = MemorySink()
    async with make_client(sim=fake, rate_limiter=Unlimited()) as client:
        report = await sync(
            client, sink, companies="all", resources=[POSTINGS], date_from=FROM, date_to=TO
        )
    assert report.ok
