"""Simulator: latency per response and per row, on an event loop with virtual time."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from tripletex_async.testing import (
    FakeConfig,
    Faults,
    PortfolioConfig,
    VirtualTimeEventLoop,
    generate_portfolio,
)

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio

#: One company of 10,000 customers, every one listed (no inactive ones hidden).
BIG = generate_portfolio(
    PortfolioConfig(
        seed=4, companies=1, empty_companies=0, heavy_companies=0, sizes={"customer": 10_000}
    )
)
PER_ROW = 0.001


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """asyncio on the virtual-time loop: simulated latency costs no real time."""
    return ("asyncio", {"loop_factory": VirtualTimeEventLoop})


def _config(latency: float = 0.0, latency_per_row: float = 0.0) -> FakeConfig:
    faults = Faults(latency=latency, latency_per_row=latency_per_row)
    return FakeConfig(faults=faults, default_filters=False)


async def _took(k: Kit, **params: Any) -> float:
    """Virtual seconds one customer list call takes; it must succeed."""
    began = anyio.current_time()
    response = await k.get("/customer", sorting="id", **params)
    assert response.status_code == 200, response.text
    return anyio.current_time() - began


async def test_per_row_latency_grows_with_the_page() -> None:
    """A 10,000-row page takes 10x the per-row time of a 1,000-row page."""
    async with kit(_config(0.05, PER_ROW), portfolio=BIG) as k:
        small = await _took(k, count=1000, fields="*")
        big = await _took(k, count=10_000, fields="*")
    assert small - 0.05 == pytest.approx(1000 * PER_ROW, abs=1e-3)
    assert big - 0.05 == pytest.approx(10_000 * PER_ROW, abs=1e-3)


async def test_per_row_latency_costs_no_real_time() -> None:
    """Ten virtual seconds of per-row latency pass in well under one real second."""
    async with kit(_config(latency_per_row=PER_ROW), portfolio=BIG) as k:
        await _took(k, count=10_000, fields="id")  # the page generated and cached
        began = time.perf_counter()
        virtual = await _took(k, count=10_000, fields="*")
        real = time.perf_counter() - began
    assert virtual == pytest.approx(10.0, abs=1e-3)
    assert real < 1.0


async def test_fields_id_costs_a_share_of_fields_star() -> None:
    """fields=id costs one field's share of a row; every field named costs all of it."""
    async with kit(_config(latency_per_row=PER_ROW), portfolio=BIG) as k:
        every = ",".join(n for n in k.fake.records(k.company, "customer")[0] if n != "changes")
        star = await _took(k, count=1000, fields="*")
        named = await _took(k, count=1000, fields=every)
        only_id = await _took(k, count=1000, fields="id")
    fields = every.count(",") + 1
    assert star == pytest.approx(1.0, abs=1e-3)
    assert named == pytest.approx(star, abs=1e-3)
    assert only_id == pytest.approx(star / fields, abs=1e-3)


async def test_an_expanded_reference_counts_as_one_field() -> None:
    """fields=id,currency(*) costs two fields' share, like fields=id,currency."""
    async with kit(_config(latency_per_row=PER_ROW), portfolio=BIG) as k:
        expanded = await _took(k, count=100, fields="id,currency(*)")
        plain = await _took(k, count=100, fields="id,currency")
    assert expanded == pytest.approx(plain, abs=1e-4)
    assert plain > 0


async def test_no_per_row_latency_keeps_the_fixed_latency_exactly() -> None:
    """By default a response sleeps once, for the fixed latency, whatever its size."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with kit(_config(latency=0.05), portfolio=BIG, sleep=sleep) as k:
        await _took(k, count=10_000, fields="*")
        await _took(k, count=10, fields="id")
    assert slept == [0.05] * 3  # the session, then the two pages
