"""`PostgresSink`: one psycopg 3 async connection; rows are bulk-loaded with ``COPY``.

psycopg is an optional dependency (``pip install "tripletex-async[postgres]"``); it is
imported when a sink is created, so importing this module never needs it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import sniffio

from ..client._errors import ConfigurationError, LeaseError, LeaseLostError
from . import _lease_sql as _lease
from . import _sql
from ._base import SCHEMA_VERSION, Batch, Column, SinkError, Table, WindowState
from ._common import SinkBase, check_name, stored_version, wanted_fences
from ._lease import Fence, Holder, lost_message, revocable

if TYPE_CHECKING:
    from psycopg import AsyncConnection, AsyncCursor

__all__ = ["PostgresSink"]

#: The name in a ``CREATE INDEX IF NOT EXISTS name ON ...`` of `_sql` (quoted or not).
_INDEX = re.compile(r'CREATE INDEX IF NOT EXISTS "?([^" ]+)"? ON "[^"]+"\."([^"]+)"')
#: The table's name in a ``CREATE TABLE IF NOT EXISTS "schema"."name" (...`` of `_sql`.
_TABLE = re.compile(r'CREATE TABLE IF NOT EXISTS "[^"]+"\."([^"]+)" ')
#: How long opening, creating and taking a lease wait for another session's locks: a
#: frozen worker's open transaction is an error here after this, never a hang.
_LOCK_TIMEOUT = "15s"

_T = TypeVar("_T")
_Work = Callable[["AsyncConnection[Any]"], Awaitable[_T]]


class PostgresSink(SinkBase):
    """Records and state in PostgreSQL, every table in one schema (created if missing).

    ``data`` is ``jsonb``, so records can be queried (``data->>'name'``); `read` therefore
    gives back PostgreSQL's normalized JSON text, equal in value to what was fetched but not
    byte for byte. Each `write` is one transaction; a batch's rows are ``COPY``-ed, much
    faster than row-by-row inserts: straight into the table when none of its ids is stored
    yet (a backfill), else into a temporary table and upserted from it with one
    ``INSERT ... SELECT``.

    Error messages name the server and database, never the password.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str = "public",
        connect_timeout: int = 10,
        idle_in_transaction: float = 60.0,
    ) -> None:
        _require_psycopg()  # fail now, with the install hint, rather than on open()
        info = _conninfo(url)
        #: The schema that holds every table.
        self.schema = check_name(schema, "schema name")
        #: Where the database is (``user@host:port/dbname``), safe to show.
        self.target = _describe(info)
        super().__init__(f"PostgreSQL database {self.target} (schema {schema})")
        self._url = url
        self._password = info.get("password") or ""
        self._connect_timeout = connect_timeout
        #: Seconds the server lets this session sit in an open transaction, idle, before
        #: it ends the session (``idle_in_transaction_session_timeout``): a process frozen
        #: mid-transaction (SIGSTOP, a paused VM) would otherwise hold its locks, and
        #: every other run waiting for them, until it woke.
        self.idle_in_transaction = idle_in_transaction
        self._dialect = _sql.postgres_dialect(self.schema)
        self._connection: AsyncConnection[Any] | None = None
        #: The advisory-lock namespace of this schema's leases (a signed 32-bit number).
        self._lock_space = zlib.crc32(f"tripletex_async:{self.schema}".encode()) - 2**31

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        await self._run(partial(self._open, tables), "open")

    async def _build_indexes(self, tables: Sequence[Table]) -> None:
        """One index per transaction, one creator at a time: ``CREATE INDEX`` holds a
        SHARE lock on its table until its transaction ends, so building every table's
        indexes in one transaction deadlocks with another run writing the same tables
        in another order (runs of other companies into this schema: many workers)."""
        d = self._dialect
        statements = [sql for table in tables for sql in _sql.index_statements(d, table)]

        async def build(conn: AsyncConnection[Any]) -> None:
            for statement in statements:
                name = _INDEX.match(statement)
                async with conn.transaction(), conn.cursor() as cursor:
                    if name is not None and name[1] in await self._existing_indexes(cursor):
                        continue  # another run built it: no lock taken (see _ready)
                    await self._one_creator(cursor)
                    if name is None or name[1] not in await self._existing_indexes(cursor):
                        await cursor.execute(statement)

        await self._run(build, "index")

    async def load_state(
        self, connection: str, company_id: int, resource: str
    ) -> list[WindowState]:
        """Every stored window state of one resource of one company."""
        query = _sql.state_query(self._dialect)

        async def work(conn: AsyncConnection[Any]) -> list[WindowState]:
            async with conn.transaction():
                cursor = await conn.execute(query, (connection, company_id, resource))
                return [_sql.state_from_row(row) for row in await cursor.fetchall()]

        async with self._using():
            return await self._run(work, "load state from")

    async def write(self, batches: Sequence[Batch]) -> None:
        """Apply ``batches`` in one transaction (all or nothing)."""
        async with self._using():
            try:
                await self._run(partial(self._write, batches), "write to")
            except SinkError:
                await self._explain_failure(wanted_fences(batches))
                raise

    async def _explain_failure(self, fences: Sequence[Fence]) -> None:
        """After a failed call under ``fences``: `LeaseLostError` if one was taken over.

        A frozen holder's session is terminated when its lease is taken over; once it
        wakes, that is what to say, rather than "connection closed".
        """
        if not fences:
            return

        async def check(conn: AsyncConnection[Any]) -> None:
            async with conn.transaction(), conn.cursor() as cursor:
                await self._check_fences_of(fences, cursor)

        await self._run(check, "check the lease on")

    async def read(self, resource: str) -> dict[tuple[int, int], bytes]:
        """Every stored record of ``resource``: ``(company_id, id) -> data`` (jsonb text)."""
        table = Table(resource).name

        async def work(conn: AsyncConnection[Any]) -> dict[tuple[int, int], bytes]:
            async with conn.transaction():
                exists = await conn.execute("SELECT to_regclass(%s)", (self._dialect.table(table),))
                if (await exists.fetchone() or (None,))[0] is None:
                    return {}
                cursor = await conn.execute(_sql.read_query(self._dialect, table))
                return {(c, i): data.encode() for c, i, data in await cursor.fetchall()}

        async with self._using():
            return await self._run(work, "read from")

    async def acquire_lease(self, scopes: Collection[int], holder: Holder, ttl: float) -> Fence:
        """Take ``scopes`` (company ids) for ``holder``; see `tripletex_async.sinks._lease`.

        The holder's session also takes a session-level advisory lock on its epoch, which
        PostgreSQL drops with the session: a holder whose process died is taken over at
        once, from any host. A holder whose session lives but whose heartbeat (in the
        server's clock) is older than its ttl is frozen: its session is terminated (which
        rolls back anything it had begun) before the takeover.
        """
        async with self._using(opening=True):
            return await self._run(
                partial(self._acquire, frozenset(scopes), holder, ttl), "take a lease on"
            )

    async def renew_lease(self, fence: Fence) -> None:
        """Renew the heartbeat; `LeaseLostError` when another run took the lease over."""
        d = self._dialect

        async def work(conn: AsyncConnection[Any]) -> None:
            async with conn.transaction():
                cursor = await conn.execute(_lease.renew(d), (await _now(conn), fence.epoch))
                if cursor.rowcount == 0:
                    raise await self._lost(fence, conn)

        async with self._using(opening=True):
            try:
                await self._run(work, "renew a lease on")
            except SinkError:
                await self._explain_failure([fence])
                raise

    async def release_lease(self, fence: Fence) -> None:
        """Give the lease back, and its advisory lock."""
        d = self._dialect

        async def work(conn: AsyncConnection[Any]) -> None:
            async with conn.transaction():
                for statement in _lease.delete_holder(d):
                    await conn.execute(statement, (fence.epoch,))
                await conn.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", (self._lock_space, _key(fence.epoch))
                )

        async with self._using(opening=True):
            try:
                await self._run(work, "release a lease on")
            except SinkError:
                # Its session lock must not outlive the lease: a connection kept (a
                # worker reuses its sinks) would look like a live holder to others.
                await self._release()
                raise

    async def ping(self) -> None:
        """One round trip; a connection the server dropped meanwhile (a restart, an
        idle timeout) is replaced on the next use instead of failing it."""
        with suppress(SinkError):
            await self.run_in_transaction(_select_one, "reach")

    async def run_in_transaction(self, work: _Work[_T], action: str = "write to") -> _T:
        """``await work(connection)`` in one transaction on this sink's connection, and
        what it returns: the caller's own statements commit together or not at all (a
        job queue's next job with the record of the job that defers it, say). Errors
        are `SinkError` (naming ``action``), as the sink's own; the sink need not be
        open."""

        async def transact(conn: AsyncConnection[Any]) -> _T:
            async with conn.transaction():
                return await work(conn)

        async with self._using(opening=True):
            return await self._run(transact, action)

    async def _acquire(
        self, scopes: frozenset[int], holder: Holder, ttl: float, conn: AsyncConnection[Any]
    ) -> Fence:
        d = self._dialect
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
            if not await self._has_lease_tables(cursor):  # created once: see _ready
                await self._one_creator(cursor)
                await self._ensure_schema(cursor)
                for statement in [*_sql.base_ddl(d), *_lease.lease_ddl(d)]:
                    await cursor.execute(statement)
            # One acquisition at a time; fenced writes (FOR SHARE) are not blocked.
            await cursor.execute(f"LOCK TABLE {d.table(_lease.HOLDER)} IN SHARE ROW EXCLUSIVE MODE")
            await cursor.execute(_lease.conflicts(d), (_lease.scopes_param(d, scopes),))
            found = [_lease.holder_record(row) for row in await cursor.fetchall()]
            sessions = {r.epoch: await self._session_alive(cursor, r.epoch) for r, _ in found}
            now = await _now(conn)
            gone = {r.epoch for r in revocable([r for r, _ in found], now, len(scopes), sessions)}
            await cursor.execute("SET LOCAL lock_timeout = '30s'")
            for record, backend in found:
                if record.epoch not in gone:
                    continue
                if sessions[record.epoch] and backend is not None:
                    # Frozen: end its session, and with it any transaction it holds open.
                    await cursor.execute("SELECT pg_terminate_backend(%s)", (backend,))
                for statement in _lease.delete_holder(d):
                    await cursor.execute(statement, (record.epoch,))
            await cursor.execute(_sql.meta_query(d, "lease_epoch"))
            row = await cursor.fetchone()
            epoch = (0 if row is None else stored_version(row[0])) + 1
            await cursor.execute(_sql.meta_upsert(d, "lease_epoch"), (str(epoch),))
            await cursor.execute("SELECT pg_backend_pid()")
            backend_row = await cursor.fetchone()
            backend = int(backend_row[0]) if backend_row else None
            await cursor.execute(
                _lease.holder_insert(d), _lease.holder_values(epoch, holder, now, ttl, backend)
            )
            await cursor.executemany(_lease.scope_upsert(d), [(s, epoch) for s in sorted(scopes)])
            await cursor.execute("SELECT pg_advisory_lock(%s, %s)", (self._lock_space, _key(epoch)))
        return Fence(epoch, scopes)

    async def _session_alive(self, cursor: AsyncCursor[Any], epoch: int) -> bool:
        """Whether the session that took ``epoch`` still holds its advisory lock."""
        await cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2)",
            (self._lock_space % 2**32, _key(epoch) % 2**32),
        )
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def _check_fences(self, batches: Sequence[Batch], cursor: AsyncCursor[Any]) -> None:
        await self._check_fences_of(wanted_fences(batches), cursor)

    async def _check_fences_of(self, fences: Sequence[Fence], cursor: AsyncCursor[Any]) -> None:
        check = _lease.check_fence(self._dialect, lock=True)
        for fence in fences:
            await cursor.execute(check, (fence.epoch,))
            if await cursor.fetchone() is None:
                raise await self._lost(fence, cursor.connection)

    async def _lost(self, fence: Fence, conn: AsyncConnection[Any]) -> LeaseLostError:
        scope = min(fence.scopes, default=0)
        cursor = await conn.execute(_lease.taker(self._dialect), (scope,))
        return LeaseLostError(lost_message(_lease.taker_holder(await cursor.fetchone())))

    async def _release(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _run(self, work: _Work[_T], action: str) -> _T:
        """Run ``work`` on the connection (made on first use, or again after a failure)."""
        connection = None
        try:
            connection = await self._connect()
            return await work(connection)
        except BaseException as exc:
            if connection is not None and not connection.closed:
                # A cancelled or failed call may leave the connection mid-transaction;
                # dropping it makes the server roll back, and the next call reconnects.
                with anyio.CancelScope(shield=True):
                    await self._discard(connection)
            if isinstance(exc, SinkError | LeaseError | ConfigurationError) or not isinstance(
                exc, Exception
            ):
                raise
            reason = str(exc).replace(self._password, "***") if self._password else str(exc)
            raise SinkError(f"could not {action} {self._description}: {reason}") from exc

    async def _discard(self, connection: AsyncConnection[Any]) -> None:
        from psycopg.pq import TransactionStatus

        if connection.info.transaction_status != TransactionStatus.IDLE:
            await connection.close()
            self._connection = None

    async def _connect(self) -> AsyncConnection[Any]:
        if self._connection is None or self._connection.closed:
            import psycopg

            library = sniffio.current_async_library()
            if library != "asyncio":
                # psycopg's async connections are asyncio's.
                raise ConfigurationError(f"the PostgreSQL sink runs on asyncio only, not {library}")
            connection = await psycopg.AsyncConnection.connect(
                self._url, autocommit=False, connect_timeout=self._connect_timeout
            )
            await _prefer_lz4(connection)
            await connection.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
                (f"{int(self.idle_in_transaction * 1000)}ms",),
            )
            await connection.commit()
            self._connection = connection
        return self._connection

    async def _open(self, tables: Sequence[Table], conn: AsyncConnection[Any]) -> None:
        d = self._dialect
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
            if await self._ready(cursor, tables):
                return
            await self._one_creator(cursor)
            await self._ensure_schema(cursor)
            for statement in _sql.base_ddl(d):
                await cursor.execute(statement)
            await cursor.execute(_sql.meta_query(d, "schema_version"))
            row = await cursor.fetchone()
            stored = None if row is None else stored_version(row[0])
            existing = await self._existing_columns(cursor)
            migrations = _sql.migration_statements(d, stored, existing)
            for statement in migrations:
                await cursor.execute(statement)
            if migrations:
                existing = await self._existing_columns(cursor)
            self._deferred.update((t.name, t) for t in _sql.deferred_indexes(tables, existing))
            await cursor.execute(_sql.pending_query(d))
            pending = {key for (key,) in await cursor.fetchall()}
            indexes = await self._existing_indexes(cursor)
            # A table (or child table) and the table whose indexes cover it.
            owner = {t.name: t for t in tables}
            owner.update({c.name: t for t in tables for c in t.children})
            for statement, params in _sql.table_statements(d, tables, existing, pending):
                name = _INDEX.match(statement)
                if name is not None and name[1] in indexes:
                    continue  # see _existing_indexes
                if name is not None and name[2] in existing and name[2] in owner:
                    # Another run writes this table now (it made it and has not built
                    # its indexes yet): a SHARE lock held to the end of this open would
                    # deadlock with its writes. Built one per transaction, at the end.
                    self._deferred[owner[name[2]].name] = owner[name[2]]
                    continue
                # No parameters: no placeholders either (a comment may hold a "%").
                await cursor.execute(statement, params or None)

    async def _ready(self, cursor: AsyncCursor[Any], tables: Sequence[Table]) -> bool:
        """Whether everything `_open` would create exists already (the common case: a
        database a run has opened before). Then it creates nothing, takes no lock and
        writes nothing: many workers' jobs open one schema all night, and one of them
        frozen mid-open (SIGSTOP, a paused VM) must not hold the others up."""
        d = self._dialect
        existing = await self._existing_columns(cursor)
        if _sql.META not in existing or _sql.STATE not in existing:
            return False
        await cursor.execute(_sql.meta_query(d, "schema_version"))
        row = await cursor.fetchone()
        stored = None if row is None else stored_version(row[0])
        if stored != SCHEMA_VERSION or _sql.migration_statements(d, stored, existing):
            return False
        await cursor.execute(_sql.pending_query(d))
        pending = {key for (key,) in await cursor.fetchall()}
        indexes = await self._existing_indexes(cursor)
        version = _sql.meta_upsert(d, "schema_version")
        for statement, _ in _sql.table_statements(d, tables, existing, pending):
            table, index = _TABLE.match(statement), _INDEX.match(statement)
            if statement == version or (table and table[1] in existing):
                continue
            if index is None or index[1] not in indexes:
                return False
        return True

    async def _existing_indexes(self, cursor: AsyncCursor[Any]) -> set[str]:
        """The schema's index names. ``CREATE INDEX IF NOT EXISTS`` takes its table's
        SHARE lock before it finds the index there: run for every table on every open,
        it would hold all the tables' locks until the open commits, and deadlock with
        another run writing those tables (many workers on one schema). So existing
        indexes are not asked for again."""
        await cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (self.schema,)
        )
        return {str(name) for (name,) in await cursor.fetchall()}

    async def _has_lease_tables(self, cursor: AsyncCursor[Any]) -> bool:
        names = [_sql.META, _sql.STATE, _lease.HOLDER, _lease.LEASE]
        await cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s)",
            (self.schema, names),
        )
        row = await cursor.fetchone()
        return row is not None and int(row[0]) == len(names)

    async def _one_creator(self, cursor: AsyncCursor[Any]) -> None:
        """Take turns creating: ``CREATE ... IF NOT EXISTS`` is not safe side by side in
        PostgreSQL (two sessions creating one table both pass the check, and one fails
        on a duplicate catalog key), and workers starting together on a new database do
        exactly that. Held until this transaction ends; key 0 of the schema's lock space,
        which no lease epoch under 2**32 uses."""
        await cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", (self._lock_space,))

    async def _ensure_schema(self, cursor: AsyncCursor[Any]) -> None:
        # Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when
        # the schema exists.
        await cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,))
        if await cursor.fetchone() is None:
            await cursor.execute(f"CREATE SCHEMA {_sql.ident(self.schema)}")

    async def _existing_columns(self, cursor: AsyncCursor[Any]) -> dict[str, set[str]]:
        """Every table of the schema with its columns (migrations may touch them all)."""
        await cursor.execute(
            # Tables only: an analyst's view over a table is not one of ours to migrate.
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
            "AND t.table_name = c.table_name "
            "WHERE c.table_schema = %s AND t.table_type = 'BASE TABLE'",
            (self.schema,),
        )
        columns: dict[str, set[str]] = {}
        for table, column in await cursor.fetchall():
            columns.setdefault(table, set()).add(column)
        return columns

    async def _write(self, batches: Sequence[Batch], conn: AsyncConnection[Any]) -> None:
        # One staging table per table shape in this transaction, emptied between batches.
        stages: dict[tuple[str, tuple[Column, ...]], str] = {}
        async with conn.transaction(), conn.cursor() as cursor:
            await self._check_fences(batches, cursor)
            for batch in batches:
                self._check_batch(batch)
                rows = _sql.upsert_rows(self._dialect, batch)
                if rows:
                    await self._upsert(cursor, batch, rows, stages)
                for statement, params in _sql.after_upsert(self._dialect, batch):
                    await cursor.executemany(statement, params)

    async def _upsert(
        self,
        cursor: AsyncCursor[Any],
        batch: Batch,
        rows: list[tuple[object, ...]],
        stages: dict[tuple[str, tuple[Column, ...]], str],
    ) -> None:
        """COPY ``rows`` into the table when they are all new, else into a temporary
        table, then upsert them all in one statement."""
        d, table = self._dialect, batch.table
        columns = ", ".join(_sql.ident(name) for name in _sql.insert_columns(d, table))
        if not batch.only_newer and await self._copied_in(cursor, batch, rows, columns):
            return
        shape = (table.name, table.columns)
        stage = stages.get(shape)
        if stage is None:
            stage = stages[shape] = _sql.ident(f"_tripletex_stage_{len(stages)}")
            # Same column types as the target; ON COMMIT DROP cleans up either way.
            await cursor.execute(
                f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                f"SELECT {columns} FROM {d.table(table.name)} WITH NO DATA"
            )
        else:
            await cursor.execute(f"TRUNCATE {stage}")
        # The JSON goes in as text and PostgreSQL parses it into jsonb.
        async with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row)
        await cursor.execute(
            f"{_sql.upsert_tail(d, table)} SELECT {columns} FROM {stage}"
            f"{_sql.upsert_conflict(d, table, only_newer=batch.only_newer)}"
        )

    async def _copied_in(
        self, cursor: AsyncCursor[Any], batch: Batch, rows: list[tuple[object, ...]], columns: str
    ) -> bool:
        """COPY ``rows`` straight into the table if none of their ids is stored; whether
        they were. Staging them costs PostgreSQL a second insert of every row; a backfill
        wrote 1.3x faster without it. A row stored meanwhile by another connection (the
        check reads a snapshot) makes the COPY fail on the key: the savepoint undoes it and
        the caller upserts as usual."""
        import psycopg

        target = self._dialect.table(batch.table.name)
        if await self._any_stored(cursor, target, batch.company_id, [row[1] for row in rows]):
            return False
        try:
            async with (
                cursor.connection.transaction(),  # a savepoint
                cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    await copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            return False
        return True

    async def _any_stored(
        self, cursor: AsyncCursor[Any], target: str, company_id: int, ids: list[object]
    ) -> bool:
        """Whether a row of the company with one of ``ids`` is stored in ``target``: one
        probe of the key per id. (``id = ANY(%s)`` let the planner, without statistics on a
        table being filled, filter all the company's rows instead: 25 ms per batch.)"""
        await cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM unnest(%s::bigint[]) AS u(id) WHERE EXISTS "
            f"(SELECT 1 FROM {target} t WHERE t.company_id = %s AND t.id = u.id))",
            (ids, company_id),
        )
        found = await cursor.fetchone()
        return found is None or bool(found[0])


async def _prefer_lz4(conn: AsyncConnection[Any]) -> None:
    """Compress what this session stores with LZ4 where the server has it (PostgreSQL 14+
    built with lz4). Most records with their typed columns pass TOAST's 2 kB threshold, so
    PostgreSQL compresses their ``data``; its default, pglz, cost about a tenth of a
    backfill's time here, and LZ4 also reads back faster. Servers without it keep pglz."""
    import psycopg

    try:
        await conn.execute("SELECT set_config('default_toast_compression', 'lz4', false)")
    except psycopg.Error:
        await conn.rollback()
    else:
        await conn.commit()


async def _select_one(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SELECT 1")


async def _now(conn: AsyncConnection[Any]) -> float:
    """The server's clock, in seconds: every holder's heartbeat is judged by it."""
    cursor = await conn.execute("SELECT extract(epoch from clock_timestamp())::float8")
    row = await cursor.fetchone()
    return float(row[0]) if row else 0.0


def _key(epoch: int) -> int:
    """An epoch as the second half of an advisory-lock key (a signed 32-bit number)."""
    return (epoch + 2**31) % 2**32 - 2**31


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise SinkError(
            'PostgresSink needs psycopg: pip install "tripletex-async[postgres]"'
        ) from None


def _conninfo(url: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {key: str(value) for key, value in conninfo_to_dict(url).items()}
    except Exception:
        # psycopg's message may quote the string, password included.
        raise SinkError(
            "invalid PostgreSQL connection URL (not shown: it may hold a password)"
        ) from None


def _describe(info: dict[str, str]) -> str:
    """``user@host:port/dbname`` from parsed connection info: no password."""
    user = info.get("user", "")
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = info.get("port") or "5432"
    dbname = info.get("dbname") or user
    return f"{user + '@' if user else ''}{host}:{port}/{dbname}"
