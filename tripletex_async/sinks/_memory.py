"""`MemorySink`: dictionaries with the same semantics as the database sinks (for tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
)

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
            checked = []
            for batch in batches:
                self._check_batch(batch)
                checked.append((batch, records(batch)))
            for batch, rows in checked:
                self._apply(batch, rows)

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
            table[company, row.id] = MemoryRecord(row.data, row.date, kept, values, row.version)
        for id_ in batch.deleted_ids:
            table.pop((company, id_), None)
        mine = ((i, r.date, r.scan) for (c, i), r in table.items() if c == company)
        for id_ in doomed(batch, mine):
            del table[company, id_]
        for superseded in batch.superseded:
            self.states.pop(superseded, None)
        if batch.state is not None:
            self.states[batch.state.key] = batch.state
