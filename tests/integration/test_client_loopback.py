"""`TripletexClient` against the simulator over real loopback sockets, per transport."""

from __future__ import annotations

import gc
from typing import Any

import anyio
import httpx
import pytest
import structlog

from tripletex_async import Limits, RetryPolicy, TransportError
from tripletex_async.testing import FakeRequest, FakeResponse, Fault

from .conftest import Connect, MakeFake, client_id

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

#: Quick retries: real time is spent here, and the faults are many.
FAST_RETRY = RetryPolicy(attempts=10, base=0.01, cap=0.05, total=10)


async def test_one_session_reads_customers(connect: Connect, make_fake: MakeFake) -> None:
    """One session is created, and a client company's customers are read with it."""
    fake = make_fake()
    company = client_id(fake)
    async with connect(fake) as client:
        view = client.company(company)
        first = await view.get_list("/customer", dict[str, Any], params={"fields": "id,name"})
        again = await view.get_list("/customer", dict[str, Any], params={"fields": "id,name"})
        stats = client.statistics()
    expected = [{"id": r["id"], "name": r["name"]} for r in fake.records(company, "customer")]
    assert first.values == expected
    assert again.values == expected
    assert stats.sessions_created == 1
    assert fake.statistics().sessions_created == 1


async def test_gets_survive_real_drops_truncations_and_503s(
    connect: Connect, make_fake: MakeFake
) -> None:
    """With 20% each of drops, truncations and 503s, 30 GETs succeed through retries."""
    fake = make_fake(seed=4, drop=0.2, truncate=0.2, error_503=0.2)
    company = client_id(fake)
    with structlog.testing.capture_logs() as events:
        async with connect(fake, retry=FAST_RETRY) as client:
            for _ in range(30):
                page = await client.company(company).get_list("/customer", dict[str, Any])
                assert page.values
            stats = client.statistics()
    retried = {e["error"] for e in events if e["event"] == "retry"}
    assert stats.retries > 0
    assert stats.errors == 0
    # The socket faults reached the pipeline as our transport errors (RequestTimeoutError is
    # httpx-aiohttp's mapping of a server disconnect), not only as 503s.
    assert retried & {"TransportError", "RequestTimeoutError"}
    assert fake.statistics().faults.keys() >= {"drop", "truncate", "503"}


async def test_200_concurrent_gets_do_not_fail(
    connect: Connect, make_fake: MakeFake, transport: str, request: pytest.FixtureRequest
) -> None:
    """200 GETs at once all succeed, with more than 50 really in flight at the server."""
    if transport == "httpx":
        # Measured, not assumed: httpcore's pool rescans every connection for every
        # request (encode/httpx#3215); 200 at once cost 1.5 to 5 s of CPU here and the
        # server saw only 24 to 65 in flight. Not strict: the peak varies around 50.
        request.applymarker(
            pytest.mark.xfail(
                reason="httpx 0.28's pool collapses (encode/httpx#3215)", strict=False
            )
        )
    # Latency keeps each request open at the server; without it the handler never
    # yields, so requests would be served one by one and overlap could not be seen.
    fake = make_fake(latency=0.1)
    company = client_id(fake)
    pages: list[int] = []
    limits = Limits(max_in_flight=200, per_company=200)
    async with connect(fake, limits=limits) as client:
        view = client.company(company)

        async def one() -> None:
            page = await view.get_list("/customer", dict[str, Any], params={"fields": "id"})
            pages.append(len(page.values))

        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(one)
        stats = client.statistics()
    assert len(pages) == 200
    assert all(pages)
    assert fake.statistics().peak_concurrency > 50
    assert (stats.errors, stats.retries) == (0, 0)


async def test_post_dropped_after_processing_is_not_retried(
    connect: Connect, make_fake: MakeFake
) -> None:
    """A POST whose connection drops after the server acted raises, and is sent once."""
    fake = make_fake()
    company = client_id(fake)
    before = len(fake.records(company, "customer"))

    async def drop_writes(request: FakeRequest) -> FakeResponse:
        response = await fake.handle(request)
        if request.method == "POST" and not request.path.endswith("/token/session/:create"):
            response.fault = Fault.DROP
        return response

    async with connect(fake, handler=drop_writes, retry=FAST_RETRY) as client:
        with pytest.raises(TransportError) as info:
            await client.company(company).post("/customer", json={"name": "Ny Kunde AS"})
    assert not info.value.before_send
    assert fake.statistics().by_path.get("customer") == 1
    assert len(fake.records(company, "customer")) == before + 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_or_delete_dropped_after_processing_is_sent_once(
    connect: Connect, make_fake: MakeFake, method: str
) -> None:
    """A PUT or DELETE whose connection drops after the server acted is not re-sent.

    aiohttp would replay it by itself on a dropped keep-alive connection, turning a
    successful DELETE into a 404 and a PUT into a 409; our sessions switch that off.
    """
    fake = make_fake()
    company = client_id(fake)
    target = fake.records(company, "customer")[0]["id"]

    async def drop_item_writes(request: FakeRequest) -> FakeResponse:
        response = await fake.handle(request)
        if request.method == method and "/customer/" in request.path:
            response.fault = Fault.DROP
        return response

    async with connect(fake, handler=drop_item_writes, retry=FAST_RETRY) as client:
        view = client.company(company)
        await view.get_list("/customer", dict[str, Any])  # a kept-alive connection to reuse
        body = {"name": "Endret AS"} if method == "PUT" else None
        with pytest.raises(TransportError):
            await view.request(method, f"/customer/{target}", json=body, type=bytes)
    assert fake.statistics().by_path.get("customer/{id}") == 1


async def test_a_read_response_is_not_left_to_the_cycle_collector(
    connect: Connect, make_fake: MakeFake
) -> None:
    """A response is freed as soon as it has been read: no reference cycle keeps it and
    its body (a page of 1000 customers is ~1 MB) alive until the cyclic garbage collector
    happens to run, which would let memory grow past the sync's page budget."""
    fake = make_fake()
    async with connect(fake) as client:
        view = client.company(client_id(fake))
        await view.get_list("/customer", dict[str, Any])  # session and connections made
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector frees lands in gc.garbage
        try:
            for _ in range(3):
                await view.get_list("/customer", dict[str, Any])
            gc.collect()
            cyclic = [type(o).__name__ for o in gc.garbage if isinstance(o, httpx.Response)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert cyclic == []
