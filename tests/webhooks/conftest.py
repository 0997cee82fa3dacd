"""Fixtures for webhook tests: the simulator in-process, a client on it, and receivers
reached through ``httpx.ASGITransport``, so deliveries go simulator -> ASGI app -> sink
without a socket (real time: the queue works in threads)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tripletex_async import TripletexClient
from tripletex_async.sinks import MemorySink, ReadableSink, SQLiteSink
from tripletex_async.testing import (
    FakeTransport,
    FakeTripletex,
    Portfolio,
    PortfolioConfig,
    generate_portfolio,
)
from tripletex_async.webhooks import (
    EventQueue,
    Secret,
    SubscriptionSpec,
    WebhookAuth,
    WebhookReceiver,
    ensure_subscriptions,
)
from tripletex_async.webhooks._verify import signature

TARGET = "https://receiver.example/tripletex"
HEADER_VALUE = "hdr-9f2c7e51-secret"
HMAC_SECRET = "hmac-4b8d0a33-secret"
AUTH = WebhookAuth(
    header_name="x-tripletex-auth",
    header_value=Secret(HEADER_VALUE),
    hmac_secret=Secret(HMAC_SECRET),
)


@pytest.fixture(scope="session")
def portfolio() -> Portfolio:
    """Three client companies, one of them empty, small sizes."""
    return generate_portfolio(PortfolioConfig(seed=5, companies=3, scale=0.03, heavy_companies=0))


@pytest.fixture
def fake(portfolio: Portfolio) -> FakeTripletex:
    """A fresh simulator (its webhooks queue deliveries until a test sends them)."""
    return FakeTripletex(portfolio)


@pytest.fixture
def company(fake: FakeTripletex) -> int:
    """A client company with customers."""
    for client in fake.portfolio.clients:
        if fake.portfolio.count(client["id"], "customer") > 1:
            return int(client["id"])
    raise AssertionError("no company with customers")


@pytest.fixture
async def client(fake: FakeTripletex) -> AsyncIterator[TripletexClient]:
    """An open client on the simulator (the accountant's tokens)."""
    async with TripletexClient(
        consumer_token=fake.credentials.consumer_token,
        employee_token=fake.credentials.employee_token,
        base_url="http://tripletex.test/v2",
        transport=FakeTransport(fake),
        environ={},
        seed=1,
    ) as c:
        yield c


@pytest.fixture(params=["memory", "sqlite"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> ReadableSink:
    """Each sink kind the receiver is tested with (closed by the receiver's owner)."""
    if request.param == "sqlite":
        return SQLiteSink(tmp_path / "sync.db")
    return MemorySink()


@pytest.fixture
def queue_path(tmp_path: Path) -> Path:
    """The receiver's queue file."""
    return tmp_path / "webhooks.db"


MakeReceiver = Callable[..., WebhookReceiver]


@pytest.fixture
def make_receiver(client: TripletexClient, sink: ReadableSink, queue_path: Path) -> MakeReceiver:
    """A receiver on the test's client, sink and queue file; keywords override."""

    def build(**kwargs: Any) -> WebhookReceiver:
        options: dict[str, Any] = {
            "client": client,
            "sink": sink,
            "queue": EventQueue(queue_path),
            "auth": AUTH,
        }
        options.update(kwargs)
        return WebhookReceiver(**options)

    return build


def asgi_client(app: WebhookReceiver) -> httpx.AsyncClient:
    """An httpx client whose every request goes to ``app`` in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]


async def deliver(fake: FakeTripletex, app: WebhookReceiver) -> int:
    """Send the simulator's queued deliveries to ``app``; how many were acknowledged."""
    async with asgi_client(app) as http:
        return await fake.webhooks.deliver(http)


def specs(*events: str, fields: str = "", auth: WebhookAuth = AUTH) -> list[SubscriptionSpec]:
    """Subscriptions of ``events`` to `TARGET` with the test's secrets."""
    return [
        SubscriptionSpec(
            event,
            TARGET,
            fields,
            auth_header_name=auth.header_name,
            auth_header_value=auth.header_value,
            hmac_secret=auth.hmac_secret,
        )
        for event in events
    ]


async def subscribe(
    client: TripletexClient, company: int, queue_path: Path, wanted: list[SubscriptionSpec]
) -> None:
    """Make ``wanted`` exist in ``company``, registered in the queue file."""
    async with EventQueue(queue_path) as queue:
        await ensure_subscriptions(client.company(company), wanted, registry=queue)


def signed(body: bytes, key: str = "key-1", auth: WebhookAuth = AUTH) -> dict[str, str]:
    """Headers a genuine delivery of ``body`` carries (auth header and HMAC signature)."""
    assert auth.hmac_secret is not None
    assert auth.header_value is not None
    assert auth.header_name is not None
    return {
        "idempotency-key": key,
        "x-request-signature": signature(auth.hmac_secret, key.encode(), body).decode(),
        auth.header_name: auth.header_value.reveal(),
        "content-type": "application/json",
    }
