"""The sink contract: what the sync engine hands a sink, and the `Sink` protocol.

A sink stores, per resource, one table of records keyed by ``(company_id, id)`` and the
sync state of every window it has scanned. The engine sends `Batch`es: the rows of one
page plus the state that is true once those rows are stored. A sink writes a sequence of
batches in ONE transaction, state and rows together, so a run killed at any moment
leaves either both or neither.

Table contract (SQL sinks; other sinks keep the same information):

- one table per resource named `Table.name`: the API path in snake_case
  (``ledger/vatType`` -> ``ledger_vat_type``; ``order`` -> ``orders``, see `_names`);
- key columns ``company_id`` and ``id`` (unique together), ``data`` (the record's JSON
  exactly as fetched), ``_date`` (the resource's window date, for dated resources),
  ``_scan`` (the id of the window scan that last wrote the row), ``_version`` (the
  record's integer ``version``, NULL when it has none; see `Batch.only_newer`) and
  ``_part`` (the partition of the query that last wrote the row, see `Batch.partition`);
- one typed column per `Column` (scalars under their name in snake_case, references as
  ``<name>_id``), all nullable, of the column's `ColumnKind`: exact decimals, dates,
  timestamps, booleans and 64-bit integers where the database has them (SQLite, which has
  no exact decimal, stores a decimal column twice: ``<name>`` as REAL and
  ``<name>_minor``, the value in hundredths as an INTEGER, NULL when it has more than
  two decimals);
- a state table ``_tripletex_state`` keyed by `StateKey`, and ``_tripletex_meta`` holding
  the schema version.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ..client._errors import TripletexError
from ._lease import Fence
from ._names import table_name

__all__ = [
    "COLUMN_KINDS",
    "SCHEMA_VERSION",
    "Batch",
    "ChildTable",
    "Column",
    "ColumnKind",
    "DurableSink",
    "IndexingSink",
    "ReadableSink",
    "Row",
    "Sink",
    "SinkError",
    "StateKey",
    "Table",
    "WindowState",
    "table_name",
]

#: Version of the sink schema (state and meta tables, internal columns). A sink opened on
#: a database with a newer version refuses; older versions are migrated.
#:
#: 2: the ``_version`` column (JSONL: a fifth element of index lines), filled from each
#: record's JSON when a version-1 store is migrated.
#: 3: the ``_part`` column (JSONL: a sixth element), the state key's ``partition`` and
#: the state's ``verified_at``.
#: 4: snake_case table and typed column names, exact types (decimal, date, timestamp);
#: the typed columns of a migrated table are filled again from its stored JSON.
SCHEMA_VERSION = 4

#: What a typed column holds. ``decimal`` is exact (`decimal.Decimal` in Python);
#: ``real`` is a float (a user Struct's ``float`` field); ``date`` an ISO date (a
#: `datetime.date`, or text as Tripletex sends it, ``""`` meaning none); ``timestamp`` a
#: date and time (naive ones are Tripletex's local time, Europe/Oslo).
ColumnKind = Literal["integer", "real", "decimal", "text", "boolean", "date", "timestamp"]

#: Every `ColumnKind`, for checks.
COLUMN_KINDS: frozenset[str] = frozenset(
    {"integer", "real", "decimal", "text", "boolean", "date", "timestamp"}
)

#: One record: ``(id, data, date, *typed values)``. ``data`` is the record's JSON as
#: fetched; ``date`` is its window date (``None`` for undated resources); typed values
#: follow `Table.columns` in order (``None`` when absent or not requested).
Row = tuple[object, ...]


class SinkError(TripletexError):
    """A sink could not open, migrate, read or write (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class Column:
    """A typed column derived from a scalar field or a reference (``customer_id``)."""

    name: str
    kind: ColumnKind
    #: Where its value is in the record's JSON: ``("invoiceDate",)``,
    #: ``("customer", "id")``; empty means ``(name,)``. A sink fills a column it adds to
    #: a table that already holds rows from this path of each row's ``data``.
    path: tuple[str, ...] = ()
    #: What it holds, for people (PostgreSQL's ``COMMENT ON``, ``describe``).
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", (self.name,))


@dataclass(frozen=True, slots=True)
class ChildTable:
    """A list of objects nested in a resource's records (an order's ``orderLines``), as a
    table of its own in the SQL sinks: ``company_id``, `parent_key` (the record's id),
    ``position`` (the object's place in the list, from 0), ``id`` (the object's own, when
    it has one) and the typed columns of the objects. SQL sinks fill it from each stored
    record's JSON in the transaction that writes the record, and empty it with the record.
    """

    name: str
    #: The record's field holding the list (``orderLines``).
    list_field: str
    #: The column holding the record's id (``order_id``).
    parent_key: str
    columns: tuple[Column, ...] = ()
    #: What it holds, for people (PostgreSQL's ``COMMENT ON``, ``describe``).
    description: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Table:
    """Where one resource's records go, and which typed columns they carry."""

    resource: str
    columns: tuple[Column, ...] = ()
    #: Tables of the lists of objects nested in the records (SQL sinks only).
    children: tuple[ChildTable, ...] = ()
    #: What it holds, for people (PostgreSQL's ``COMMENT ON``, ``describe``).
    description: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        """The table's name: ``ledger/vatType`` -> ``ledger_vat_type`` (`table_name`)."""
        return table_name(self.resource)

    @property
    def folder(self) -> str:
        """The API path with ``/`` as ``_`` (``ledger_vatType``): the name of the
        resource's directory in a file sink, which keeps the API's names like ``data``."""
        return self.resource.replace("/", "_")


@dataclass(frozen=True, slots=True)
class StateKey:
    """One unit of sync state: a window of a resource of a company, for one connection,
    one field selection and one partition. Undated resources have one window,
    ``("", "")``; a resource read in one query has one partition, ``""``."""

    connection: str
    company_id: int
    resource: str
    window_from: str = ""
    window_to: str = ""
    fields_hash: str = ""
    #: Which of the queries that together return every record of the resource (see
    #: `Batch.partition`); ``""`` for a resource read in one query.
    partition: str = ""


@dataclass(frozen=True, slots=True)
class WindowState:
    """What is known about one window once the rows it arrived with are stored."""

    key: StateKey
    #: Id of the scan in progress or last completed; rows written by it carry it in
    #: ``_scan``.
    scan: str
    #: Offset from which the scan continues (all pages before it are stored).
    next_from: int = 0
    #: The scan reached a short page: every record of the window is stored.
    complete: bool = False
    #: ``versionDigest`` of the window's query, taken when the scan started.
    digest: str | None = None
    #: ``changedSince`` watermark (ISO 8601) for resources that support it.
    watermark: str | None = None
    #: Records stored by this scan so far.
    records: int = 0
    #: When this state was written (ISO 8601, UTC).
    updated_at: str = ""
    #: When the scan that last completed the window began (ISO 8601): the last time
    #: every record was read, not trusting a digest, a version or ``changedSince``.
    verified_at: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """One page of records of one resource and company, with the state it completes.

    Applied in this order, in the caller's transaction:

    1. upsert ``rows`` (last one wins on a repeated ``(company_id, id)``);
    2. delete the rows whose ids are in ``deleted_ids``;
    3. when ``delete_unseen``: delete the company's rows in this window (``_date`` in
       ``[window_from, window_to)``, or the whole company for an undated window; and,
       when the state's key has a ``partition``, only rows of that partition or of none)
       whose ``_scan`` differs from ``state.scan``: records the completed scan did not see;
    4. when ``live_ids`` is not ``None``: delete the company's rows in this window (as in
       3) whose id is not in ``live_ids`` (deletions found by an id-only scan);
    5. delete the states of ``superseded`` windows (a window replaced by its halves);
    6. store ``state`` (``None``: rows only).

    Rows take ``state.scan`` as their ``_scan``; without a state an existing row keeps its
    ``_scan`` and a new one gets none, which step 3 counts as unseen. Rows take
    ``partition`` as their ``_part`` (Tripletex hides some records unless a filter asks
    for them, so such a resource is read in several queries, one per partition); with
    ``None`` an existing row keeps its ``_part`` and a new one gets none. ``delete_unseen``
    and ``live_ids`` need a ``state`` (they act on its window), and ``state`` must be of
    ``company_id``.

    Every row's ``_version`` is the record's ``version``: the value of the table's typed
    ``version`` column when it has an integer one (it is read from the same record),
    else the top-level ``"version"`` of ``data``; ``None`` when that is not an integer.

    ``only_newer`` (for webhooks, whose deliveries may come late, twice or out of order)
    guards step 1: a row replaces a stored one only when the stored ``_version`` is
    ``None`` or the row's is greater or equal (equal: a replay, harmless). A row without a
    version never replaces one with a version. Within the batch the row with the highest
    version wins. Deletions (``deleted_ids``, steps 3 and 4) are never guarded: Tripletex
    does not reuse ids and a delete event carries no version, so a deleted record stays
    deleted; keeping a late update from bringing it back is the caller's business (the
    webhook receiver remembers deletions).

    ``fence`` (a sync's lease, see `tripletex_async.sinks._lease`): a sink that holds leases
    refuses the whole transaction with `LeaseLostError` unless the fence still holds its
    lease, checked inside that same transaction. Sinks without leases ignore it.
    """

    table: Table
    company_id: int
    rows: Sequence[Row] = ()
    state: WindowState | None = None
    delete_unseen: bool = False
    deleted_ids: Sequence[int] = ()
    live_ids: Collection[int] | None = None
    superseded: Sequence[StateKey] = field(default_factory=tuple)
    only_newer: bool = False
    fence: Fence | None = None
    partition: str | None = None


@runtime_checkable
class Sink(Protocol):
    """Where synced records and their state go. Safe to call from concurrent tasks."""

    async def open(self, tables: Sequence[Table]) -> None:
        """Create or migrate the schema and the tables (adding missing columns)."""
        ...

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        """Every stored window state of one resource of one company."""
        ...

    async def write(self, batches: Sequence[Batch]) -> None:
        """Apply ``batches`` in one transaction (all or nothing)."""
        ...

    async def aclose(self) -> None:
        """Flush and release everything; idempotent."""
        ...


@runtime_checkable
class IndexingSink(Protocol):
    """A sink whose tables get indexes once filled (the built-in SQL sinks): `sync`
    calls `build_indexes` when a run ends."""

    async def build_indexes(self) -> None:
        """Build the indexes deferred while tables were loaded."""
        ...


@runtime_checkable
class DurableSink(Protocol):
    """A sink that trades durability for speed unless told not to (SQLite's
    ``synchronous=NORMAL``): the webhook receiver calls `make_durable` before it writes,
    because its queue records an event applied once the write returns."""

    async def make_durable(self) -> None:
        """From now on every commit is on disk before `Sink.write` returns."""
        ...


@runtime_checkable
class ReadableSink(Sink, Protocol):
    """A sink that can also give its records back (all built-in sinks can)."""

    async def read(self, resource: str) -> dict[tuple[int, int], bytes]:
        """Every stored record of ``resource``: ``(company_id, id) -> data`` as JSON bytes
        (as fetched; PostgreSQL's jsonb gives the same value with normalised spacing
        and key order)."""
        ...
