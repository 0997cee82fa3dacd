"""Bounded runs: a nightly run stops at its request budget, commits what it did, and the
next run continues where it stopped."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import anyio
import pytest

from tripletex_async import ConfigurationError, LoopClock, SyncOptions, TripletexClient, sync
from tripletex_async.engine._windows import plan_windows
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import (
    FakeConfig,
    FakeRequest,
    FakeTripletex,
    Faults,
    RateLimit,
)

from ..client.conftest import MakeClient, observe, sibling
from ..expectations import FROM, TO, expected, stored

pytestmark = pytest.mark.anyio
RESOURCES = ["ledger/posting", "customer"]


async def completes(
    client: TripletexClient, sink: MemorySink, fake: FakeTripletex, companies: list[int]
) -> None:
    """An unbounded rerun defers nothing and leaves every table exact."""
    again = await sync(
        client, sink, companies="all", resources=RESOURCES, date_from=FROM, date_to=TO,
        options=SyncOptions(page_size=5),
    )  # fmt: skip
    assert again.total().deferred == 0
    for resource in RESOURCES:
        records = await sink.read(resource)
        for company in companies:
            assert stored(records, company) == expected(fake, company, resource)


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
        await completes(client, sink, fake, companies)


async def test_a_chain_of_bounded_runs_goes_on_where_each_one_stopped(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """Bounded runs one after another (a worker's time slices) each skip, without a
    request, the windows earlier runs of the chain completed: none is asked again (no
    304), so the chain gets to the end and ends exact. (Marked finished, each run would
    spend its bound re-checking them, and this chain never ended.)"""
    bounded = SyncOptions(page_size=5, max_requests=12)
    sink = MemorySink()
    rechecked, runs, deferred = 0, 0, 1
    async with make_client() as client:
        while deferred and runs < 50:
            report = await sync(
                client, sink, companies="all", resources=RESOURCES, date_from=FROM,
                date_to=TO, options=bounded,
            )  # fmt: skip
            total = report.total()
            rechecked, runs, deferred = rechecked + total.unchanged, runs + 1, total.deferred
    assert deferred == 0
    assert runs > 1
    assert rechecked == 0
    for resource in RESOURCES:
        records = await sink.read(resource)
        for company in companies:
            assert stored(records, company) == expected(fake, company, resource)


async def test_a_run_told_to_stop_stores_what_it_fetched_and_defers_the_rest(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """``stop`` set mid-run (a worker shutting down) as the first data answer comes
    back: no request arrives after it, the run is ok with windows deferred, and the next
    run completes it exact."""
    slow = sibling(fake, FakeConfig(faults=Faults(latency=0.05)))
    stop = anyio.Event()
    after: list[str] = []

    def arrived(request: FakeRequest) -> None:
        if stop.is_set():
            after.append(request.raw_path)

    def answered(request: FakeRequest, response: object) -> None:
        if request.raw_path.endswith(tuple(RESOURCES)):
            stop.set()

    observe(slow, arrived=arrived, answered=answered)
    sink = MemorySink()
    async with make_client(sim=slow) as client:
        first = await sync(
            client, sink, companies="all", resources=RESOURCES, date_from=FROM, date_to=TO,
            options=SyncOptions(page_size=5), stop=stop,
        )  # fmt: skip
        assert first.ok
        assert first.total().deferred > 0
        assert [p for p in after if p.endswith(tuple(RESOURCES))] == []
    async with make_client() as client:
        await completes(client, sink, fake, companies)


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


async def test_a_run_past_its_deadline_stops_asking_and_the_next_one_completes(
    make_client: MakeClient, fake: FakeTripletex, clock: LoopClock, companies: list[int]
) -> None:
    """With ``deadline`` the run sends nothing after it (requests under way are stored),
    defers what is left and is ok; the next run completes it exactly."""
    slow = sibling(fake, FakeConfig(faults=Faults(latency=1.0)))  # a second per request
    sink = MemorySink()
    deadline = clock.now() + timedelta(seconds=2.5)
    async with make_client(sim=slow) as client:
        first = await sync(
            client, sink, companies="all", resources=RESOURCES, date_from=FROM, date_to=TO,
            options=SyncOptions(page_size=5, deadline=deadline),
        )  # fmt: skip
        assert first.ok
        assert first.total().deferred > 0
        assert clock.now() < deadline + timedelta(seconds=3)
        await completes(client, sink, fake, companies)


async def test_a_deadline_already_passed_is_refused_before_anything_is_written(
    make_client: MakeClient, clock: LoopClock
) -> None:
    """Nothing could be fetched: a clear error, and the sink is never opened."""
    sink = MemorySink()
    passed = SyncOptions(deadline=clock.now() - timedelta(minutes=1))
    async with make_client() as client:
        with pytest.raises(ConfigurationError, match="deadline"):
            await sync(client, sink, companies="all", resources=RESOURCES, options=passed)
    assert not sink.states


def test_a_deadline_needs_a_timezone() -> None:
    """A naive time is ambiguous between the machine's zone and Oslo's."""
    with pytest.raises(ConfigurationError, match="timezone"):
        SyncOptions(deadline=datetime(2026, 12, 7, 6, 0))


async def test_a_bounded_resume_spends_nothing_on_windows_the_killed_run_finished(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Windows an interrupted run completed are skipped without asking, so they must not
    hold the requests the windows still to do need."""
    sink = MemorySink()
    company = int(fake.portfolio.clients[0]["id"])
    async with make_client() as client:
        await sync(
            client, sink, companies=[company], resources=["ledger/posting"], date_from=FROM,
            date_to=TO,
        )  # fmt: skip
        for key, state in list(sink.states.items()):
            if key.resource == "_run":  # as if that run had been killed
                sink.states[key] = replace(state, complete=False)
        windows = len(plan_windows(FROM, TO))
        report = await sync(
            client, sink, companies=[company], resources=["ledger/posting", "customer"],
            date_from=FROM, date_to=TO,
            options=SyncOptions(max_requests=windows, companies_at_once=1),
        )  # fmt: skip
    assert report.total().deferred == 0
    assert report.total().skipped == windows


async def test_no_request_is_sent_after_the_deadline_though_the_budget_made_it_wait(
    make_client: MakeClient, fake: FakeTripletex, clock: LoopClock
) -> None:
    """Windows claimed at the start and requests waiting for the next rate window are
    checked against the deadline when they could go, not before they waited."""
    config = FakeConfig(rate_limit=RateLimit(limit=5, period=10), faults=Faults(latency=0.05))
    limited = sibling(fake, config)
    sent: list[datetime] = []

    def arrived(request: FakeRequest) -> None:
        if request.raw_path.endswith(tuple(RESOURCES)):
            sent.append(clock.now())

    observe(limited, arrived=arrived)
    deadline = clock.now() + timedelta(seconds=15)
    async with make_client(sim=limited) as client:
        report = await sync(
            client, MemorySink(), companies="all", resources=RESOURCES, date_from=FROM,
            date_to=TO, options=SyncOptions(deadline=deadline),
        )  # fmt: skip
    assert report.total().deferred > 0
    assert sent
    assert max(sent) <= deadline


async def test_a_run_over_other_companies_does_not_end_a_bounded_run_of_one_connection(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Two budgets of one employee (two integrations) sync other companies into one sink:
    the one that finishes must not end the other's interrupted run, or its next slice
    would ask again, window by window, for what it had done (slice after slice: a
    chain that never ends)."""
    sink = MemorySink()
    first, second = (int(c["id"]) for c in fake.portfolio.clients[:2])
    windows = len(plan_windows(FROM, TO))
    async with make_client() as client:
        await sync(
            client, sink, companies=[first], resources=["ledger/posting"], date_from=FROM,
            date_to=TO, options=SyncOptions(max_requests=windows - 1, companies_at_once=1),
        )  # fmt: skip
        await sync(
            client, sink, companies=[second], resources=["ledger/posting"], date_from=FROM,
            date_to=TO,
        )  # fmt: skip
        resumed = await sync(
            client, sink, companies=[first], resources=["ledger/posting"], date_from=FROM,
            date_to=TO,
        )  # fmt: skip
    assert resumed.total().skipped == windows - 1
    assert resumed.total().requests == 1


async def test_the_next_nights_chain_of_slices_asks_each_unchanged_window_once(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """The night after a complete run, slices of a bounded chain find most windows
    unchanged (304): the next slice must skip those the one before checked, or every
    slice would spend its requests on the same windows and the chain never end."""
    sink = MemorySink()
    company = int(fake.portfolio.clients[0]["id"])
    windows = len(plan_windows(FROM, TO))
    half = windows // 2 + 1
    bounded = SyncOptions(max_requests=half, companies_at_once=1)
    async with make_client() as client:
        await sync(
            client, sink, companies=[company], resources=["ledger/posting"], date_from=FROM,
            date_to=TO,
        )  # fmt: skip
        await anyio.sleep(3600)  # the next night (virtual time)
        first = await sync(
            client, sink, companies=[company], resources=["ledger/posting"], date_from=FROM,
            date_to=TO, options=bounded,
        )  # fmt: skip
        second = await sync(
            client, sink, companies=[company], resources=["ledger/posting"], date_from=FROM,
            date_to=TO, options=bounded,
        )  # fmt: skip
    assert (first.total().unchanged, first.total().deferred) == (half, windows - half)
    assert (second.total().skipped, second.total().unchanged) == (half, windows - half)
    assert second.total().deferred == 0


async def test_a_stop_while_waiting_for_the_next_rate_window_ends_the_run_at_once(
    make_client: MakeClient, fake: FakeTripletex, clock: LoopClock
) -> None:
    """A worker told to stop (SIGTERM: a deploy gives it ~30 s) while its budget waits
    for the next rate window (a minute in Tripletex) stops then, not a window later:
    what it fetched is stored, the rest deferred."""
    limited = sibling(fake, FakeConfig(rate_limit=RateLimit(limit=6, period=60)))
    stop = anyio.Event()
    stopped_at: list[datetime] = []

    async def stop_soon() -> None:
        await anyio.sleep(5)  # virtual: by then the first window's 6 calls are spent
        stopped_at.append(clock.now())
        stop.set()

    async with make_client(sim=limited) as client, anyio.create_task_group() as tg:
        tg.start_soon(stop_soon)
        report = await sync(
            client, MemorySink(), companies="all", resources=RESOURCES, date_from=FROM,
            date_to=TO, stop=stop,
        )  # fmt: skip
        ended = clock.now()
    assert report.total().deferred > 0
    assert ended - stopped_at[0] < timedelta(seconds=1)
