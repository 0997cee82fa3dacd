"""Fixtures for integration tests: the simulator on a real loopback socket, in real time.

Unlike tests/client (in-process transport, virtual time), these run `TripletexClient`
over real TCP connections to `serve(fake.handle)`, so drops and truncations are real
socket events seen by the real transports, parametrized over ``httpx`` and ``aiohttp``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from tripletex_async import SyncReport, TripletexClient, sync
from tripletex_async.sinks import Sink
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTransport,
    FakeTripletex,
    Faults,
    Portfolio,
    PortfolioConfig,
    generate_portfolio,
    serve,
)

from ..expectations import FROM, TO

Handler = Callable[[FakeRequest], Awaitable[FakeResponse]]
Connect = Callable[..., AbstractAsyncContextManager[TripletexClient]]
MakeFake = Callable[..., FakeTripletex]


@pytest.fixture
def anyio_backend() -> str:
    """A real asyncio loop: real sockets, real time."""
    return "asyncio"


@pytest.fixture(params=["httpx", "aiohttp"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each test runs once per transport `TripletexClient` can be given by name."""
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def portfolio() -> Portfolio:
    """Three client companies, one of them empty, small sizes."""
    return generate_portfolio(PortfolioConfig(seed=7, companies=3, scale=0.05, heavy_companies=0))


@pytest.fixture
def make_fake(portfolio: Portfolio) -> MakeFake:
    """A fresh simulator on the shared portfolio; keyword arguments become `Faults`."""

    def build(**faults: Any) -> FakeTripletex:
        return FakeTripletex(portfolio, FakeConfig(faults=Faults(**faults)))

    return build


@pytest.fixture
def connect(transport: str) -> Connect:
    """``async with connect(fake, handler=None, **client_kwargs) as client``.

    Serves ``handler`` (default ``fake.handle``) on a loopback port and opens a client
    with the test's transport on it; both are closed when the block ends.
    """

    @asynccontextmanager
    async def open_client(
        fake: FakeTripletex, handler: Handler | None = None, **kwargs: Any
    ) -> AsyncIterator[TripletexClient]:
        async with serve(handler or fake.handle) as server:
            client = TripletexClient(
                fake.credentials.consumer_token,
                fake.credentials.employee_token,
                base_url=server.api_url,
                transport="httpx" if transport == "httpx" else "aiohttp",
                environ={},
                seed=1,
                **kwargs,
            )
            async with client:
                yield client

    return open_client


def client_id(fake: FakeTripletex, nth: int = 0) -> int:
    """The id of the ``nth`` client company that has customers."""
    ids = [c["id"] for c in fake.portfolio.clients if fake.portfolio.count(c["id"], "customer") > 0]
    return int(ids[nth])


async def sync_into(fake: FakeTripletex, sink: Sink, resources: list[Any]) -> SyncReport:
    """``resources`` of every company of ``fake`` (in-process), dated FROM..TO, into
    ``sink``, which the caller opens by this and closes."""
    async with TripletexClient(
        fake.credentials.consumer_token,
        fake.credentials.employee_token,
        base_url="http://tripletex.test/v2",
        transport=FakeTransport(fake),
        environ={},
    ) as client:
        return await sync(
            client, sink, companies="all", resources=resources, date_from=FROM, date_to=TO
        )
