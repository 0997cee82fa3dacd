"""Schema migrations: storage written by version 1 (no ``_version``) opens, migrated.

Version-1 storage is made by writing with today's sink and then undoing version 2 by
hand: dropping the ``_version`` column (SQL) or cutting index lines back to
``[id, date, scan]`` (JSONL), and storing schema version 1.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import psycopg
import pytest

from tripletex_async.sinks import (
    SCHEMA_VERSION,
    Batch,
    JSONLSink,
    PostgresSink,
    ReadableSink,
    SQLiteSink,
)

from .conftest import CUSTOMER, INVOICE, customer, invoice, versions

pytestmark = pytest.mark.anyio

TABLES = [INVOICE, CUSTOMER]
#: Invoice 1 at version 5, invoice 2 without a version, customer 1 at version 3.
UNVERSIONED = (2, b'{"id": 2, "name": "no version"}', "2024-01-15", None, None, None, None)


@dataclass
class Old:
    """Version-1 storage: a sink on it, and its stored schema version."""

    make: Callable[[], ReadableSink]
    stored_version: Callable[[], int]


async def _fill(sink: ReadableSink) -> None:
    await sink.open(TABLES)
    await sink.write(
        [
            Batch(INVOICE, 1, [invoice(1, version=5), UNVERSIONED]),
            Batch(CUSTOMER, 1, [customer(1, version=3)]),
        ]
    )
    await sink.aclose()


def _sqlite_v1(path: Path) -> None:
    connection = sqlite3.connect(path)
    with connection:
        for table in ("invoice", "customer"):
            connection.execute(f'ALTER TABLE {table} DROP COLUMN "_version"')
        connection.execute("UPDATE _tripletex_meta SET value = '1'")
    connection.close()


def _sqlite_version(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT value FROM _tripletex_meta").fetchone()[0])
    finally:
        connection.close()


def _postgres_v1(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for table in ("invoice", "customer"):
            connection.execute(f'ALTER TABLE "{schema}".{table} DROP COLUMN "_version"')
        connection.execute(f"UPDATE \"{schema}\"._tripletex_meta SET value = '1'")


def _postgres_version(url: str, schema: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(f'SELECT value FROM "{schema}"._tripletex_meta').fetchone()
    assert row is not None
    return int(row[0])


def _jsonl_v1(lake: Path) -> None:
    state_path = lake / "_state.json"
    state = json.loads(state_path.read_bytes())
    for relative in list(state["files"]):
        if not relative.startswith("_index/"):
            continue
        path = lake / relative
        lines = [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]
        path.write_bytes(b"".join(msgspec.json.encode(line[:3]) + b"\n" for line in lines))
        state["files"][relative] = path.stat().st_size
    state["schema_version"] = 1
    state_path.write_text(json.dumps(state))


def _jsonl_version(lake: Path) -> int:
    return int(json.loads((lake / "_state.json").read_bytes())["schema_version"])


@pytest.fixture(params=["sqlite", "postgres", "jsonl"])
async def old(request: pytest.FixtureRequest, tmp_path: Path) -> Old:
    """Version-1 storage holding `_fill`'s records, of each file or database sink."""
    if request.param == "sqlite":
        path = tmp_path / "sync.db"
        await _fill(SQLiteSink(path))
        _sqlite_v1(path)
        return Old(lambda: SQLiteSink(path), lambda: _sqlite_version(path))
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        schema = request.getfixturevalue("postgres_schema")
        await _fill(PostgresSink(url, schema=schema))
        _postgres_v1(url, schema)
        return Old(lambda: PostgresSink(url, schema=schema), lambda: _postgres_version(url, schema))
    lake = tmp_path / "lake"
    await _fill(JSONLSink(lake))
    _jsonl_v1(lake)
    return Old(lambda: JSONLSink(lake), lambda: _jsonl_version(lake))


async def test_version_1_storage_is_migrated(old: Old) -> None:
    """Opening version-1 storage stores the current schema version."""
    assert old.stored_version() == 1
    sink = old.make()
    await sink.open(TABLES)
    await sink.aclose()
    assert old.stored_version() == SCHEMA_VERSION


async def test_migration_keeps_every_record(old: Old) -> None:
    """The migrated storage reads back what version 1 held."""
    sink = old.make()
    await sink.open(TABLES)
    try:
        assert versions(await sink.read("customer")) == {(1, 1): 3}
        assert set(await sink.read("invoice")) == {(1, 1), (1, 2)}
    finally:
        await sink.aclose()


async def test_migration_fills_versions_from_the_records(old: Old) -> None:
    """After migrating, a guarded write older than a stored record is ignored."""
    sink = old.make()
    await sink.open(TABLES)
    try:
        await sink.write([Batch(INVOICE, 1, [invoice(1, version=4)], only_newer=True)])
        assert json.loads((await sink.read("invoice"))[1, 1])["version"] == 5
    finally:
        await sink.aclose()


async def test_migrated_record_without_version_takes_a_guarded_row(old: Old) -> None:
    """A record that had no version migrates to none, so a guarded row replaces it."""
    sink = old.make()
    await sink.open(TABLES)
    try:
        await sink.write([Batch(INVOICE, 1, [invoice(2, version=0)], only_newer=True)])
        assert versions(await sink.read("invoice"))[1, 2] == 0
    finally:
        await sink.aclose()


async def test_migration_covers_tables_not_opened(old: Old) -> None:
    """Opening one table migrates the others too: they guard when opened later."""
    sink = old.make()
    await sink.open([INVOICE])
    await sink.aclose()
    again = old.make()
    await again.open([CUSTOMER])
    try:
        await again.write([Batch(CUSTOMER, 1, [customer(1, version=2)], only_newer=True)])
        assert versions(await again.read("customer")) == {(1, 1): 3}
    finally:
        await again.aclose()
