"""`SQLiteSink`: one SQLite file, written from a worker thread so the event loop never blocks."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from ..client._errors import LeaseError, LeaseHeldError, LeaseLostError
from . import _lease_sql as _lease
from . import _sql
from ._base import Batch, SinkError, Table, WindowState
from ._common import SinkBase, stored_version, wanted_fences
from ._lease import Fence, Holder, lost_message, revocable

__all__ = ["SQLiteSink"]

_T = TypeVar("_T")
_D = _sql.SQLITE


class SQLiteSink(SinkBase):
    """Records and state in one SQLite database file (WAL mode, ``synchronous=NORMAL``).

    One connection, used by one worker thread at a time: the sink owns a
    ``CapacityLimiter(1)`` and runs every statement through it. Each `write` is one
    ``BEGIN IMMEDIATE`` ... ``COMMIT``.

    Example::

        sink = SQLiteSink("tripletex.db")
        await sink.open([Table("invoice", (Column("invoice_date", "date", ("invoiceDate",)),))])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        #: The database file (``":memory:"`` works too, for one sink's lifetime).
        self.path = os.fspath(path)
        shown = self.path if self.path == ":memory:" else Path(self.path).absolute()
        super().__init__(f"SQLite database {shown}")
        self._limiter = anyio.CapacityLimiter(1)
        #: Upsert statements by (table, only_newer, rows), see `_upsert`.
        self._upserts: dict[tuple[Table, bool, int], str] = {}
        self._connection: sqlite3.Connection | None = None

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        await self._run(partial(self._open, tables), "open", transaction=True)

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

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        """Every stored window state of one resource of one company."""
        query = _sql.state_query(_D)
        async with self._using():
            rows = await self._run(
                lambda c: c.execute(query, (connection, company_id, resource)).fetchall(),
                "load state from",
            )
        return [_sql.state_from_row(row) for row in rows]

    async def write(self, batches: Sequence[Batch]) -> None:
        """Apply ``batches`` in one transaction (all or nothing)."""
        async with self._using():
            await self._run(partial(self._write, batches), "write to", transaction=True)

    async def read(self, resource: str) -> dict[tuple[int, int], bytes]:
        """Every stored record of ``resource``: ``(company_id, id) -> data``."""
        async with self._using():
            return await self._run(partial(self._read, resource), "read from")

    async def acquire_lease(self, scopes: Collection[int], holder: Holder, ttl: float) -> Fence:
        """Take ``scopes`` (company ids) for ``holder``; see `tripletex_async.sinks._lease`.

        Liveness is judged by the holder's process on this host and its heartbeat, in this
        host's clock (an SQLite file is written from one host).
        """
        async with self._using(opening=True):
            try:
                return await self._run(
                    partial(self._acquire, frozenset(scopes), holder, ttl),
                    "take a lease on",
                    transaction=True,
                )
            except SinkError as exc:
                if "locked" not in str(exc):
                    raise
                # A writer holds the database's write lock past the busy timeout (one
                # frozen mid-transaction, say): to the caller, the lease is held.
                raise LeaseHeldError(
                    f"another process holds {self._description} locked; wait for it "
                    "(--wait SECONDS) or try again later"
                ) from exc

    async def renew_lease(self, fence: Fence) -> None:
        """Renew the heartbeat; `LeaseLostError` when another run took the lease over."""
        async with self._using(opening=True):
            await self._run(partial(self._renew, fence), "renew a lease on", transaction=True)

    async def release_lease(self, fence: Fence) -> None:
        """Give the lease back."""
        async with self._using(opening=True):
            await self._run(partial(self._give_back, fence), "release a lease on", transaction=True)

    async def _release(self) -> None:
        if self._connection is not None:
            await anyio.to_thread.run_sync(self._connection.close, limiter=self._limiter)
            self._connection = None

    async def _run(
        self, work: Callable[[sqlite3.Connection], _T], action: str, *, transaction: bool = False
    ) -> _T:
        call = partial(self._call, work, action, transaction)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    # Everything below runs in the worker thread.

    def _call(self, work: Callable[[sqlite3.Connection], _T], action: str, transaction: bool) -> _T:
        try:
            connection = self._connect()
            if not transaction:
                return work(connection)
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result
        except (SinkError, LeaseError):
            raise
        except Exception as exc:
            raise SinkError(f"could not {action} {self._description}: {exc}") from exc

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
            # fails here.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _open(self, tables: Sequence[Table], connection: sqlite3.Connection) -> None:
        for statement in _sql.base_ddl(_D):
            connection.execute(statement)
        row = connection.execute(_sql.meta_query(_D, "schema_version")).fetchone()
        stored = None if row is None else stored_version(row[0])
        existing = _tables(connection)
        migrations = _sql.migration_statements(_D, stored, existing)
        for statement in migrations:
            connection.execute(statement)
        if migrations:
            existing = _tables(connection)
        self._deferred.update((t.name, t) for t in _sql.deferred_indexes(tables, existing))
        pending = {key for (key,) in connection.execute(_sql.pending_query(_D)).fetchall()}
        for statement, params in _sql.table_statements(_D, tables, existing, pending):
            connection.execute(statement, params)

    def _acquire(
        self, scopes: frozenset[int], holder: Holder, ttl: float, connection: sqlite3.Connection
    ) -> Fence:
        for statement in [*_sql.base_ddl(_D), *_lease.lease_ddl(_D)]:
            connection.execute(statement)
        rows = connection.execute(_lease.conflicts(_D), (_lease.scopes_param(_D, scopes),))
        now = time.time()
        records = [_lease.holder_record(row)[0] for row in rows.fetchall()]
        for record in revocable(records, now, len(scopes)):
            for statement in _lease.delete_holder(_D):
                connection.execute(statement, (record.epoch,))
        row = connection.execute(_sql.meta_query(_D, "lease_epoch")).fetchone()
        epoch = (0 if row is None else stored_version(row[0])) + 1
        connection.execute(_sql.meta_upsert(_D, "lease_epoch"), (str(epoch),))
        connection.execute(
            _lease.holder_insert(_D), _lease.holder_values(epoch, holder, now, ttl, None)
        )
        connection.executemany(_lease.scope_upsert(_D), [(s, epoch) for s in sorted(scopes)])
        return Fence(epoch, scopes)

    def _renew(self, fence: Fence, connection: sqlite3.Connection) -> None:
        if connection.execute(_lease.renew(_D), (time.time(), fence.epoch)).rowcount == 0:
            raise self._lost(fence, connection)

    def _give_back(self, fence: Fence, connection: sqlite3.Connection) -> None:
        for statement in _lease.delete_holder(_D):
            connection.execute(statement, (fence.epoch,))

    def _check_fences(self, batches: Sequence[Batch], connection: sqlite3.Connection) -> None:
        check = _lease.check_fence(_D, lock=False)
        for fence in wanted_fences(batches):
            if connection.execute(check, (fence.epoch,)).fetchone() is None:
                raise self._lost(fence, connection)

    def _lost(self, fence: Fence, connection: sqlite3.Connection) -> LeaseLostError:
        scope = min(fence.scopes, default=0)
        row = connection.execute(_lease.taker(_D), (scope,)).fetchone()
        return LeaseLostError(lost_message(_lease.taker_holder(row)))

    def _write(self, batches: Sequence[Batch], connection: sqlite3.Connection) -> None:
        self._check_fences(batches, connection)
        for batch in batches:
            self._check_batch(batch)
            rows = _sql.upsert_rows(_D, batch)
            most = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _width(rows)
            for size, chunk in _chunks(rows, most):
                connection.execute(self._upsert(batch, size), chunk)
            for statement, params in _sql.after_upsert(_D, batch):
                connection.executemany(statement, params)

    def _upsert(self, batch: Batch, rows: int) -> str:
        """The upsert of ``rows`` rows of the batch's table, built once per shape (the text
        of a statement of 500 rows took a tenth of a backfill's time to build)."""
        shape = (batch.table, batch.only_newer, rows)
        sql = self._upserts.get(shape)
        if sql is None:
            sql = _sql.upsert_values(_D, batch.table, only_newer=batch.only_newer, rows=rows)
            self._upserts[shape] = sql
        return sql

    def _read(self, resource: str, connection: sqlite3.Connection) -> dict[tuple[int, int], bytes]:
        table = Table(resource).name
        if not _columns(connection, table):
            return {}
        rows = connection.execute(_sql.read_query(_D, table))
        return {(company, id_): data.encode() for company, id_, data in rows}


#: Statement sizes (rows) a batch's remainder is cut into, so that a connection's
#: statement cache holds few distinct texts per table.
_REMAINDERS = (128, 16, 1)


def _chunks(rows: Sequence[tuple[object, ...]], most: int) -> Iterator[tuple[int, list[object]]]:
    """``rows`` as ``(row count, their values one after the other)`` per statement.

    One multi-row INSERT per chunk instead of ``executemany``: the sqlite3 module releases
    the GIL around every statement step, and reacquiring it after each of a page's
    thousand rows waits behind the event loop's thread (up to its 5 ms switch interval),
    which made a busy sync's writer thread several times slower than SQLite itself. A
    statement of a few hundred rows steps once.
    """
    start = 0
    for size in (max(1, most), *_REMAINDERS):
        while len(rows) - start >= size:
            chunk = rows[start : start + size]
            yield size, [value for row in chunk for value in row]
            start += size


def _width(rows: Sequence[tuple[object, ...]]) -> int:
    return len(rows[0]) if rows else 1


def _tables(connection: sqlite3.Connection) -> dict[str, set[str]]:
    """Every table of the database with its columns."""
    names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name: _columns(connection, name) for (name,) in names.fetchall()}


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
