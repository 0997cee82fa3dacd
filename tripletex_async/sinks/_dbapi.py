"""`DbapiSink`: what the SQLite and DuckDB sinks share. One synchronous DB-API connection,
used from one worker thread at a time (a ``CapacityLimiter(1)``) so the event loop never
blocks; the tables, state, deletions and leases of `_sql` and `_lease_sql` in its dialect.

A subclass says how to connect, how a transaction begins and ends, which tables exist and
how a batch's rows are upserted; everything else is here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import anyio
import anyio.to_thread

from ..client._errors import LeaseError, LeaseHeldError, LeaseLostError
from . import _lease_sql as _lease
from . import _sql
from ._base import Batch, SinkError, Table, WindowState
from ._common import Checked, SinkBase, checked_rows, stored_version, wanted_fences
from ._lease import Fence, Holder, lost_message, revocable

__all__ = ["DbapiSink", "first_row"]

_T = TypeVar("_T")


class _Connection(Protocol):
    """What is used of a DB-API connection (``sqlite3``'s, ``duckdb``'s)."""

    def execute(self, sql: str, *parameters: Any) -> Any: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...
    def close(self) -> None: ...


#: The driver's connection (``sqlite3.Connection``, ``duckdb.DuckDBPyConnection``).
_C = TypeVar("_C", bound=_Connection)


def first_row(result: Any) -> Any:
    """The first row of a statement's result, reading it to the end: DuckDB (2.0) refuses
    a connection's next statement while a result has rows left unread, which
    ``fetchone()`` leaves (a lease renewal's count made the next write fail)."""
    rows = result.fetchall()
    return rows[0] if rows else None


class DbapiSink(SinkBase, Generic[_C]):
    """A sink on one synchronous DB-API connection (see the module docstring)."""

    def __init__(self, description: str, dialect: _sql.Dialect) -> None:
        super().__init__(description)
        self._d = dialect
        self._limiter = anyio.CapacityLimiter(1)
        self._connection: _C | None = None

    # -- what a subclass says (all run in the worker thread) ----------------------------

    def _connect(self) -> _C:
        """The connection, made on first use and kept in ``_connection``."""
        raise NotImplementedError

    def _transaction(self, connection: _C) -> AbstractContextManager[object]:
        """Begin a transaction; commit on leaving, roll back on an exception."""
        raise NotImplementedError

    def _tables(self, connection: _C) -> dict[str, set[str]]:
        """Every table of the database with its columns."""
        raise NotImplementedError

    def _upsert(self, connection: _C, batch: Batch, rows: list[Checked]) -> None:
        """Upsert ``rows`` of ``batch`` (`checked_rows`, never empty; `_sql.upsert_rows`
        turns them into parameters)."""
        raise NotImplementedError

    def _changed(self, result: Any) -> int:
        """Rows an UPDATE changed, from what ``execute`` returned."""
        raise NotImplementedError

    def _held(self, error: SinkError) -> LeaseHeldError | None:
        """The lease-held error a failure to take a lease means (the database is locked
        by another process), or ``None`` when it means something else."""
        return None

    # -- the sink --------------------------------------------------------------------------

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        await self._run(partial(self._open, tables), "open", transaction=True)

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        """Every stored window state of one resource of one company."""
        query = _sql.state_query(self._d)
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
        host's clock (a database file is written from one host).
        """
        async with self._using(opening=True):
            try:
                return await self._run(
                    partial(self._acquire, frozenset(scopes), holder, ttl),
                    "take a lease on",
                    transaction=True,
                )
            except SinkError as exc:
                held = self._held(exc)
                if held is None:
                    raise
                raise held from exc

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

    async def _run(self, work: Callable[[_C], _T], action: str, *, transaction: bool = False) -> _T:
        call = partial(self._call, work, action, transaction)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    # -- everything below runs in the worker thread -------------------------------------

    def _call(self, work: Callable[[_C], _T], action: str, transaction: bool) -> _T:
        try:
            connection = self._connect()
            if not transaction:
                return work(connection)
            with self._transaction(connection):
                return work(connection)
        except (SinkError, LeaseError):
            raise
        except Exception as exc:
            raise SinkError(f"could not {action} {self._description}: {exc}") from exc

    def _open(self, tables: Sequence[Table], connection: _C) -> None:
        d = self._d
        for statement in _sql.base_ddl(d):
            connection.execute(statement)
        row = first_row(connection.execute(_sql.meta_query(d, "schema_version")))
        stored = None if row is None else stored_version(row[0])
        existing = self._tables(connection)
        migrations = _sql.migration_statements(d, stored, existing)
        for statement in migrations:
            connection.execute(statement)
        if migrations:
            existing = self._tables(connection)
        self._deferred.update((t.name, t) for t in _sql.deferred_indexes(tables, existing))
        pending = {key for (key,) in connection.execute(_sql.pending_query(d)).fetchall()}
        for statement, params in _sql.table_statements(d, tables, existing, pending):
            connection.execute(statement, *([list(params)] if params else []))

    def _acquire(self, scopes: frozenset[int], holder: Holder, ttl: float, connection: _C) -> Fence:
        d = self._d
        for statement in [*_sql.base_ddl(d), *_lease.lease_ddl(d)]:
            connection.execute(statement)
        rows = connection.execute(_lease.conflicts(d), (_lease.scopes_param(d, scopes),))
        now = time.time()
        records = [_lease.holder_record(row)[0] for row in rows.fetchall()]
        for record in revocable(records, now, len(scopes)):
            for statement in _lease.delete_holder(d):
                connection.execute(statement, (record.epoch,))
        row = first_row(connection.execute(_sql.meta_query(d, "lease_epoch")))
        epoch = (0 if row is None else stored_version(row[0])) + 1
        connection.execute(_sql.meta_upsert(d, "lease_epoch"), (str(epoch),))
        connection.execute(
            _lease.holder_insert(d), _lease.holder_values(epoch, holder, now, ttl, None)
        )
        connection.executemany(_lease.scope_upsert(d), [(s, epoch) for s in sorted(scopes)])
        return Fence(epoch, scopes)

    def _renew(self, fence: Fence, connection: _C) -> None:
        if not self._changed(connection.execute(_lease.renew(self._d), (time.time(), fence.epoch))):
            raise self._lost(fence, connection)

    def _give_back(self, fence: Fence, connection: _C) -> None:
        for statement in _lease.delete_holder(self._d):
            connection.execute(statement, (fence.epoch,))

    def _check_fences(self, batches: Sequence[Batch], connection: _C) -> None:
        # Each transaction holds the database's write lock: no takeover slips in between.
        check = _lease.check_fence(self._d, lock=False)
        for fence in wanted_fences(batches):
            if first_row(connection.execute(check, (fence.epoch,))) is None:
                raise self._lost(fence, connection)

    def _lost(self, fence: Fence, connection: _C) -> LeaseLostError:
        scope = min(fence.scopes, default=0)
        row = first_row(connection.execute(_lease.taker(self._d), (scope,)))
        return LeaseLostError(lost_message(_lease.taker_holder(row)))

    def _write(self, batches: Sequence[Batch], connection: _C) -> None:
        self._check_fences(batches, connection)
        for batch in batches:
            self._check_batch(batch)
            rows = checked_rows(batch)
            if rows:
                self._upsert(connection, batch, rows)
            for statement, params in _sql.after_upsert(self._d, batch):
                connection.executemany(statement, params)

    def _read(self, resource: str, connection: _C) -> dict[tuple[int, int], bytes]:
        table = Table(resource).name
        if table not in self._tables(connection):
            return {}
        rows = connection.execute(_sql.read_query(self._d, table)).fetchall()
        return {(company, id_): data.encode() for company, id_, data in rows}
