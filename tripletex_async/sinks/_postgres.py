"""`PostgresSink`: one psycopg 3 async connection; rows are bulk-loaded with ``COPY``.

psycopg is an optional dependency (``pip install "tripletex-async[postgres]"``); it is
imported when a sink is created, so importing this module never needs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from . import _sql
from ._base import Batch, Column, SinkError, Table, WindowState
from ._common import SinkBase, check_name, stored_version

if TYPE_CHECKING:
    from psycopg import AsyncConnection, AsyncCursor

__all__ = ["PostgresSink"]

_T = TypeVar("_T")
_Work = Callable[["AsyncConnection[Any]"], Awaitable[_T]]


class PostgresSink(SinkBase):
    """Records and state in PostgreSQL, every table in one schema (created if missing).

    ``data`` is ``jsonb``, so records can be queried (``data->>'name'``); `read` therefore
    gives back PostgreSQL's normalized JSON text, equal in value to what was fetched but not
    byte for byte. Each `write` is one transaction; a batch's rows are ``COPY``-ed into a
    temporary table and upserted from it with one ``INSERT ... SELECT``, much faster than
    row-by-row inserts.

    Error messages name the server and database, never the password.
    """

    def __init__(self, url: str, *, schema: str = "public", connect_timeout: int = 10) -> None:
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
        self._dialect = _sql.postgres_dialect(self.schema)
        self._connection: AsyncConnection[Any] | None = None

    async def _open_tables(self, tables: Sequence[Table]) -> None:
        await self._run(partial(self._open, tables), "open")

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
            await self._run(partial(self._write, batches), "write to")

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
            if isinstance(exc, SinkError) or not isinstance(exc, Exception):
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

            self._connection = await psycopg.AsyncConnection.connect(
                self._url, autocommit=False, connect_timeout=self._connect_timeout
            )
        return self._connection

    async def _open(self, tables: Sequence[Table], conn: AsyncConnection[Any]) -> None:
        d = self._dialect
        async with conn.transaction(), conn.cursor() as cursor:
            # Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even
            # when the schema exists.
            await cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,))
            if await cursor.fetchone() is None:
                await cursor.execute(f"CREATE SCHEMA {_sql.ident(self.schema)}")
            for statement in _sql.base_ddl(d):
                await cursor.execute(statement)
            await cursor.execute(_sql.version_query(d))
            row = await cursor.fetchone()
            stored = None if row is None else stored_version(row[0])
            existing = await self._existing_columns(cursor)
            for statement, params in _sql.open_statements(d, stored, tables, existing):
                await cursor.execute(statement, params)

    async def _existing_columns(self, cursor: AsyncCursor[Any]) -> dict[str, set[str]]:
        """Every table of the schema with its columns (migrations may touch them all)."""
        await cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s",
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
            for batch in batches:
                self._check_batch(batch)
                rows = _sql.upsert_rows(batch)
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
        """COPY ``rows`` into a temporary table, then upsert them all in one statement."""
        d, table = self._dialect, batch.table
        columns = ", ".join(_sql.ident(name) for name in _sql.insert_columns(table))
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
            f"{_sql.upsert_conflict(table, only_newer=batch.only_newer)}"
        )


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
