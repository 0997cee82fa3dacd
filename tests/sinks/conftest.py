"""Fixtures for sink tests: each built-in sink, fresh per test, plus small record helpers.

PostgreSQL tests use a fresh random schema in database ``test`` on the local server (trust
auth) and drop it afterwards. Without a server they are skipped, except under CI, which
has one: there they fail.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from tripletex_async.sinks import (
    Column,
    DuckDBSink,
    JSONLSink,
    MemorySink,
    PostgresSink,
    ReadableSink,
    Row,
    SQLiteSink,
    StateKey,
    Table,
    WindowState,
)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Each anyio backend (real time: SQLite and JSONL work in threads)."""
    backend: str = request.param
    return backend


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL on trio is not a case: psycopg's async connections are asyncio's (a test
    checks the sink says so). Those combinations are not collected."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgres = "postgres" in params.values() or "postgres_url" in getattr(
            item, "fixturenames", ()
        )
        (drop if params.get("anyio_backend") == "trio" and on_postgres else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


INVOICE = Table(
    "invoice",
    (
        Column("invoice_date", "date", ("invoiceDate",)),
        Column("customer_id", "integer", ("customer", "id")),
        Column("amount", "decimal"),
        Column("is_paid", "boolean", ("isPaid",)),
    ),
)
CUSTOMER = Table("customer", (Column("name", "text"),))


def record(id_: int, version: int = 1) -> bytes:
    """A record's JSON as the API would send it."""
    return json.dumps({"id": id_, "name": f"record {id_}", "version": version}).encode()


def invoice(id_: int, date: str | None = "2024-01-15", version: int = 1) -> Row:
    """An `INVOICE` row: id, data, date and its four typed values."""
    return (id_, record(id_, version), date, date, 100 + id_, Decimal("12.50"), id_ % 2 == 0)


def customer(id_: int, version: int = 1) -> Row:
    """A `CUSTOMER` row (undated)."""
    return (id_, record(id_, version), None, f"name {id_}")


def key(resource: str = "invoice", start: str = "", end: str = "", company: int = 1) -> StateKey:
    """The state key of a window (undated by default)."""
    return StateKey("conn", company, resource, start, end)


def state(window: StateKey, scan: str = "scan-1") -> WindowState:
    """A window state of a scan in progress."""
    return WindowState(window, scan)


def versions(stored: dict[tuple[int, int], bytes]) -> dict[tuple[int, int], int]:
    """``(company, id) -> version`` of read records (PostgreSQL normalizes the JSON)."""
    return {k: json.loads(v)["version"] for k, v in stored.items()}


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema name, dropped (with everything in it) after the test."""
    schema = f"sink_test_{secrets.token_hex(6)}"
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def set_postgres_version(url: str, schema: str, version: int) -> None:
    """Overwrite the stored schema version, as a newer library would have written it."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            f"UPDATE \"{schema}\"._tripletex_meta SET value = %s WHERE key = 'schema_version'",
            (str(version),),
        )


def set_sqlite_version(path: Path, version: int) -> None:
    """Overwrite the stored schema version of a SQLite database."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "UPDATE _tripletex_meta SET value = ? WHERE key = 'schema_version'", (str(version),)
        )
    connection.close()


def set_duckdb_version(path: Path, version: int) -> None:
    """Overwrite the stored schema version of a DuckDB database (a sink of this process
    may hold it open: DuckDB shares the database between connections of one process)."""
    with duckdb.connect(path) as connection:
        connection.execute(
            "UPDATE _tripletex_meta SET value = ? WHERE key = 'schema_version'", (str(version),)
        )


def set_jsonl_version(directory: Path, version: int) -> None:
    """Overwrite the schema version in a JSONL directory's state file."""
    path = directory / "_state.json"
    document = json.loads(path.read_bytes())
    document["schema_version"] = version
    path.write_text(json.dumps(document))


@dataclass
class SinkCase:
    """One sink under test, and how to fake storage written by a newer version."""

    sink: ReadableSink
    #: After ``sink`` was opened: a new, unopened sink on storage claiming ``version``.
    with_version: Callable[[int], Awaitable[ReadableSink]]


@pytest.fixture(params=["memory", "sqlite", "postgres", "duckdb", "jsonl"])
async def case(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SinkCase]:
    """Each built-in sink in turn, fresh, closed afterwards."""
    kind: str = request.param
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("postgres_schema")
        made = _postgres_case(url, schema)
    elif kind == "sqlite":
        made = _sqlite_case(tmp_path / "sync.db")
    elif kind == "duckdb":
        made = _duckdb_case(tmp_path / "sync.duckdb")
    elif kind == "jsonl":
        made = _jsonl_case(tmp_path / "lake")
    else:
        made = _memory_case()
    yield made
    await made.sink.aclose()


@pytest.fixture
def sink(case: SinkCase) -> ReadableSink:
    """The sink of `case`."""
    return case.sink


def _memory_case() -> SinkCase:
    async def newer(version: int) -> ReadableSink:
        other = MemorySink()
        other.meta["schema_version"] = str(version)
        return other

    return SinkCase(MemorySink(), newer)


def _sqlite_case(path: Path) -> SinkCase:
    async def newer(version: int) -> ReadableSink:
        set_sqlite_version(path, version)
        return SQLiteSink(path)

    return SinkCase(SQLiteSink(path), newer)


def _duckdb_case(path: Path) -> SinkCase:
    async def newer(version: int) -> ReadableSink:
        set_duckdb_version(path, version)
        return DuckDBSink(path)

    return SinkCase(DuckDBSink(path), newer)


def _postgres_case(url: str, schema: str) -> SinkCase:
    async def newer(version: int) -> ReadableSink:
        set_postgres_version(url, schema, version)
        return PostgresSink(url, schema=schema)

    return SinkCase(PostgresSink(url, schema=schema), newer)


def _jsonl_case(directory: Path) -> SinkCase:
    async def newer(version: int) -> ReadableSink:
        set_jsonl_version(directory, version)
        return JSONLSink(directory)

    return SinkCase(JSONLSink(directory), newer)
