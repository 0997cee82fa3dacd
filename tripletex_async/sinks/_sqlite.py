"""`SQLiteSink`: one SQLite file, written from a worker thread so the event loop never blocks."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

from ..client._errors import LeaseHeldError
from . import _sql
from ._base import Batch, SinkError, Table
from ._common import Checked
from ._dbapi import DbapiSink

__all__ = ["SQLiteSink", "immediate_transaction"]

_D = _sql.SQLITE

_T = TypeVar("_T")

#: Bytes per page of a database the sink creates.
PAGE_SIZE = 16384


class SQLiteSink(DbapiSink[sqlite3.Connection]):
    """Records and state in one SQLite database file (WAL mode, ``synchronous=NORMAL``;
    ``FULL`` with ``durable=True``).

    One connection, used by one worker thread at a time: the sink owns a
    ``CapacityLimiter(1)`` and runs every statement through it. Each `write` is one
    ``BEGIN IMMEDIATE`` ... ``COMMIT``.

    Example::

        sink = SQLiteSink("tripletex.db")
        await sink.open([Table("invoice", (Column("invoice_date", "date", ("invoiceDate",)),))])
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        #: The database file (``":memory:"`` works too, for one sink's lifetime).
        self.path = os.fspath(path)
        #: ``synchronous=FULL``: a commit is on disk before `write` returns, as it must be
        #: where something else records it as done (the webhook queue's "applied"). A
        #: sync does not need it: a commit lost to an OS crash is re-read by the next run.
        self.durable = durable
        shown = self.path if self.path == ":memory:" else Path(self.path).absolute()
        super().__init__(f"SQLite database {shown}", _D)
        #: Upsert statements by (table, only_newer, rows), see `_statement`.
        self._upserts: dict[tuple[Table, bool, int], str] = {}

    async def make_durable(self) -> None:
        """From now on every commit is on disk before `write` returns (``durable``)."""
        self.durable = True
        await self._run(lambda c: c.execute("PRAGMA synchronous=FULL"), "configure")

    async def _build_indexes(self, tables: Sequence[Table]) -> None:
        statements = [sql for table in tables for sql in _sql.index_statements(_D, table)]

        def build(connection: sqlite3.Connection) -> None:
            # Two sorter threads. (A memory map of the file made the build a third
            # faster, but the mapped pages count as the process's memory: a 200,000-row
            # backfill's peak RSS went from 126 to 525 MB.)
            connection.execute("PRAGMA threads = 2")
            try:
                for statement in statements:
                    connection.execute(statement)
            finally:
                connection.execute("PRAGMA threads = 0")

        await self._run(build, "index", transaction=True)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        _check_path(self.path)
        # isolation_level=None: no implicit transactions, ours are explicit.
        try:
            connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise SinkError(f"cannot open SQLite database {self.path}: {exc}") from None
        try:
            # The first statement that reads the file: a file that is not a database
            # fails here. A new database gets pages of 16 KiB (SQLite's default is 4):
            # a record with its JSON and typed columns is about 2 kB, so 4 KiB pages hold
            # one or two and split often; 16 KiB ones wrote a 200,000-customer backfill
            # about 1.2-1.4x faster and a tenth smaller. Ignored for an existing file.
            connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    # Everything below runs in the worker thread.

    def _transaction(self, connection: sqlite3.Connection) -> AbstractContextManager[object]:
        return immediate_transaction(connection)

    def _tables(self, connection: sqlite3.Connection) -> dict[str, set[str]]:
        names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name: _columns(connection, name) for (name,) in names.fetchall()}

    def _changed(self, result: Any) -> int:
        count: int = result.rowcount
        return count

    def _held(self, error: SinkError) -> LeaseHeldError | None:
        if "locked" not in str(error):
            return None
        # A writer holds the database's write lock past the busy timeout (one frozen
        # mid-transaction, say): to the caller, the lease is held.
        return LeaseHeldError(
            f"another process holds {self._description} locked; wait for it "
            "(--wait SECONDS) or try again later"
        )

    def _upsert(self, connection: sqlite3.Connection, batch: Batch, rows: list[Checked]) -> None:
        width = len(_sql.insert_columns(_D, batch.table))
        most = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
        for size, chunk in _chunks(rows, most):
            # Turned into parameters a statement at a time: a page of 10,000 customers
            # as parameters at once was 20 MB more at the peak.
            values = list(chain.from_iterable(_sql.upsert_rows(_D, batch, chunk)))
            connection.execute(self._statement(batch, size), values)

    def _statement(self, batch: Batch, rows: int) -> str:
        """The upsert of ``rows`` rows of the batch's table, built once per shape (the text
        of a statement of 500 rows took a tenth of a backfill's time to build)."""
        shape = (batch.table, batch.only_newer, rows)
        sql = self._upserts.get(shape)
        if sql is None:
            sql = _sql.upsert_values(_D, batch.table, only_newer=batch.only_newer, rows=rows)
            self._upserts[shape] = sql
        return sql


#: Statement sizes (rows) a batch's remainder is cut into, so that a connection's
#: statement cache holds few distinct texts per table.
_REMAINDERS = (128, 16, 1)


def _chunks(rows: Sequence[_T], most: int) -> Iterator[tuple[int, Sequence[_T]]]:
    """``rows`` as ``(row count, those rows)`` per statement.

    One multi-row INSERT per chunk instead of ``executemany``: the sqlite3 module releases
    the GIL around every statement step, and reacquiring it after each of a page's
    thousand rows waits behind the event loop's thread (up to its 5 ms switch interval),
    which made a busy sync's writer thread several times slower than SQLite itself. A
    statement of a few hundred rows steps once.
    """
    start = 0
    for size in (max(1, most), *_REMAINDERS):
        while len(rows) - start >= size:
            yield size, rows[start : start + size]
            start += size


@contextmanager
def immediate_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (the write lock at once) ... ``COMMIT``, or ``ROLLBACK``."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    """The columns of ``table``; empty when it does not exist."""
    return {row[1] for row in connection.execute(f"PRAGMA table_info({_sql.ident(table)})")}


def _check_path(path: str) -> None:
    """A `SinkError` saying what is wrong with a database path SQLite cannot open (its
    own message, "unable to open database file", says neither which nor why)."""
    if path == ":memory:" or path.startswith("file:"):
        return
    where = Path(path)
    if where.is_dir():
        raise SinkError(f"cannot open SQLite database {path}: it is a directory")
    parent = where.absolute().parent
    if not parent.is_dir():
        raise SinkError(f"cannot open SQLite database {path}: no directory {parent}")
    if not where.exists() and not os.access(parent, os.W_OK):
        raise SinkError(f"cannot create SQLite database {path}: {parent} is not writable")
