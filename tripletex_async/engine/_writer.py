"""The one task that writes to the sink: pages in, transactions out, in arrival order.

Fetching tasks hand batches over a bounded stream; when the sink is slow the stream fills
and fetching waits (back-pressure), so memory stays bounded: at most ``buffer`` batches
and, beyond the first, about ``batch_rows`` rows wait at once beside the ones being
written (rows are what take memory: a page of 10,000 records is 30 MB of them). Whatever
is waiting when a write starts is coalesced into one transaction, up to ``batch_rows``
rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..sinks._base import Batch, Sink
from ..sinks._lease import Fence
from ._pages import Page
from ._report import ResourceReport

__all__ = ["Writer"]


@dataclass(frozen=True, slots=True)
class _Item:
    batch: Batch
    report: ResourceReport
    #: Pages the batch's rows came from: their budget shares are given back once stored.
    pages: Sequence[Page]

    def release(self) -> None:
        for page in self.pages:
            page.release()


class Writer:
    """Serializes batches into sink transactions; run `run` in a task group."""

    def __init__(
        self,
        sink: Sink,
        *,
        buffer: int,
        batch_rows: int,
        on_progress: Callable[[ResourceReport], None] | None = None,
        fence: Fence | None = None,
    ) -> None:
        self._sink = sink
        #: Stamped on every batch: the sink refuses them all once the lease is lost.
        self._fence = fence
        self._batch_rows = batch_rows
        self._on_progress = on_progress
        self._sender: MemoryObjectSendStream[_Item]
        self._receiver: MemoryObjectReceiveStream[_Item]
        self._sender, self._receiver = anyio.create_memory_object_stream[_Item](buffer)
        #: Rows waiting (sent, not yet taken by a write); `send` waits for `_taken` while
        #: they would pass ``batch_rows``. Rows being written do not count, so the next
        #: batches are built while a write runs.
        self._pending_rows = 0
        self._taken = anyio.Event()

    async def send(
        self, batch: Batch, report: ResourceReport, *, pages: Sequence[Page] = ()
    ) -> None:
        """Queue ``batch`` (waits while the queue is full), made of the records of
        ``pages``, whose budget shares the writer takes over."""
        item = _Item(batch, report, pages)
        rows = len(batch.rows)
        try:
            while self._pending_rows and self._pending_rows + rows > self._batch_rows:
                await self._taken.wait()
            self._pending_rows += rows
            try:
                await self._sender.send(item)
            except BaseException:
                self._pending_rows -= rows
                raise
        except BaseException:
            item.release()
            raise

    def close(self) -> None:
        """No more batches: `run` returns once the queue is drained."""
        self._sender.close()

    async def run(self) -> None:
        """Write until `close`; a sink error propagates (and ends the run)."""
        async with self._receiver:
            async for item in self._receiver:
                items = self._coalesce(item)
                self._pending_rows -= sum(len(i.batch.rows) for i in items)
                self._taken.set()
                self._taken = anyio.Event()
                try:
                    await self._sink.write([self._fenced(i.batch) for i in items])
                finally:
                    for i in items:
                        i.release()
                for i in items:
                    i.report.records += len(i.batch.rows)
                    i.report.pages += len(i.pages)
                    if self._on_progress is not None:
                        self._on_progress(i.report)
                # Stored and released: let the rows go now, not when the next batch comes.
                del item, items, i

    def _fenced(self, batch: Batch) -> Batch:
        return batch if self._fence is None else replace(batch, fence=self._fence)

    def _coalesce(self, first: _Item) -> list[_Item]:
        items, rows = [first], len(first.batch.rows)
        while rows < self._batch_rows:
            try:
                item = self._receiver.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
            items.append(item)
            rows += len(item.batch.rows)
        return items
