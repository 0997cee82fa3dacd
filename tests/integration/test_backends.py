"""The client and `sync` on trio, over real sockets: httpx's transport by default there,
the rate budget on trio's clock, and aiohttp refused in one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripletex_async import ConfigurationError, TripletexClient, sync
from tripletex_async.sinks import SQLiteSink
from tripletex_async.testing import FakeConfig, FakeTripletex, Portfolio, RateLimit, serve

from ..expectations import FROM, TO, expected, stored

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["trio"])]


async def test_a_sync_on_trio_under_a_rate_limit_is_exact(
    portfolio: Portfolio, tmp_path: Path
) -> None:
    """A whole sync on trio, paced by the limit Tripletex reports, stores exactly what
    the simulator holds and meets no 429."""
    fake = FakeTripletex(portfolio, FakeConfig(rate_limit=RateLimit(limit=100, period=1)))
    resources = ["customer", "ledger/posting"]
    async with serve(fake.handle) as server:
        client = TripletexClient(
            fake.credentials.consumer_token,
            fake.credentials.employee_token,
            base_url=server.api_url,
            environ={},
            seed=1,
        )
        sink = SQLiteSink(tmp_path / "trio.db")
        try:
            async with client:
                report = await sync(
                    client, sink, companies="all", resources=resources, date_from=FROM, date_to=TO
                )
                assert client.statistics().budget.limit == 100
            for resource in resources:
                records = await sink.read(resource)
                for company in report.companies:
                    assert stored(records, company) == expected(fake, company, resource)
        finally:
            await sink.aclose()
    assert report.ok
    assert report.total().rate_limited == 0


async def test_aiohttp_on_trio_is_a_configuration_error(portfolio: Portfolio) -> None:
    """Naming the asyncio-only transport on trio fails when the client opens, saying
    what to use instead."""
    fake = FakeTripletex(portfolio, FakeConfig())
    client = TripletexClient(
        fake.credentials.consumer_token,
        fake.credentials.employee_token,
        base_url="http://127.0.0.1:9/v2",
        transport="aiohttp",
        environ={},
    )
    with pytest.raises(ConfigurationError, match="runs on asyncio only, not trio"):
        async with client:
            pass
