"""The sync engine over real loopback sockets with faults on: the acceptance portfolio.

Twenty client companies, one of them empty and one with 25,000 postings in a year (more
than the 10,000-row cap, so its windows must split), ``fullResultSize`` inexact, and 500s,
503s, dropped connections, truncated bodies and dying sessions thrown in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tripletex_async import RetryPolicy, TripletexClient, sync
from tripletex_async.engine._resources import DEFAULT_RESOURCES
from tripletex_async.sinks import SQLiteSink
from tripletex_async.testing import (
    FakeConfig,
    FakeTripletex,
    Faults,
    FullResultSize,
    Portfolio,
    PortfolioConfig,
    generate_portfolio,
    serve,
)

from ..expectations import FROM, TO, expected, stored

pytestmark = pytest.mark.anyio
ALL = list(DEFAULT_RESOURCES)
FAULTS = Faults(
    seed=5, error_500=0.02, error_503=0.01, drop=0.01, truncate=0.01, session_death=0.003
)
FAST_RETRIES = RetryPolicy(attempts=8, base=0.005, cap=0.05)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """20 companies: one empty, one with 25,000 postings in 2025."""
    return generate_portfolio(
        PortfolioConfig(
            seed=3,
            companies=20,
            scale=0.05,
            empty_companies=1,
            heavy_companies=1,
            heavy_postings=25_000,
        )
    )


@pytest.fixture
def fake(portfolio: Portfolio) -> FakeTripletex:
    """The simulator with faults and an inexact fullResultSize."""
    config = FakeConfig(faults=FAULTS, full_result_size=FullResultSize.INEXACT)
    return FakeTripletex(portfolio, config)


@asynccontextmanager
async def client_for(fake: FakeTripletex) -> AsyncIterator[TripletexClient]:
    async with serve(fake.handle) as server:
        client = TripletexClient(
            fake.credentials.consumer_token,
            fake.credentials.employee_token,
            base_url=server.api_url,
            retry=FAST_RETRIES,
            environ={},
            seed=1,
        )
        async with client:
            yield client


async def run(fake: FakeTripletex, sink: SQLiteSink, **kwargs: Any) -> Any:
    async with client_for(fake) as client:
        return await sync(
            client, sink, companies="all", resources=ALL, date_from=FROM, date_to=TO, **kwargs
        )


async def assert_exact(fake: FakeTripletex, sink: SQLiteSink) -> None:
    for resource in ALL:
        records = await sink.read(resource)
        assert {c for c, _ in records} <= set(fake.portfolio.company_ids())
        for company in fake.portfolio.company_ids():
            assert stored(records, company) == expected(fake, company, resource), resource


async def test_faulty_portfolio_syncs_exactly_then_reruns_on_checksums(
    fake: FakeTripletex, tmp_path: Path
) -> None:
    """Every id and field lands despite faults; a rerun is checksums only; then
    mutations are reflected."""
    sink = SQLiteSink(tmp_path / "t.db")
    try:
        first = await run(fake, sink)
        assert first.ok, first.to_dict()["total"]["errors"]
        assert first.total().splits >= 2  # 25,000 postings in a year do not fit one query
        assert first.total().retries > 0  # the faults were real
        await assert_exact(fake, sink)

        again = await run(fake, sink)
        total = again.total()
        assert again.ok
        assert total.records == 0
        assert total.unchanged == total.windows == total.not_modified

        heavy = max(
            fake.portfolio.company_ids(), key=lambda c: fake.portfolio.count(c, "ledger/posting")
        )
        postings = fake.records(heavy, "ledger/posting")
        fake.delete(heavy, "ledger/posting", postings[100]["id"])
        fake.update(heavy, "customer", fake.records(heavy, "customer")[0]["id"], {"name": "X AS"})
        fake.add(heavy, "product", {"name": "Ny vare"})
        third = await run(fake, sink)
        assert third.ok
        # Only the changed windows are fetched again: the posting's, and its voucher's
        # (a voucher lists its postings, so its digest moves too).
        assert 0 < third.total().records < first.total().records // 2
        assert third.total().unchanged > 0.95 * third.total().windows
        await assert_exact(fake, sink)
    finally:
        await sink.aclose()
