"""A page is turned into rows and stored a slice at a time (memory for pages of 10,000
records), and the writer lets only about ``batch_rows`` rows wait."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest
from anyio.lowlevel import checkpoint

from tripletex_async import SyncOptions, sync
from tripletex_async.engine import _unit
from tripletex_async.engine._report import ResourceReport
from tripletex_async.engine._writer import Writer
from tripletex_async.sinks import Batch, MemorySink, SinkError, Table
from tripletex_async.testing import FakeTripletex

from ..client.conftest import MakeClient
from ..expectations import expected, stored

pytestmark = pytest.mark.anyio


class Recording(MemorySink):
    """A memory sink that keeps every batch it stored, and can fail one write."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.batches: list[Batch] = []
        self._fail_at = fail_at

    async def write(self, batches: Sequence[Batch]) -> None:
        if self._fail_at is not None and len(self.batches) + len(batches) > self._fail_at:
            self._fail_at = None
            raise SinkError("the disk is full")
        await super().write(batches)
        self.batches.extend(batches)


@pytest.fixture
def company(fake: FakeTripletex) -> int:
    """The client company with the most customers (more than two pages of 5)."""
    ids = [int(c["id"]) for c in fake.portfolio.clients]
    busiest = max(ids, key=lambda i: len(fake.records(i, "customer")))
    assert len(fake.records(busiest, "customer")) > 10
    return busiest


@pytest.fixture
def slices(monkeypatch: pytest.MonkeyPatch) -> int:
    """Slices of 2 records, so that pages of 5 are cut in three."""
    monkeypatch.setattr(_unit, "SLICE_ROWS", 2)
    return 2


async def test_a_page_is_stored_in_slices_and_only_its_last_moves_the_window(
    make_client: MakeClient, fake: FakeTripletex, company: int, slices: int
) -> None:
    """Every batch holds at most a slice; each carries the scan's state, and only the
    one ending a page moves ``next_from`` past it; the table ends exact."""
    sink = Recording()
    async with make_client() as client:
        await sync(
            client, sink, companies=[company], resources=["customer"],
            options=SyncOptions(page_size=5),
        )  # fmt: skip
    batches = [b for b in sink.batches if b.table.resource == "customer"]
    assert max(len(b.rows) for b in batches) == slices
    held = 0  # batches that stored rows without moving their window
    by_key: dict[object, int] = {}
    for batch in batches:
        assert batch.state is not None
        assert batch.state.scan
        previous = by_key.get(batch.state.key, 0)
        if batch.state.next_from == previous and batch.rows:
            assert not batch.state.complete
            assert not batch.delete_unseen
            held += 1
        elif batch.rows:  # the last slice of a page: past all of it at once
            assert batch.state.next_from - previous == 5 or batch.state.complete
        by_key[batch.state.key] = batch.state.next_from
    assert held >= 2
    records = await sink.read("customer")
    assert stored(records, company) == expected(fake, company, "customer")


async def test_a_write_failing_between_a_pages_slices_is_resumed_exact(
    make_client: MakeClient, fake: FakeTripletex, company: int, slices: int
) -> None:
    """A run whose sink fails after a page's first slice was stored (a page half
    written) ends with the error; the next run resumes that window from the page and
    ends with every record, none deleted as unseen."""
    sink = Recording(fail_at=4)  # the 5th batch: the second slice of the second page
    async with make_client() as client:
        options = SyncOptions(page_size=5, batch_rows=1)
        with pytest.raises(SinkError, match="disk is full"):
            await sync(client, sink, companies=[company], resources=["customer"], options=options)
        assert sink.batches  # the first page and a slice of the second
        again = await sync(
            client, sink, companies=[company], resources=["customer"], options=options
        )
        assert again.ok
    records = await sink.read("customer")
    assert stored(records, company) == expected(fake, company, "customer")


class Blocked(MemorySink):
    """A memory sink whose writes wait until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def write(self, batches: Sequence[Batch]) -> None:
        await self.release.wait()
        await super().write(batches)


def rows(count: int, start: int = 0) -> list[tuple[object, ...]]:
    return [(i, b'{"id": %d}' % i, None) for i in range(start, start + count)]


async def test_a_send_waits_while_the_rows_waiting_would_pass_batch_rows() -> None:
    """With a slow sink, one batch is being written and the next waits in the queue
    (built while the write runs); a third that would take the rows waiting past
    ``batch_rows`` waits until the writer takes the second."""
    sink = Blocked()
    table = Table("customer")
    await sink.open([table])
    writer = Writer(sink, buffer=16, batch_rows=1000)
    report = ResourceReport(1, "customer")
    sent = anyio.Event()

    async def third() -> None:
        await writer.send(Batch(table, 1, rows(600, 1200)), report)
        sent.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer.run)
        await writer.send(Batch(table, 1, rows(600)), report)
        await anyio.wait_all_tasks_blocked()  # the writer took it and is writing
        await writer.send(Batch(table, 1, rows(600, 600)), report)
        tg.start_soon(third)
        await anyio.wait_all_tasks_blocked()
        assert not sent.is_set()
        sink.release.set()
        await sent.wait()
        writer.close()
    assert len(await sink.read("customer")) == 1800


async def test_a_batch_larger_than_batch_rows_is_queued_when_nothing_waits() -> None:
    """A single batch bigger than ``batch_rows`` still goes through (a page is never
    split to fit)."""
    sink = MemorySink()
    table = Table("customer")
    await sink.open([table])
    writer = Writer(sink, buffer=16, batch_rows=10)
    async with anyio.create_task_group() as tg:
        tg.start_soon(writer.run)
        await writer.send(Batch(table, 1, rows(50)), ResourceReport(1, "customer"))
        await checkpoint()
        writer.close()
    assert len(await sink.read("customer")) == 50
