"""Cancellation: a request cut off mid-flight leaks no task, slot, lock or connection."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tripletex_async import TripletexClient
from tripletex_async.testing import FakeConfig, FakeTripletex, Faults

from .conftest import MakeClient, client_id

pytestmark = pytest.mark.anyio


async def test_cancelled_requests_leave_nothing_behind(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Fifty requests cancelled while the server is slow: nothing stays in flight."""
    slow = FakeTripletex(fake.portfolio, FakeConfig(faults=Faults(latency=5)), clock=fake.clock)
    company = client_id(fake)
    async with make_client(
        sim=slow,
    ) as client:
        await client.who_am_i()
        with anyio.move_on_after(7):
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(_list, client, company)
        stats = client.statistics()
        assert stats.in_flight == 0
        assert client.connection._slots.borrowed_tokens == 0
        assert client.connection._slot_for(company).borrowed_tokens == 0
        assert not client.connection.session._lock.locked()
        assert slow.statistics().in_flight == 0
        # The client still works afterwards.
        page = await client.company(company).get_list("/customer", dict[str, Any])
        assert page.values


async def _list(client: TripletexClient, company: int) -> None:
    await client.company(company).get_list("/customer", dict[str, Any])
