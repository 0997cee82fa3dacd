"""Schema version 2 to 3: a database written by version 2 opens with its rows and window
states intact, rows get ``_part`` and the state key its ``partition``.

The version-2 layout is written by hand, as version 2 of the library created it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tripletex_async.sinks import (
    SCHEMA_VERSION,
    Batch,
    PostgresSink,
    ReadableSink,
    SQLiteSink,
    StateKey,
    WindowState,
)

from .conftest import CUSTOMER, customer

pytestmark = pytest.mark.anyio

_V2 = [
    "CREATE TABLE {s}_tripletex_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO {s}_tripletex_meta VALUES ('schema_version', '2')",
    "CREATE TABLE {s}_tripletex_state (connection TEXT NOT NULL, company_id {i} NOT NULL, "
    "resource TEXT NOT NULL, window_from TEXT NOT NULL, window_to TEXT NOT NULL, "
    "fields_hash TEXT NOT NULL, scan TEXT, next_from {i}, complete {b}, digest TEXT, "
    "watermark TEXT, records {i}, updated_at TEXT, PRIMARY KEY (connection, company_id, "
    "resource, window_from, window_to, fields_hash))",
    "INSERT INTO {s}_tripletex_state VALUES ('conn', 1, 'customer', '', '', 'h', 's1', 0, "
    "{true}, 'digest-1', NULL, 1, '2026-12-01T00:00:00+00:00')",
    "CREATE TABLE {s}customer (company_id {i} NOT NULL, id {i} NOT NULL, data {j} NOT NULL, "
    '"_date" TEXT, "_scan" TEXT, "_version" {i}, name TEXT, PRIMARY KEY (company_id, id))',
    "INSERT INTO {s}customer VALUES (1, 5, '{{\"id\": 5, \"version\": 1}}', NULL, 's1', 1, 'x')",
]
OLD_KEY = StateKey("conn", 1, "customer", "", "", "h")


def _sqlite_v2(path: Path) -> None:
    connection = sqlite3.connect(path)
    with connection:
        for sql in _V2:
            connection.execute(sql.format(s="", i="INTEGER", b="INTEGER", j="TEXT", true=1))
    connection.close()


async def _check(make: Callable[[], ReadableSink]) -> None:
    sink = make()
    try:
        await sink.open([CUSTOMER])
        [state] = await sink.load_state("conn", 1, "customer")
        assert state == WindowState(
            OLD_KEY,
            "s1",
            complete=True,
            digest="digest-1",
            records=1,
            updated_at="2026-12-01T00:00:00+00:00",
        )
        assert set(await sink.read("customer")) == {(1, 5)}
        # A partitioned state and rows now live beside it.
        part = StateKey("conn", 1, "customer", "", "", "h", "isInactive=true")
        batch = Batch(CUSTOMER, 1, [customer(6)], WindowState(part, "s2"), partition=part.partition)
        await sink.write([batch])
        assert len(await sink.load_state("conn", 1, "customer")) == 2
    finally:
        await sink.aclose()


async def test_sqlite_version_2_database_is_migrated(tmp_path: Path) -> None:
    """SQLite: states keep their values under partition "", the schema becomes 3."""
    path = tmp_path / "v2.db"
    _sqlite_v2(path)
    await _check(lambda: SQLiteSink(path))
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT value FROM _tripletex_meta").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    connection.close()


async def test_postgres_version_2_schema_is_migrated(
    postgres_url: str, postgres_schema: str
) -> None:
    """PostgreSQL: the same, with the state table's primary key changed in place."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{postgres_schema}"')
        for sql in _V2:
            connection.execute(
                sql.format(
                    s=f'"{postgres_schema}".', i="bigint", b="boolean", j="jsonb", true="true"
                )
            )
    await _check(lambda: PostgresSink(postgres_url, schema=postgres_schema))
