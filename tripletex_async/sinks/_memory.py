"""`MemorySink`: dictionaries with the same semantics as the database sinks (for tests)."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from ..client._errors import LeaseLostError
from ._base import SCHEMA_VERSION, Batch, StateKey, Table, WindowState
from ._common import (
    Record,
    SinkBase,
    doomed,
    records,
    refuse_newer,
    replaces,
    row_scan,
    stored_version,
    wanted_fences,
)
from ._lease import Fence, Holder, HolderRecord, lost_message, revocable

__all__ = ["MemoryRecord", "MemorySink"]


@dataclass(slots=True)
class MemoryRecord:
    """One stored record: what a table row holds."""

    data: bytes
    date: str | None
    scan: str | None
    #: Typed column values by column name.
    values: dict[str, object] = field(default_factory=dict)
    #: The record's ``version`` (``_version``), ``None`` when it has none.
    version: int | None = None
    #: The partition of the query that last wrote it (``_part``).
    part: str | None = None


class MemorySink(SinkBase):
    """Everything in dictionaries, gone with the process. Useful in tests: `tables` and
    `states` can be inspected (and `meta` changed) directly."""

    def __init__(self) -> None:
        super().__init__("memory sink")
        #: ``"schema_version"`` once opened, like the SQL sinks' ``_tripletex_meta``.
        self.meta: dict[str, str] = {}
        #: Table name -> ``(company_id, id)`` -> record.
        self.tables: dict[str, dict[tuple[int, int], MemoryRecord]] = {}
        self.states: dict[StateKey, WindowState] = {}
        #: Company id -> the epoch holding its lease; epoch -> its holder record.
        self.leases: dict[int, int] = {}
        self.holders: dict[int, HolderRecord] = {}
        self._epochs = 0

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        # Nothing outlives the process, so there is never anything to migrate; a newer
        # version can only be set by hand (tests do), and is refused like elsewhere.
        stored = stored_version(self.meta.get("schema_version", SCHEMA_VERSION))
        refuse_newer(stored, "the memory sink")
        self.meta["schema_version"] = str(SCHEMA_VERSION)
        for table in tables:
            self.tables.setdefault(table.name, {})

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        """Every stored window state of one resource of one company."""
        async with self._using():
            return [
                state
                for key, state in self.states.items()
                if (key.connection, key.company_id, key.resource)
                == (connection, company_id, resource)
            ]

    async def write(self, batches: Sequence[Batch]) -> None:
        """Apply ``batches`` all or nothing: everything is checked before anything changes."""
        async with self._using():
            for fence in wanted_fences(batches):
                self._holding(fence)
            checked = []
            for batch in batches:
                self._check_batch(batch)
                checked.append((batch, records(batch)))
            for batch, rows in checked:
                self._apply(batch, rows)

    async def acquire_lease(self, scopes: Collection[int], holder: Holder, ttl: float) -> Fence:
        """Take ``scopes`` for ``holder`` (two syncs of one process into one sink)."""
        async with self._using(opening=True):
            now = time.time()
            epochs = {self.leases[s] for s in scopes if self.leases.get(s) in self.holders}
            held = [replace_overlap(self.holders[e], scopes, self.leases) for e in sorted(epochs)]
            for record in revocable(held, now, len(scopes)):
                del self.holders[record.epoch]
            self._epochs += 1
            self.holders[self._epochs] = HolderRecord(self._epochs, holder, now, ttl)
            self.leases.update(dict.fromkeys(scopes, self._epochs))
            return Fence(self._epochs, frozenset(scopes))

    async def renew_lease(self, fence: Fence) -> None:
        """Renew the heartbeat; `LeaseLostError` when another run took the lease over."""
        async with self._using(opening=True):
            record = self._holding(fence)
            self.holders[fence.epoch] = HolderRecord(
                fence.epoch, record.holder, time.time(), record.ttl
            )

    async def release_lease(self, fence: Fence) -> None:
        """Give the lease back."""
        async with self._using(opening=True):
            self.holders.pop(fence.epoch, None)

    def _holding(self, fence: Fence) -> HolderRecord:
        record = self.holders.get(fence.epoch)
        if record is None:
            taker = self.holders.get(self.leases.get(min(fence.scopes, default=0), 0))
            raise LeaseLostError(lost_message(taker.holder if taker else None))
        return record

    async def read(self, resource: str) -> dict[tuple[int, int], bytes]:
        """Every stored record of ``resource``: ``(company_id, id) -> data``."""
        async with self._using():
            table = self.tables.get(Table(resource).name, {})
            return {key: record.data for key, record in table.items()}

    def _apply(self, batch: Batch, rows: Sequence[Record]) -> None:
        table = self.tables[batch.table.name]
        company = batch.company_id
        scan = row_scan(batch)
        names = [c.name for c in batch.table.columns]
        for row in rows:
            old = table.get((company, row.id))
            if old is not None and batch.only_newer and not replaces(row.version, old.version):
                continue
            values = {**(old.values if old else {}), **dict(zip(names, row.values, strict=True))}
            kept = old.scan if scan is None and old is not None else scan
            part = old.part if batch.partition is None and old is not None else batch.partition
            table[company, row.id] = MemoryRecord(
                row.data, row.date, kept, values, row.version, part
            )
        for id_ in batch.deleted_ids:
            table.pop((company, id_), None)
        mine = ((i, r.date, r.scan, r.part) for (c, i), r in table.items() if c == company)
        for id_ in doomed(batch, mine):
            del table[company, id_]
        for superseded in batch.superseded:
            self.states.pop(superseded, None)
        if batch.state is not None:
            self.states[batch.state.key] = batch.state


def replace_overlap(
    record: HolderRecord, scopes: Collection[int], leases: dict[int, int]
) -> HolderRecord:
    """``record`` with how many of ``scopes`` it holds."""
    overlap = sum(1 for s in scopes if leases.get(s) == record.epoch)
    return HolderRecord(record.epoch, record.holder, record.heartbeat, record.ttl, overlap)
