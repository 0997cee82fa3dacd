"""Bounded runs: a nightly run stops at its request budget, commits what it did, and the
next run continues where it stopped."""

from __future__ import annotations

import pytest

from tripletex_async import ConfigurationError, SyncOptions, sync
from tripletex_async.engine._windows import plan_windows
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import FakeTripletex

from ..client.conftest import MakeClient
from ..expectations import FROM, TO, expected, stored

pytestmark = pytest.mark.anyio
RESOURCES = ["ledger/posting", "customer"]


async def test_a_bounded_run_stops_at_its_budget_and_the_next_one_completes(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """With ``max_requests`` the run makes no more data requests than that, says how
    many windows it deferred, and is ok; an unbounded rerun then ends exact, asking
    again only for what the first run did not finish."""
    sink = MemorySink()
    bounded = SyncOptions(page_size=5, max_requests=12)
    async with make_client() as client:
        first = await sync(
            client, sink, companies="all", resources=RESOURCES, date_from=FROM, date_to=TO,
            options=bounded,
        )  # fmt: skip
        total = first.total()
        assert total.requests <= 12
        assert total.deferred > 0
        assert first.ok
        assert {r.status for r in first} <= {"done", "deferred"}
        second = await sync(
            client, sink, companies="all", resources=RESOURCES, date_from=FROM, date_to=TO,
            options=SyncOptions(page_size=5),
        )  # fmt: skip
    assert second.total().deferred == 0
    for resource in RESOURCES:
        records = await sink.read(resource)
        for company in companies:
            assert stored(records, company) == expected(fake, company, resource)


async def test_a_bounded_run_does_the_most_recent_windows_first(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """What a small budget buys is the latest months, where changes are."""
    sink = MemorySink()
    company = int(fake.portfolio.clients[0]["id"])
    async with make_client() as client:
        await sync(
            client, sink, companies=[company], resources=["ledger/posting"], date_from=FROM,
            date_to=TO, options=SyncOptions(max_requests=1, companies_at_once=1),
        )  # fmt: skip
    done = [
        k.window_from
        for k, s in sink.states.items()
        if s.complete and k.resource == "ledger/posting"
    ]
    latest = plan_windows(FROM, TO)[-1]
    assert len(plan_windows(FROM, TO)) > 1
    assert done == [latest.key[0]]


def test_a_request_budget_must_be_positive() -> None:
    """Zero requests would defer everything for ever."""
    with pytest.raises(ConfigurationError, match="max_requests"):
        SyncOptions(max_requests=0)
