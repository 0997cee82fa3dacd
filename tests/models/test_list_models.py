"""Every list endpoint classified for syncing has a generated Struct whose table every
SQL sink can create: typed columns and child tables, names an analyst can type."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripletex_async.engine._registry import endpoints
from tripletex_async.engine._resources import Resource
from tripletex_async.models import LIST_MODELS
from tripletex_async.sinks import PostgresSink, SQLiteSink, Table

from ..sinks.conftest import postgres_schema  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


def tables() -> list[Table]:
    """The table of every list endpoint to sync, as the engine would make it."""
    out = []
    for e in endpoints():
        if e.kind == "excluded":
            continue
        dated = e.kind == "dated"
        resource = Resource(
            e.name,
            LIST_MODELS[e.name],
            date_params=(e.date_params[0], e.date_params[1]) if dated else None,
            date_field="date" if dated else None,
        )
        out.append(resource.table())
    return out


def test_every_endpoint_to_sync_has_its_struct() -> None:
    """One Struct per endpoint to sync, named after the spec's record schema."""
    for e in endpoints():
        if e.kind != "excluded":
            assert LIST_MODELS[e.name].__name__ == e.model


def test_table_and_column_names_are_snake_case_and_unique() -> None:
    """Table names differ from one another; column names are snake_case within 63
    characters (PostgreSQL cuts longer ones silently)."""
    all_tables = tables()
    names = [t.name for t in all_tables]
    assert len(names) == len(set(names))
    for table in all_tables:
        for column in table.columns:
            assert column.name == column.name.lower()
            assert len(column.name) <= 63


@pytest.fixture
def anyio_backend() -> str:
    """psycopg's async connections are asyncio's."""
    return "asyncio"


async def test_sqlite_creates_every_table(tmp_path: Path) -> None:
    """All of them at once in one SQLite file, typed columns and child tables."""
    sink = SQLiteSink(tmp_path / "all.db")
    try:
        await sink.open(tables())
    finally:
        await sink.aclose()


async def test_postgres_creates_every_table(postgres_url: str, postgres_schema: str) -> None:  # noqa: F811
    """All of them at once in one PostgreSQL schema, with their comments."""
    sink = PostgresSink(postgres_url, schema=postgres_schema)
    try:
        await sink.open(tables())
    finally:
        await sink.aclose()


async def test_duckdb_creates_every_table(tmp_path: Path) -> None:
    """All of them at once in one DuckDB file (exact decimals, no indexes)."""
    from tripletex_async.sinks import DuckDBSink

    sink = DuckDBSink(tmp_path / "all.duckdb")
    try:
        await sink.open(tables())
    finally:
        await sink.aclose()
