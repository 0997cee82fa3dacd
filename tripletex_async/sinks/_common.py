"""What every built-in sink shares: checked rows, the window rule, the version rule and the
open/closed lifecycle, so that the four sinks differ only in how they store things."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import anyio
import msgspec

from ._base import COLUMN_KINDS, SCHEMA_VERSION, Batch, Column, SinkError, StateKey, Table
from ._lease import Fence

__all__ = [
    "CHILD_COLUMNS",
    "INTERNAL_COLUMNS",
    "Checked",
    "Record",
    "SinkBase",
    "Stored",
    "check_name",
    "check_table",
    "checked_rows",
    "doomed",
    "in_window",
    "pending_migrations",
    "records",
    "refuse_newer",
    "replaces",
    "row_scan",
    "stored_version",
    "version_of",
    "wanted_fences",
]

#: Columns every table has before its typed ones; a `Column` may not reuse these names.
INTERNAL_COLUMNS = ("company_id", "id", "data", "_date", "_scan", "_version", "_part")

#: What each internal column holds, for people (``describe``, PostgreSQL's comments).
INTERNAL_DESCRIPTIONS: dict[str, str] = {
    "company_id": "The Tripletex company the record belongs to: a client company of an "
    "accountant's token, or the token's own company.",
    "id": "The record's id in Tripletex, unique within its company.",
    "data": "The record as fetched: JSON with Tripletex's own field names.",
    "_date": "The date the sync cuts this resource into windows by (ISO text); NULL for "
    "undated resources.",
    "_scan": "Internal: the sync scan that last saw the record.",
    "_version": "Internal: the record's version in Tripletex (an older version never "
    "replaces a newer one); NULL when it has none.",
    "_part": "Internal: which of the resource's queries last returned it, such as "
    "isInactive=true (Tripletex hides some records unless asked).",
}

# Names become SQL identifiers and directory names: nothing that could quote, escape or
# traverse.
_NAME = re.compile(r"[A-Za-z0-9_]+")

_Step = TypeVar("_Step")


@dataclass(frozen=True, slots=True)
class Record:
    """One checked row of a batch."""

    id: int
    data: bytes
    date: str | None
    values: tuple[object, ...]
    #: The record's ``version`` (see `Batch`), ``None`` when it has no integer one.
    version: int | None = None


class _VersionOnly(msgspec.Struct):
    version: object = None


_decode_version = msgspec.json.Decoder(_VersionOnly).decode


def version_of(data: bytes) -> int | None:
    """The top-level integer ``version`` of a record's JSON; ``None`` when there is none
    (or ``data`` is not a JSON object: the SQL sinks store such data as given)."""
    try:
        value = _decode_version(data).version
    except msgspec.MsgspecError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def replaces(new: int | None, stored: int | None) -> bool:
    """The rule of `Batch.only_newer`: whether a row of version ``new`` may replace a stored
    one of version ``stored``."""
    if stored is None:
        return True
    return new is not None and new >= stored


def check_name(name: str, what: str = "name") -> str:
    """``name`` itself when it may be used as an identifier; `SinkError` otherwise."""
    if not _NAME.fullmatch(name):
        raise SinkError(f"invalid {what} {name!r}: only letters, digits and '_' are allowed")
    return name


#: The longest table or column name: PostgreSQL cuts longer ones to 63 bytes, silently,
#: after which a sink no longer finds its own table or column.
MAX_NAME = 63


def _check_length(name: str, what: str) -> None:
    if len(name) > MAX_NAME:
        raise SinkError(f"{what} {name!r} is longer than {MAX_NAME} characters")


def check_table(table: Table) -> None:
    """Refuse a table whose name or columns cannot be stored safely."""
    check_name(table.name, "table name")
    _check_length(table.name, "table name")
    _check_columns(table.name, table.columns, set(INTERNAL_COLUMNS))
    names = {table.name}
    for child in table.children:
        check_name(child.name, "table name")
        _check_length(child.name, "table name")
        check_name(child.list_field, f"JSON field name of {child.name}")
        check_name(child.parent_key, f"column name in {child.name}")
        if child.name in names:
            raise SinkError(f"{table.name}: table {child.name!r} is repeated")
        names.add(child.name)
        taken = {*CHILD_COLUMNS, child.parent_key}
        _check_columns(child.name, child.columns, taken)


#: Columns every child table (`ChildTable`) has, besides its parent key, before its typed
#: ones.
CHILD_COLUMNS = ("company_id", "position", "id")


def _check_columns(table: str, columns: Sequence[Column], seen: set[str]) -> None:
    for column in columns:
        check_name(column.name, f"column name in {table}")
        _check_length(column.name + ("_minor" if column.kind == "decimal" else ""), "column")
        if column.name in seen:
            raise SinkError(f"{table}: column {column.name!r} is reserved or repeated")
        if column.kind not in COLUMN_KINDS:
            raise SinkError(f"{table}.{column.name}: unknown column kind {column.kind!r}")
        for step in column.path:
            check_name(step, f"JSON path of {table}.{column.name}")
        seen.add(column.name)
        if column.kind == "decimal":  # SQLite stores it twice (see _sql_columns)
            if column.name + "_minor" in seen:
                raise SinkError(f"{table}: column {column.name}_minor is repeated")
            seen.add(column.name + "_minor")


#: A checked row: ``(id, data, date, version, typed values)``.
Checked = tuple[int, bytes, "str | None", "int | None", tuple[object, ...]]


def checked_rows(batch: Batch) -> list[Checked]:
    """The batch's rows, checked, with one row per id (the last one wins; with
    ``only_newer`` the last of the highest version). The SQL sinks bind these directly:
    this runs once per stored record."""
    width = 3 + len(batch.table.columns)
    typed_version = _typed_version_index(batch.table)
    by_id: dict[int, Checked] = {}
    for row in batch.rows:
        if len(row) != width:
            raise SinkError(
                f"{batch.table.name}: a row has {len(row)} values, expected {width} "
                f"(id, data, date and {len(batch.table.columns)} typed values)"
            )
        # Indexing and a slice: star-unpacking built a list per row, a tenth of the
        # writer's Python time.
        id_, data, date, values = row[0], row[1], row[2], row[3:]
        if not isinstance(id_, int) or isinstance(id_, bool):
            raise SinkError(f"{batch.table.name}: row id {id_!r} is not an integer")
        if not isinstance(data, bytes):
            raise SinkError(f"{batch.table.name} id {id_}: data must be JSON bytes")
        if date is not None and not isinstance(date, str):
            raise SinkError(f"{batch.table.name} id {id_}: date must be a string or None")
        version = values[typed_version] if typed_version is not None else None
        if not isinstance(version, int) or isinstance(version, bool):
            version = version_of(data)
        old = by_id.get(id_)
        if old is None or not batch.only_newer or replaces(version, old[3]):
            by_id[id_] = (id_, data, date, version, values)
    return list(by_id.values())


def records(batch: Batch) -> list[Record]:
    """`checked_rows` as `Record`s, for the sinks that keep records themselves."""
    return [
        Record(id_, data, date, tuple(values), version)
        for id_, data, date, version, values in checked_rows(batch)
    ]


def _typed_version_index(table: Table) -> int | None:
    """Where a row's typed values hold the record's ``version``, if the table has it (no
    need to parse the JSON again: the engine read both from the same record)."""
    for i, column in enumerate(table.columns):
        if column.name == "version" and column.kind == "integer":
            return i
    return None


def row_scan(batch: Batch) -> str | None:
    """The ``_scan`` a batch's rows get: its state's scan, or ``None`` to keep the stored one.

    Rows written without state (single updates, webhooks) keep the scan of the row they
    replace, so a scan that already saw the record does not delete it; new rows get no
    scan, which counts as unseen for ``delete_unseen``.
    """
    return batch.state.scan if batch.state is not None else None


def wanted_fences(batches: Iterable[Batch]) -> list[Fence]:
    """The distinct fences of ``batches``: each is checked once per transaction."""
    return list(dict.fromkeys(b.fence for b in batches if b.fence is not None))


def in_window(key: StateKey, date: str | None, part: str | None = None) -> bool:
    """Whether a row dated ``date`` of partition ``part`` belongs to the window of ``key``
    (undated: all rows; a key without partition: every partition; rows of none: all)."""
    if key.partition and part is not None and part != key.partition:
        return False
    if key.window_from == "":
        return True
    return date is not None and key.window_from <= date < key.window_to


#: What the deletion steps of `Batch` look at in a stored row: ``(id, date, scan, part)``.
Stored = tuple[int, "str | None", "str | None", "str | None"]


def doomed(batch: Batch, rows: Iterable[Stored]) -> list[int]:
    """The ids steps 3 and 4 of `Batch` delete, among the company's stored rows."""
    state = batch.state
    if state is None or not (batch.delete_unseen or batch.live_ids is not None):
        return []
    live = None if batch.live_ids is None else frozenset(batch.live_ids)
    return sorted(
        id_
        for id_, date, scan, part in rows
        if in_window(state.key, date, part)
        and ((batch.delete_unseen and scan != state.scan) or (live is not None and id_ not in live))
    )


def pending_migrations(stored: int, steps: Sequence[_Step], where: str) -> Sequence[_Step]:
    """The migration steps from schema version ``stored`` to `SCHEMA_VERSION`.

    ``steps[n - 1]`` upgrades version ``n`` to ``n + 1``; a newer stored version is refused
    before anything is touched.
    """
    if len(steps) != SCHEMA_VERSION - 1:
        raise AssertionError(f"{len(steps)} migration steps for schema version {SCHEMA_VERSION}")
    refuse_newer(stored, where)
    return steps[stored - 1 :]


def stored_version(value: object) -> int:
    """A stored schema version (text in a database) as a number."""
    try:
        return int(str(value))
    except ValueError:
        raise SinkError(f"the stored schema version {value!r} is not a number") from None


def refuse_newer(stored: int, where: str) -> None:
    """Refuse storage written by a newer version of this library (or not by it at all)."""
    if stored > SCHEMA_VERSION:
        raise SinkError(
            f"{where} has schema version {stored}, newer than version {SCHEMA_VERSION} of "
            "this library: upgrade tripletex-async to use it"
        )
    if stored < 1:
        raise SinkError(f"{where} has an invalid schema version {stored}")


class SinkBase:
    """The lifecycle every built-in sink shares: one lock, opened tables, idempotent close.

    Every public method runs inside `_using`, which serializes callers (a sink holds one
    connection or one set of files) and refuses use after `aclose`.
    """

    def __init__(self, description: str) -> None:
        self._description = description
        self._lock = anyio.Lock()
        self._closed = False
        self._opened = False
        #: Table name -> names of its typed columns, as opened on this sink.
        self._opened_columns: dict[str, set[str]] = {}
        #: Tables `open` created, whose indexes wait for `build_indexes`.
        self._deferred: dict[str, Table] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._description}>"

    @property
    def description(self) -> str:
        """Where the data goes, for people: ``SQLite database /abs/path.db`` (no password)."""
        return self._description

    @asynccontextmanager
    async def _using(self, *, opening: bool = False) -> AsyncIterator[None]:
        async with self._lock:
            if self._closed:
                raise SinkError(f"{self._description} is closed")
            if not (opening or self._opened):
                raise SinkError(f"{self._description} is not open: call open() first")
            yield

    async def open(self, tables: Sequence[Table]) -> None:
        """Create or migrate the schema and the tables (adding missing columns). Tables
        this sink opened before, with these columns, are not looked at again (a worker
        reuses one sink for job after job)."""
        for table in tables:
            check_table(table)
        async with self._using(opening=True):
            known = self._opened_columns
            if self._opened and all(
                {c.name for c in t.columns} <= known.get(t.name, set()) for t in tables
            ):
                return
            await self._open_tables(tables)
            for table in tables:
                columns = self._opened_columns.setdefault(table.name, set())
                columns.update(c.name for c in table.columns)
            self._opened = True

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        """Subclasses create or check their storage here (the tables are valid)."""
        raise NotImplementedError

    def _check_batch(self, batch: Batch) -> None:
        """Refuse a batch for a table or column this sink was not opened with."""
        known = self._opened_columns.get(batch.table.name)
        if known is None:
            raise SinkError(f"table {batch.table.name!r} was not opened on {self._description}")
        missing = {c.name for c in batch.table.columns} - known
        if missing:
            raise SinkError(f"{batch.table.name}: columns {sorted(missing)} were not opened")
        if batch.state is None and (batch.delete_unseen or batch.live_ids is not None):
            raise SinkError(
                f"{batch.table.name}: delete_unseen and live_ids need a state (its window)"
            )

    async def aclose(self) -> None:
        """Flush and release everything; idempotent."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            await self._release()

    async def build_indexes(self) -> None:
        """Build the indexes of the tables `open` created, now that a sync has filled
        them (at once: faster than keeping them up to date row by row while a backfill
        loads). A run that ends without this (killed) leaves them to the next `open`."""
        async with self._using():
            deferred, self._deferred = list(self._deferred.values()), {}
            if deferred:
                await self._build_indexes(deferred)

    async def _build_indexes(self, tables: Sequence[Table]) -> None:
        """Subclasses with indexes build those of ``tables`` here."""

    async def _release(self) -> None:
        """Subclasses release their connection or files here."""
