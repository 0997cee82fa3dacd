"""`DuckDBSink`: one DuckDB file for analysts; rows are bulk-loaded through Arrow.

duckdb and pyarrow are optional dependencies (``pip install "tripletex-async[duckdb]"``);
they are imported when a sink is created, so importing this module never needs them.

Tables, state, schema version, deletions and leases are those of the other SQL sinks
(`_sql`, `_lease_sql`, dialect `_sql.DUCKDB`). Column types: integers ``BIGINT``, reals
``DOUBLE``, decimals ``DECIMAL(38,10)`` (exact; a value needing more than ten decimals is
NULL, never rounded), text ``VARCHAR``, booleans ``BOOLEAN``, dates ``DATE``, timestamps
``TIMESTAMPTZ`` (naive ones are Europe/Oslo time), and ``data`` ``JSON``, which checks the
text and keeps it byte for byte (see `_sql_columns`). Tables have no secondary index
(`_sql.DUCKDB`): DuckDB's zone maps serve filters on company and date. A typed column added
to a table that holds rows is filled from ``data`` in SQL, decimals by `json_decimal`,
registered on the connection as ``tripletex_decimal`` (DuckDB's JSON functions read numbers
as doubles).

Writes. Each batch's rows become one ``pyarrow.Table``, built column by column with the
target's types, which DuckDB scans without a copy; one ``INSERT ... SELECT ...
ON CONFLICT`` per batch upserts them all. Nothing is inserted row by row. The database
checkpoints every 256 MB of WAL rather than DuckDB's 16 MB (a setting of the database, for
every connection of this process to it).

Processes. DuckDB locks a file for the one process that opens it for writing; another
process (a second sync, an analyst's DuckDB shell) fails to open it, which the sink
reports as a `SinkError` naming the file and that process, and `acquire_lease` as
`LeaseHeldError`, so that ``--wait`` waits for the other process to let go. Within one
process, every connection to a file shares one DuckDB database, whose transactions are
optimistic: two conflicting ones fail rather than wait, and a fence checked by a read
would not stop a takeover committed meanwhile. So every transaction on a file takes that
file's process-wide lock (`_file_lock`), as SQLite's ``BEGIN IMMEDIATE`` takes its write
lock: sinks and leases then behave as the SQLite sink's do.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ..client._errors import LeaseHeldError
from . import _sql
from ._base import Batch, ColumnKind, SinkError
from ._common import Checked
from ._dbapi import DbapiSink, first_row
from ._sql_columns import DUCKDB_DECIMAL, DUCKDB_DECIMAL_TYPE, json_decimal

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

__all__ = ["DuckDBSink"]

_D = _sql.DUCKDB
_STAGE: Final = "_tripletex_stage"
_CHECKPOINT: Final = "256MB"
#: The kind of each internal column (`_common.INTERNAL_COLUMNS`), for its Arrow type.
_INTERNAL_KINDS: Final[tuple[ColumnKind, ...]] = (
    "integer",
    "integer",
    "text",
    "text",
    "text",
    "integer",
    "text",
)

# One lock per database file in this process (see the module's docstring); never removed,
# like DuckDB's own cache of open databases.
_FILE_LOCKS: dict[str, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


class DuckDBSink(DbapiSink["DuckDBPyConnection"]):
    """Records and state in one DuckDB database file.

    One connection, used by one worker thread at a time (the sink owns a
    ``CapacityLimiter(1)``); each `write` is one transaction. While a sink is open, no
    other process can open the file, not even to read it.

    Example::

        sink = DuckDBSink("tripletex.duckdb")
        await sink.open([Table("invoice", (Column("amount", "decimal"),))])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        _require_duckdb()  # fail now, with the install hint, rather than on open()
        #: The database file (``":memory:"`` works too, for one sink's lifetime).
        self.path = os.fspath(path)
        memory = self.path == ":memory:"
        shown = self.path if memory else str(Path(self.path).absolute())
        super().__init__(f"DuckDB database {shown}", _D)
        self._file_lock = threading.Lock() if memory else _file_lock(os.path.realpath(shown))

    # Everything below runs in the worker thread.

    def _connect(self) -> DuckDBPyConnection:
        if self._connection is not None:
            return self._connection
        import duckdb

        try:
            connection = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise _open_error(self._description, exc) from exc
        try:
            # A checkpoint (the WAL merged into the file) costs more the bigger the
            # database: every 16 MB of WAL (DuckDB's default, a few pages of a sync) made
            # commits three times slower. It also runs when the last connection closes.
            connection.execute(f"SET checkpoint_threshold = '{_CHECKPOINT}'")
            with self._file_lock:  # sinks of one file share its functions
                _register_functions(connection)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _transaction(self, connection: DuckDBPyConnection) -> AbstractContextManager[object]:
        return _locked_transaction(self._file_lock, connection)

    def _tables(self, connection: DuckDBPyConnection) -> dict[str, set[str]]:
        return _tables(connection)

    def _changed(self, result: Any) -> int:
        updated = first_row(result)
        return int(updated[0]) if updated else 0

    def _held(self, error: SinkError) -> LeaseHeldError | None:
        # The other process may be a sync that lets go when done: to the caller, the
        # lease is held.
        return (
            LeaseHeldError(f"{error}; wait for it (--wait SECONDS)")
            if _IN_USE in str(error)
            else None
        )

    def _upsert(self, connection: DuckDBPyConnection, batch: Batch, rows: list[Checked]) -> None:
        _upsert(connection, batch, _sql.upsert_rows(_D, batch, rows))


def _upsert(connection: DuckDBPyConnection, batch: Batch, rows: list[tuple[object, ...]]) -> None:
    """Upsert ``rows`` (`_sql.upsert_rows`) with one statement reading an Arrow table."""
    import pyarrow as pa

    names = _sql.insert_columns(_D, batch.table)
    kinds = [*_INTERNAL_KINDS, *(column.kind for column in batch.table.columns)]
    types = [_arrow_type(pa, kind) for kind in kinds]
    arrays = [
        pa.array(values, type=t) for values, t in zip(zip(*rows, strict=True), types, strict=True)
    ]
    staged = pa.Table.from_arrays(arrays, names=names)
    columns = ", ".join(_sql.ident(name) for name in names)
    only_newer = batch.only_newer
    connection.register(_STAGE, staged)
    try:
        connection.execute(
            f"{_sql.upsert_tail(_D, batch.table)} SELECT {columns} FROM {_STAGE}"
            f"{_sql.upsert_conflict(_D, batch.table, only_newer=only_newer)}"
        )
    finally:
        connection.unregister(_STAGE)


def _arrow_type(pa: Any, kind: ColumnKind) -> Any:
    """The Arrow type of a typed column's values, as `_sql_columns.converter` gives them."""
    if kind == "decimal":
        return pa.decimal128(38, 10)
    if kind == "timestamp":
        return pa.timestamp("us", tz="UTC")  # from aware datetimes, whatever their zone
    return {
        "integer": pa.int64,
        "real": pa.float64,
        "text": pa.string,
        "boolean": pa.bool_,
        "date": pa.date32,
    }[kind]()


@contextmanager
def _locked_transaction(lock: threading.Lock, connection: DuckDBPyConnection) -> Iterator[None]:
    """A transaction under the file's process-wide lock (see the module docstring)."""
    with lock:
        yield from _transaction(connection)


def _transaction(connection: DuckDBPyConnection) -> Iterator[None]:
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        # A failed COMMIT has already rolled back: there is nothing left to roll back.
        with suppress(Exception):
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _tables(connection: DuckDBPyConnection) -> dict[str, set[str]]:
    """Every table of the database with its columns."""
    rows = connection.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main'"
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _register_functions(connection: DuckDBPyConnection) -> None:
    """Register `_sql_columns.json_decimal`, unless a connection of the same database (of
    this process) did; it stays for as long as the database is open."""
    found = first_row(
        connection.execute(
            "SELECT 1 FROM duckdb_functions() WHERE function_name = ?", (DUCKDB_DECIMAL,)
        )
    )
    if found is None:
        # "special": the function's None is NULL. DuckDB 1.x and 2.x keep the enum in
        # different modules; both take its name.
        connection.create_function(  # type: ignore[call-overload]
            DUCKDB_DECIMAL,
            json_decimal,
            ["VARCHAR", "VARCHAR"],
            DUCKDB_DECIMAL_TYPE,
            null_handling="special",
            side_effects=False,
        )


def _file_lock(path: str) -> threading.Lock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(path, threading.Lock())


_OTHER_PID: Final = re.compile(r"\(PID (\d+)\)")
_IN_USE: Final = "is open in another process"


def _open_error(description: str, exc: Exception) -> SinkError:
    """DuckDB's failure to open a file as our error: another process holding its lock is
    said plainly (DuckDB's own message ends in a link to its documentation)."""
    reason = str(exc)
    if "Could not set lock" not in reason:
        return SinkError(f"cannot open {description}: {reason}")
    pid = _OTHER_PID.search(reason)
    who = f" (pid {pid.group(1)})" if pid else ""
    return SinkError(
        f"{description} {_IN_USE}{who}: DuckDB lets one process at a time open a file "
        "for writing; close it there or let that process finish"
    )


def _require_duckdb() -> None:
    try:
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise SinkError(
            'DuckDBSink needs duckdb and pyarrow: pip install "tripletex-async[duckdb]"'
        ) from None
