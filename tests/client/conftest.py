"""Fixtures for client tests: the in-process simulator on an event loop with virtual time.

Every clock involved (the loop's, the client's wall clock, the simulator's) moves
together and only by jumping to the next timer, so expiry at midnight, backoff and rate
windows are tested without real waiting.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

from tripletex_async import LoopClock, TripletexClient
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeResponse,
    FakeTransport,
    FakeTripletex,
    PortfolioConfig,
    VirtualTimeEventLoop,
    generate_portfolio,
)

OSLO = ZoneInfo("Europe/Oslo")
START = datetime(2026, 3, 10, 12, 0, tzinfo=OSLO)
BASE_URL = "http://tripletex.test/v2"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """Each anyio backend, with virtual time: asyncio on our loop, trio on its MockClock
    (jumping to the next timer whenever every task is blocked)."""
    if request.param == "trio":
        from trio.testing import MockClock

        return ("trio", {"clock": MockClock(autojump_threshold=0)})
    return ("asyncio", {"loop_factory": VirtualTimeEventLoop})


@pytest.fixture
def start() -> datetime:
    """The wall-clock time at which each test begins (overridable per test module)."""
    return START


@pytest.fixture
def clock(start: datetime) -> LoopClock:
    """The client's and the simulator's clock, driven by the virtual loop."""
    return LoopClock(start)


@pytest.fixture
def fake_config() -> FakeConfig:
    """Simulator behaviour; override in a module to add limits or faults."""
    return FakeConfig()


@pytest.fixture(scope="session")
def portfolio_small() -> Any:
    """Three client companies, one of them empty, small sizes."""
    return generate_portfolio(PortfolioConfig(seed=7, companies=3, scale=0.05, heavy_companies=0))


@pytest.fixture
def fake(portfolio_small: Any, fake_config: FakeConfig, clock: LoopClock) -> FakeTripletex:
    """The simulator sharing the test's clock."""
    return FakeTripletex(portfolio_small, fake_config, clock=clock.now, sleep=anyio.sleep)


MakeClient = Callable[..., TripletexClient]


@pytest.fixture
def make_client(fake: FakeTripletex, clock: LoopClock) -> MakeClient:
    """Build a client wired to the simulator (or ``sim=``); keywords override defaults."""

    def build(*, sim: FakeTripletex | None = None, **kwargs: Any) -> TripletexClient:
        target = sim or fake
        options: dict[str, Any] = {
            "consumer_token": target.credentials.consumer_token,
            "employee_token": target.credentials.employee_token,
            "base_url": BASE_URL,
            "transport": FakeTransport(target),
            "clock": clock,
            "environ": {},
            "seed": 1,
        }
        options.update(kwargs)
        return TripletexClient(**options)

    return build


@pytest.fixture
async def client(make_client: MakeClient) -> AsyncIterator[TripletexClient]:
    """An open client on the simulator."""
    async with make_client() as c:
        yield c


def sibling(fake: FakeTripletex, config: FakeConfig) -> FakeTripletex:
    """Another simulator on the same portfolio and clock, behaving as ``config`` says."""
    return FakeTripletex(fake.portfolio, config, clock=fake.clock)


def client_id(fake: FakeTripletex, nth: int = 0) -> int:
    """The id of the ``nth`` non-empty client company."""
    ids = [c["id"] for c in fake.portfolio.clients if fake.portfolio.count(c["id"], "customer") > 0]
    return int(ids[nth])


def observe(
    fake: FakeTripletex,
    *,
    arrived: Callable[[FakeRequest], None] | None = None,
    answered: Callable[[FakeRequest, FakeResponse], None] | None = None,
) -> None:
    """Have ``fake`` tell each request as it arrives (before its latency) and as it is
    answered, answering exactly as before."""
    answer = fake.handle

    async def handle(request: FakeRequest) -> FakeResponse:
        if arrived is not None:
            arrived(request)
        response = await answer(request)
        if answered is not None:
            answered(request, response)
        return response

    fake.handle = handle  # type: ignore[method-assign]


def basic_user(request: FakeRequest) -> str:
    """The username of a request's Basic authorization: the company id it acts for
    (``"0"``: the token owner's own), ``""`` without one."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return ""
    return base64.b64decode(header[6:]).decode().partition(":")[0]
