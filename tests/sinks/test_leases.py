"""Leases and fences, against every built-in sink: one writer per company, whoever runs."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio.lowlevel
import pytest

from tripletex_async import LeaseHeldError, LeaseLostError, SystemClock
from tripletex_async.sinks import (
    Batch,
    JSONLSink,
    MemorySink,
    PostgresSink,
    ReadableSink,
    SQLiteSink,
)
from tripletex_async.sinks._lease import Holder, LeaseStore, this_process

from .conftest import CUSTOMER, customer, key, state

pytestmark = pytest.mark.anyio


@dataclass
class Pair:
    """Two sinks on one storage, as two processes would open it."""

    kind: str
    first: ReadableSink
    open_other: Callable[[], ReadableSink]


@pytest.fixture(params=["memory", "sqlite", "postgres", "jsonl"])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    """Each built-in sink, and a way to open it again on the same storage."""
    kind: str = request.param
    made: list[ReadableSink] = []
    memory = MemorySink()

    def open_other() -> ReadableSink:
        if kind == "memory":
            return memory
        if kind == "sqlite":
            sink: ReadableSink = SQLiteSink(tmp_path / "sync.db")
        elif kind == "jsonl":
            sink = JSONLSink(tmp_path / "lake")
        else:
            url = request.getfixturevalue("postgres_url")
            sink = PostgresSink(url, schema=request.getfixturevalue("postgres_schema"))
        made.append(sink)
        return sink

    yield Pair(kind, open_other(), open_other)
    for sink in made:
        await sink.aclose()


class InstantClock(SystemClock):
    """Sleeps take no real time: monotonic time jumps by what was slept."""

    def __init__(self) -> None:
        self.now_seconds = 0.0

    def monotonic(self) -> float:
        return self.now_seconds

    async def sleep(self, seconds: float) -> None:
        self.now_seconds += seconds
        await anyio.lowlevel.checkpoint()


def store(sink: ReadableSink) -> LeaseStore:
    assert isinstance(sink, LeaseStore)
    return sink


def dead_holder() -> Holder:
    """A holder on this host whose process is gone (its pid now runs something else)."""
    return Holder(socket.gethostname(), os.getpid(), "2026-12-06T01:00:00+00:00", "not-its-start")


async def test_live_holder_keeps_others_out_and_is_named(pair: Pair) -> None:
    """A second acquisition of a held company fails, naming the holder's pid and host."""
    await store(pair.first).acquire_lease({1, 2}, this_process(), 60)
    with pytest.raises(LeaseHeldError) as caught:
        await store(pair.open_other()).acquire_lease({2, 3}, this_process(), 60)
    assert f"pid {os.getpid()} on {socket.gethostname()}" in str(caught.value)


async def test_disjoint_companies_are_leased_side_by_side(pair: Pair) -> None:
    """Runs of different companies do not exclude each other, except in one JSONL
    directory, whose single state file makes the whole directory one scope."""
    await store(pair.first).acquire_lease({1}, this_process(), 60)
    other = store(pair.open_other())
    if pair.kind == "jsonl":
        with pytest.raises(LeaseHeldError):
            await other.acquire_lease({2}, this_process(), 60)
    else:
        await other.acquire_lease({2}, this_process(), 60)


async def test_dead_holder_is_taken_over_at_once(pair: Pair) -> None:
    """A holder whose process is gone from this host is taken over without waiting."""
    old = await store(pair.first).acquire_lease({1}, dead_holder(), 3600)
    new = await store(pair.open_other()).acquire_lease({1}, this_process(), 60)
    assert new.epoch > old.epoch


async def test_stale_holder_is_taken_over_and_fenced_out(pair: Pair) -> None:
    """A live holder that stopped renewing is taken over after its ttl; its next write
    is refused whole, and nothing of it is stored."""
    await pair.first.open([CUSTOMER])
    old = await store(pair.first).acquire_lease({1}, this_process(), 1e-6)
    other = pair.open_other()
    await store(other).acquire_lease({1}, this_process(), 60)
    zombie = Batch(CUSTOMER, 1, [customer(7)], state(key("customer")), fence=old)
    with pytest.raises(LeaseLostError, match="taken over"):
        await pair.first.write([zombie])
    await other.open([CUSTOMER])
    assert await other.read("customer") == {}
    assert await other.load_state("conn", 1, "customer") == []


async def test_renewal_after_takeover_fails(pair: Pair) -> None:
    """A holder learns it lost the lease when it next renews."""
    old = await store(pair.first).acquire_lease({1}, this_process(), 1e-6)
    await store(pair.open_other()).acquire_lease({1}, this_process(), 60)
    with pytest.raises(LeaseLostError):
        await store(pair.first).renew_lease(old)


async def test_released_lease_is_free_and_epochs_grow(pair: Pair) -> None:
    """After a release the next run gets the lease at once, with a higher epoch."""
    first = await store(pair.first).acquire_lease({1}, this_process(), 60)
    await store(pair.first).renew_lease(first)
    await store(pair.first).release_lease(first)
    second = await store(pair.open_other()).acquire_lease({1}, this_process(), 60)
    assert second.epoch > first.epoch


async def test_fenced_write_of_the_holder_is_stored(pair: Pair) -> None:
    """The current holder's fenced batches are written as usual."""
    await pair.first.open([CUSTOMER])
    fence = await store(pair.first).acquire_lease({1}, this_process(), 60)
    await pair.first.write([Batch(CUSTOMER, 1, [customer(7)], fence=fence)])
    assert set(await pair.first.read("customer")) == {(1, 7)}


async def test_postgres_holder_whose_session_ended_is_taken_over(
    postgres_url: str, postgres_schema: str
) -> None:
    """A PostgreSQL holder whose session ended (its process killed, on any host) is taken
    over at once, although its heartbeat is fresh and its pid looks alive."""
    holder = PostgresSink(postgres_url, schema=postgres_schema)
    await holder.acquire_lease({1}, this_process(), 3600)
    await holder.aclose()
    other = PostgresSink(postgres_url, schema=postgres_schema)
    try:
        await other.acquire_lease({1}, this_process(), 60)
    finally:
        await other.aclose()


async def test_jsonl_holder_frozen_mid_commit_is_reported_not_waited_for(tmp_path: Path) -> None:
    """A JSONL holder stopped while it holds the directory's lock (in a commit) cannot be
    taken over; a new run says so within its wait instead of blocking forever."""
    import fcntl

    sink = JSONLSink(tmp_path / "lake")
    await sink.acquire_lease({1}, dead_holder(), 3600)
    sink._lease.lock_wait = 0
    fd = os.open(tmp_path / "lake" / "_lease.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the frozen holder, in the middle of a commit
    try:
        with pytest.raises(LeaseHeldError, match=r"middle of writing.*resume or kill"):
            await sink.acquire_lease({1}, this_process(), 60)
    finally:
        os.close(fd)
        await sink.aclose()


async def test_a_waiting_run_says_so_once_and_how_long_it_waited(tmp_path: Path) -> None:
    """`Lease` with a wait: it tells whom it waits for once, and when the wait runs out
    the error says how long it waited."""
    from tripletex_async.sinks._lease import Lease

    clock = InstantClock()
    holder, other = SQLiteSink(tmp_path / "a.db"), SQLiteSink(tmp_path / "a.db")
    await holder.acquire_lease({1}, this_process(), 60)
    told: list[str] = []
    lease = Lease(other, {1}, clock=clock, wait=5, on_wait=lambda exc: told.append(str(exc)))
    try:
        with pytest.raises(LeaseHeldError, match=r"\(waited 5 s\)$"):
            await lease.acquire()
    finally:
        await holder.aclose()
        await other.aclose()
    assert len(told) == 1
    assert f"pid {os.getpid()} " in told[0]
