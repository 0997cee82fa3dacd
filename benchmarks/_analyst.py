"""The analyst benchmark's databases: how to sync into each, copy its tables without
``data``, query it, measure it.

One `Database` per SQL sink (`SQLiteSink`, `PostgresSink`, ``DuckDBSink``), each with
its dialect's spelling of the three queries (`QUERIES`), its reference tables (every
column but ``data``, the same primary key, NOT NULLs and indexes) and its sizes. The
reference lives apart under the same table names (a second SQLite or DuckDB file, a
second PostgreSQL schema), so the very same query text runs on ours and on it.
"""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from tripletex_async import TripletexClient, sync
from tripletex_async.sinks import PostgresSink, Sink, SQLiteSink
from tripletex_async.testing import FakeTransport, FakeTripletex, Portfolio

__all__ = [
    "QUERIES",
    "RESOURCES",
    "TABLES",
    "Database",
    "DuckDatabase",
    "Measured",
    "PostgresDatabase",
    "Query",
    "SQLiteDatabase",
    "choose_name",
    "duckdb_sink_class",
    "run_sync",
    "time_query",
]

RESOURCES = ["ledger/posting", "ledger/account", "customer", "invoice"]
TABLES = ["ledger_posting", "ledger_account", "customer", "invoice"]

#: A DB-API connection (sqlite3, psycopg, duckdb): typed loosely, as each differs.
Connection = Any


@dataclass(frozen=True)
class Query:
    """One analyst query: its label, what it reads, and how to compare its answers."""

    key: str
    title: str
    #: The tables it reads (their sizes explain its time).
    tables: tuple[str, ...]
    #: Per output column, how to compare across databases: ``int``, ``text``, ``money``
    #: (exact hundredths), ``month`` (``YYYY-MM``), ``date`` (``YYYY-MM-DD``).
    kinds: tuple[str, ...]
    #: The SQL, given the dialect's money column, month expression and parameter mark.
    template: str
    #: Whether it takes the customer's name as its one parameter.
    by_name: bool = False

    def sql(self, money: str, month: Callable[[str], str], param: str) -> str:
        """The query in one dialect."""
        return self.template.format(money=money, month=month("date"), param=param)


QUERIES = [
    Query(
        "a",
        "posting sums by account, month",
        ("ledger_posting",),
        ("int", "month", "money"),
        "SELECT account_id, {month} AS month, SUM({money}) AS amount"
        " FROM ledger_posting GROUP BY account_id, month",
    ),
    Query(
        "b",
        "top 20 customers by invoiced",
        ("invoice", "customer"),
        ("int", "int", "text", "money"),
        "SELECT c.company_id, c.id, c.name, SUM(i.{money}) AS invoiced"
        " FROM invoice i JOIN customer c ON c.company_id = i.company_id AND c.id = i.customer_id"
        " GROUP BY c.company_id, c.id, c.name ORDER BY invoiced DESC LIMIT 20",
    ),
    Query(
        "c",
        "one customer's invoices by name",
        ("customer", "invoice"),
        ("int", "int", "date", "money"),
        "SELECT i.id, i.invoice_number, i.invoice_date, i.{money}"
        " FROM customer c JOIN invoice i ON i.company_id = c.company_id AND i.customer_id = c.id"
        " WHERE c.name = {param} ORDER BY i.invoice_date, i.id",
        by_name=True,
    ),
]

#: Untimed: a customer name that only one customer has, the one with the most invoices
#: (ties by name), for query (c). Portable SQL.
CHOOSE_NAME = (
    "SELECT c.name, COUNT(*) AS n FROM customer c"
    " JOIN invoice i ON i.company_id = c.company_id AND i.customer_id = c.id"
    " WHERE c.name IN (SELECT name FROM customer GROUP BY name HAVING COUNT(*) = 1)"
    " GROUP BY c.name ORDER BY n DESC, c.name LIMIT 1"
)


@dataclass
class Measured:
    """One query on one table set: warm run, then ``runs`` timed runs."""

    seconds: list[float] = field(default_factory=list)
    warm_seconds: float = 0.0
    rows: int = 0
    #: SHA-256 over the sorted, normalized answer (`normalize`).
    digest: str = ""
    plan: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median of the timed runs."""
        return statistics.median(self.seconds)


def normalize(row: Sequence[Any], kinds: Sequence[str]) -> tuple[object, ...]:
    """One answer row in a form every database gives alike: money in hundredths, months
    as ``YYYY-MM``, dates as ISO text."""
    out: list[object] = []
    for value, kind in zip(row, kinds, strict=True):
        if value is None:
            out.append(None)
        elif kind == "money":
            exact = value if isinstance(value, int) else Decimal(str(value)) * 100
            out.append(int(exact))
        elif kind == "month":
            out.append(str(value)[:7])
        elif kind == "date":
            out.append(str(value)[:10])
        else:
            out.append(value)
    return tuple(out)


def digest_of(rows: list[Sequence[Any]], kinds: Sequence[str]) -> str:
    """SHA-256 of the sorted normalized rows (key None first)."""
    normal = sorted((normalize(r, kinds) for r in rows), key=lambda t: repr(t))
    return hashlib.sha256(repr(normal).encode()).hexdigest()


def time_query(
    connection: Connection,
    sql: str,
    params: tuple[object, ...],
    kinds: Sequence[str],
    runs: int,
    *,
    slow: float = 10.0,
) -> Measured:
    """Run once (warm), then ``runs`` times, each ``execute`` + ``fetchall``; a query
    whose warm run took over ``slow`` seconds is timed min(runs, 3) times."""
    out = Measured()
    began = time.perf_counter()
    rows = _fetch(connection, sql, params)
    out.warm_seconds = time.perf_counter() - began
    if out.warm_seconds > slow:
        runs = min(runs, 3)
    for _ in range(runs):
        began = time.perf_counter()
        _fetch(connection, sql, params)
        out.seconds.append(time.perf_counter() - began)
    out.rows = len(rows)
    out.digest = digest_of(rows, kinds)
    return out


def _fetch(connection: Connection, sql: str, params: tuple[object, ...]) -> list[Any]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def choose_name(connection: Connection) -> str:
    """The customer name query (c) looks up (see `CHOOSE_NAME`)."""
    rows = _fetch(connection, CHOOSE_NAME, ())
    if not rows:
        raise SystemExit("no customer with invoices: the portfolio is too small")
    return str(rows[0][0])


async def run_sync(
    portfolio: Portfolio, sink: Sink, date_from: date, date_to: date
) -> tuple[float, int, int, list[str]]:
    """`sync` of `RESOURCES` of every company, as a user would run it, against a fresh
    in-process simulator on ``portfolio``; (seconds, records, requests, errors)."""
    fake = FakeTripletex(portfolio)
    began = time.perf_counter()
    try:
        async with TripletexClient(
            fake.credentials.consumer_token,
            fake.credentials.employee_token,
            base_url="http://tripletex.test/v2",
            transport=FakeTransport(fake),
            environ={},
        ) as client:
            report = await sync(
                client,
                sink,
                companies="all",
                resources=RESOURCES,
                date_from=date_from,
                date_to=date_to,
            )
    finally:
        await sink.aclose()
    seconds = time.perf_counter() - began
    total = report.total()
    return seconds, total.records, total.tally.requests, [str(e) for e in total.errors]


def duckdb_sink_class() -> tuple[Any, str]:
    """``(DuckDBSink, "")``, or ``(None, why not)`` while it cannot be imported."""
    try:
        import duckdb  # noqa: F401

        from tripletex_async.sinks import DuckDBSink  # type: ignore[attr-defined,unused-ignore]
    except ImportError as error:
        return None, f"DuckDBSink cannot be imported ({error})"
    return DuckDBSink, ""


# -- databases ----------------------------------------------------------------------


class Database:
    """One SQL sink's database, its reference copy, and its dialect."""

    kind = ""
    param = "?"
    #: The states its queries are timed in, in order (see `prepare`).
    states: tuple[str, ...] = ("as synced",)

    def sink(self) -> Sink:
        """A sink on a fresh database."""
        raise NotImplementedError

    def connect(self, reference: bool) -> Connection:
        """A plain DB-API connection to ours (or the reference), as an analyst's tool
        would open one."""
        raise NotImplementedError

    def build_reference(self) -> None:
        """Copy each of `TABLES` without ``data``: same columns, types, NOT NULLs,
        primary key and indexes, rows in key order."""
        raise NotImplementedError

    def prepare(self, state: str) -> None:
        """Bring both table sets to ``state`` (``ANALYZE``, ``VACUUM ANALYZE``)."""

    def money(self) -> str:
        """The column to sum for exact money."""
        return "amount"

    def month(self, column: str) -> str:
        """The month of a date column."""
        raise NotImplementedError

    def explain(self, connection: Connection, sql: str, params: tuple[object, ...]) -> list[str]:
        """The plan, one line each."""
        raise NotImplementedError

    def shape(self, plan: list[str]) -> list[str]:
        """The plan without estimates or catalog names: what compares between ours and
        the reference."""
        return plan

    def table_bytes(self, reference: bool) -> dict[str, int]:
        """Bytes per table of `TABLES` (indexes, TOAST included)."""
        raise NotImplementedError

    def details(self, reference: bool) -> dict[str, Any]:
        """Further size facts (files, heaps)."""
        return {}

    def close(self, keep: bool) -> None:
        """Drop what was made (schemas); files go with the scratch directory."""

    def sql(self, query: Query) -> str:
        """``query`` in this dialect."""
        return query.sql(self.money(), self.month, self.param)


class SQLiteDatabase(Database):
    """`SQLiteSink` into ``folder/ours.db``; the reference in ``folder/ref.db``."""

    kind = "sqlite"
    states = ("as synced", "ANALYZE")

    def __init__(self, folder: Path) -> None:
        self.path = folder / "ours.db"
        self.ref_path = folder / "ref.db"

    def sink(self) -> Sink:
        return SQLiteSink(self.path)

    def connect(self, reference: bool) -> Connection:
        import sqlite3

        return sqlite3.connect(self.ref_path if reference else self.path)

    def build_reference(self) -> None:
        import sqlite3

        connection = sqlite3.connect(self.ref_path)
        try:
            connection.execute("ATTACH DATABASE ? AS ours", (str(self.path),))
            for table in TABLES:
                info = connection.execute(f"PRAGMA ours.table_info({table})").fetchall()
                # (cid, name, type, notnull, default, pk)
                kept = [r for r in info if r[1] != "data"]
                key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
                defs = ", ".join(f'"{r[1]}" {r[2]}' + (" NOT NULL" if r[3] else "") for r in kept)
                names = ", ".join(f'"{r[1]}"' for r in kept)
                order = ", ".join(key)
                connection.execute(f'CREATE TABLE main."{table}" ({defs}, PRIMARY KEY ({order}))')
                connection.execute(
                    f'INSERT INTO main."{table}" ({names}) SELECT {names}'
                    f' FROM ours."{table}" ORDER BY {order}'
                )
                indexes = connection.execute(
                    "SELECT sql FROM ours.sqlite_master WHERE type = 'index'"
                    " AND tbl_name = ? AND sql IS NOT NULL",
                    (table,),
                ).fetchall()
                for (ddl,) in indexes:
                    connection.execute(ddl)
            connection.commit()
            connection.execute("DETACH DATABASE ours")
        finally:
            connection.close()

    def prepare(self, state: str) -> None:
        if state != "ANALYZE":
            return
        for reference in (False, True):
            connection = self.connect(reference)
            try:
                connection.execute("ANALYZE")
                connection.commit()
            finally:
                connection.close()

    def money(self) -> str:
        return "amount_minor"

    def month(self, column: str) -> str:
        return f"substr({column}, 1, 7)"

    def explain(self, connection: Connection, sql: str, params: tuple[object, ...]) -> list[str]:
        return [str(r[3]) for r in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params)]

    def table_bytes(self, reference: bool) -> dict[str, int]:
        connection = self.connect(reference)
        try:
            rows = connection.execute(
                "SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat s"
                " JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name"
            ).fetchall()
        finally:
            connection.close()
        found = {str(name): int(size) for name, size in rows}
        return {t: found.get(t, 0) for t in TABLES}

    def details(self, reference: bool) -> dict[str, Any]:
        path = self.ref_path if reference else self.path
        connection = self.connect(reference)
        try:
            data = (
                connection.execute(
                    "SELECT COUNT(*), SUM(length(CAST(data AS BLOB))) FROM ledger_posting"
                ).fetchone()
                if not reference
                else None
            )
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        finally:
            connection.close()
        out: dict[str, Any] = {"file_bytes": os.path.getsize(path), "page_size": page_size}
        if data is not None and data[0]:
            out["posting_json_bytes_per_row"] = round(data[1] / data[0], 1)
        return out


class PostgresDatabase(Database):
    """`PostgresSink` into a fresh schema; the reference in ``<schema>_ref``."""

    kind = "postgres"
    param = "%s"
    states = ("VACUUM ANALYZE",)

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.ref_schema = f"{schema}_ref"

    def sink(self) -> Sink:
        return PostgresSink(self.url, schema=self.schema)

    def connect(self, reference: bool) -> Connection:
        import psycopg

        schema = self.ref_schema if reference else self.schema
        return psycopg.connect(self.url, options=f"-c search_path={schema}", autocommit=True)

    def _admin(self) -> Connection:
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def build_reference(self) -> None:
        with self._admin() as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {self.ref_schema} CASCADE")
            connection.execute(f"CREATE SCHEMA {self.ref_schema}")
            for table in TABLES:
                columns = connection.execute(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull"
                    " FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0"
                    " AND NOT a.attisdropped ORDER BY a.attnum",
                    (f"{self.schema}.{table}",),
                ).fetchall()
                kept = [c for c in columns if c[0] != "data"]
                defs = ", ".join(f'"{n}" {t}' + (" NOT NULL" if nn else "") for n, t, nn in kept)
                names = ", ".join(f'"{n}"' for n, _, _ in kept)
                ours, ref = f"{self.schema}.{table}", f"{self.ref_schema}.{table}"
                connection.execute(f"CREATE TABLE {ref} ({defs})")
                connection.execute(
                    f"INSERT INTO {ref} ({names}) SELECT {names} FROM {ours}"
                    " ORDER BY company_id, id"
                )
                indexes = connection.execute(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                    (self.schema, table),
                ).fetchall()
                for (ddl,) in indexes:
                    text = str(ddl).replace(f" ON {self.schema}.", f" ON {self.ref_schema}.")
                    connection.execute(text)
                # The primary key as the original has it, on its index copied above.
                for name, index in connection.execute(
                    "SELECT c.conname, i.relname FROM pg_constraint c"
                    " JOIN pg_class i ON i.oid = c.conindid"
                    " WHERE c.conrelid = %s::regclass AND c.contype = 'p'",
                    (ours,),
                ).fetchall():
                    connection.execute(
                        f'ALTER TABLE {ref} ADD CONSTRAINT "{name}"'
                        f' PRIMARY KEY USING INDEX "{index}"'
                    )

    def prepare(self, state: str) -> None:
        with self._admin() as connection:
            for schema in (self.schema, self.ref_schema):
                for table in TABLES:
                    connection.execute(f"VACUUM ANALYZE {schema}.{table}")

    def month(self, column: str) -> str:
        return f"date_trunc('month', {column})"

    def explain(self, connection: Connection, sql: str, params: tuple[object, ...]) -> list[str]:
        rows = connection.execute(f"EXPLAIN {sql}", params or None).fetchall()
        return [str(r[0]) for r in rows]

    def shape(self, plan: list[str]) -> list[str]:
        return [re.sub(r"\s*\(cost=[^)]*\)", "", line).rstrip() for line in plan]

    def table_bytes(self, reference: bool) -> dict[str, int]:
        schema = self.ref_schema if reference else self.schema
        with self._admin() as connection:
            return {
                t: int(
                    connection.execute(
                        "SELECT pg_total_relation_size(%s::regclass)", (f"{schema}.{t}",)
                    ).fetchone()[0]
                )
                for t in TABLES
            }

    def details(self, reference: bool) -> dict[str, Any]:
        schema = self.ref_schema if reference else self.schema
        out: dict[str, Any] = {}
        with self._admin() as connection:
            for t in TABLES:
                heap, toast = connection.execute(
                    "SELECT pg_relation_size(c.oid),"
                    " COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0)"
                    " FROM pg_class c WHERE c.oid = %s::regclass",
                    (f"{schema}.{t}",),
                ).fetchone()
                out[t] = {"heap_bytes": int(heap), "toast_bytes": int(toast)}
            if not reference:
                row = connection.execute(
                    f"SELECT avg(pg_column_size(data)) FROM {schema}.ledger_posting"
                ).fetchone()
                out["posting_jsonb_bytes_per_row"] = round(float(row[0] or 0), 1)
        return out

    def close(self, keep: bool) -> None:
        if keep:
            return
        with self._admin() as connection:
            for schema in (self.schema, self.ref_schema):
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


class DuckDatabase(Database):
    """``DuckDBSink`` into ``folder/ours.duckdb``; the reference in ``folder/ref.duckdb``.

    Its money and month spellings follow the column types the sink chose: ``amount``
    (``amount_minor`` if it keeps hundredths beside a float, as SQLite does), and
    ``date_trunc`` on a DATE column (``substr`` on text).
    """

    kind = "duckdb"

    def __init__(self, folder: Path, sink_class: Any) -> None:
        self.path = folder / "ours.duckdb"
        self.ref_path = folder / "ref.duckdb"
        self._sink_class = sink_class
        self._types: dict[str, str] | None = None

    def sink(self) -> Sink:
        sink: Sink = self._sink_class(str(self.path))
        return sink

    def connect(self, reference: bool) -> Connection:
        import duckdb

        return duckdb.connect(str(self.ref_path if reference else self.path))

    def _columns(self, connection: Connection, table: str, catalog: str) -> list[Any]:
        return list(
            connection.execute(
                "SELECT column_name, data_type, NOT is_nullable FROM duckdb_columns()"
                " WHERE database_name = ? AND table_name = ? ORDER BY column_index",
                [catalog, table],
            ).fetchall()
        )

    def build_reference(self) -> None:
        connection = self.connect(True)
        try:
            connection.execute(f"ATTACH '{self.path}' AS ours (READ_ONLY)")
            for table in TABLES:
                columns = self._columns(connection, table, "ours")
                kept = [c for c in columns if c[0] != "data"]
                defs = ", ".join(f'"{n}" {t}' + (" NOT NULL" if nn else "") for n, t, nn in kept)
                names = ", ".join(f'"{n}"' for n, _, _ in kept)
                key = _duck_key(connection, table)
                primary = f", PRIMARY KEY ({', '.join(key)})" if key else ""
                connection.execute(f'CREATE TABLE "{table}" ({defs}{primary})')
                connection.execute(
                    f'INSERT INTO "{table}" ({names}) SELECT {names} FROM ours."{table}"'
                    " ORDER BY company_id, id"
                )
                for (ddl,) in connection.execute(
                    "SELECT sql FROM duckdb_indexes() WHERE database_name = 'ours'"
                    " AND table_name = ? AND sql IS NOT NULL",
                    [table],
                ).fetchall():
                    connection.execute(str(ddl))
            connection.execute("DETACH ours")
            connection.execute("CHECKPOINT")
        finally:
            connection.close()

    def _type_of(self, column: str) -> str:
        if self._types is None:
            connection = self.connect(False)
            try:
                rows = self._columns(connection, "ledger_posting", self.path.stem)
            finally:
                connection.close()
            self._types = {str(n): str(t).upper() for n, t, _ in rows}
        return self._types.get(column, "")

    def money(self) -> str:
        return "amount_minor" if self._type_of("amount_minor") else "amount"

    def month(self, column: str) -> str:
        if self._type_of(column).startswith(("DATE", "TIMESTAMP")):
            return f"date_trunc('month', {column})"
        return f"substr({column}, 1, 7)"

    def explain(self, connection: Connection, sql: str, params: tuple[object, ...]) -> list[str]:
        rows = connection.execute(f"EXPLAIN {sql}", list(params)).fetchall()
        return [line for r in rows for line in str(r[-1]).splitlines()]

    def shape(self, plan: list[str]) -> list[str]:
        out = []
        for line in plan:
            operator = re.search(r"╭─ ([^─]+?) ─", line)
            if operator:
                out.append(operator.group(1))
            table = re.search(r"Table: (?:\w+\.)?(?:main\.)?(\w+)", line)
            if table:
                out.append(f"  {table.group(1)}")
        return out

    def table_bytes(self, reference: bool) -> dict[str, int]:
        # DuckDB has no per-table size; blocks used by the whole file, shared out by
        # nothing: reported under ledger_posting, the rest 0 (see details()).
        connection = self.connect(reference)
        try:
            row = connection.execute(
                "SELECT used_blocks * block_size FROM pragma_database_size()"
            ).fetchone()
        finally:
            connection.close()
        return {t: int(row[0]) if t == "ledger_posting" else 0 for t in TABLES}

    def details(self, reference: bool) -> dict[str, Any]:
        path = self.ref_path if reference else self.path
        return {"file_bytes": os.path.getsize(path), "per_table": False}


def _duck_key(connection: Connection, table: str) -> list[str]:
    rows = connection.execute(
        "SELECT constraint_column_names FROM duckdb_constraints()"
        " WHERE database_name = 'ours' AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchall()
    return [str(c) for c in rows[0][0]] if rows else []
