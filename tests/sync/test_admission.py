"""Work already started goes before new work where the rate budget binds: a window over
the result-set cap has its halves asked for in the next rate window, not after every
other company's first requests (which left a heavy company alone at the end of a run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import anyio
import pytest

from tripletex_async import LoopClock, SyncOptions, sync
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTripletex,
    Portfolio,
    PortfolioConfig,
    RateLimit,
    generate_portfolio,
)

from ..client.conftest import MakeClient, basic_user, observe

pytestmark = pytest.mark.anyio
POSTINGS = "ledger/posting"
FROM, TO = date(2024, 1, 1), date(2027, 1, 1)
PERIOD = 10.0
#: Memory for every page at once: only the rate budget holds requests back, as in a
#: portfolio of small companies (else the page budget alone serializes them).
AMPLE_MEMORY = SyncOptions(max_bytes_in_memory=1 << 30)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """Twenty-four companies, one of them with more postings in 2025 than the cap."""
    config = PortfolioConfig(
        seed=5, companies=24, empty_companies=0, heavy_companies=1, heavy_postings=10_500,
        scale=0.02,
    )  # fmt: skip
    return generate_portfolio(config)


@dataclass
class Timeline:
    """When each posting query of the heavy company was asked, and what it got."""

    clock: LoopClock
    company: int
    seen: list[tuple[float, str, int]] = field(default_factory=list)

    def note(self, request: FakeRequest, response: FakeResponse) -> None:
        if not request.raw_path.endswith(POSTINGS) or basic_user(request) != str(self.company):
            return
        query = request.params()
        window = f"{query['dateFrom']}..{query['dateTo']}"
        self.seen.append((self.clock.monotonic(), window, response.status))


async def test_the_halves_of_a_window_over_the_cap_go_in_the_next_rate_window(
    make_client: MakeClient, portfolio: Portfolio, clock: LoopClock
) -> None:
    """The 422 of the heavy company's year is followed within one rate window by its
    halves, though every company's windows wait for the budget."""
    fake = FakeTripletex(
        portfolio,
        FakeConfig(rate_limit=RateLimit(limit=10, period=PERIOD)),
        clock=clock.now,
        sleep=anyio.sleep,
    )
    heavy = max(
        (int(c["id"]) for c in portfolio.clients), key=lambda c: portfolio.count(c, POSTINGS)
    )
    timeline = Timeline(clock, heavy)
    observe(fake, answered=timeline.note)
    async with make_client(sim=fake) as client:
        report = await sync(
            client, MemorySink(), companies="all",
            resources=[POSTINGS, "customer", "order"],
            date_from=FROM, date_to=TO, options=AMPLE_MEMORY,
        )  # fmt: skip
    assert report.ok
    refused = [t for t, _, status in timeline.seen if status == 422]
    assert refused, "the heavy year was not over the cap"
    after = [t for t, _, status in timeline.seen if status == 200 and t > refused[0]]
    assert after[0] - refused[0] <= PERIOD + 1
