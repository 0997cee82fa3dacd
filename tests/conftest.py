"""Shared fixtures: the asyncio backend and Tripletex's own
OpenAPI spec from the shared folder (for the contract tests of the simulator and models)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from tripletex_async.sinks import DuckDBSink, PostgresSink, Sink, SQLiteSink


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio with a real clock (loopback tests need real time)."""
    return "asyncio"


#: The ``shared`` folder is a sibling of the repository root.
SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "tripletex-openapi"
    / "tripletex-openapi-original.json"
)


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """The spec; a skip where the shared folder is absent, a failure under CI."""
    if not SPEC_PATH.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the Tripletex spec at {SPEC_PATH}")
        pytest.skip(f"the Tripletex spec is not at {SPEC_PATH} (the shared folder is absent)")
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass
class SqlTarget:
    """One SQL sink under test: how to make it, and how an analyst's tool connects."""

    kind: str
    make: Callable[[], Sink]
    connect: Callable[[], Any]


@pytest.fixture(params=["sqlite", "postgres", "duckdb"])
def sql_target(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    """A fresh SQLite file, PostgreSQL schema (its fixtures must be visible to the
    test: ``tests/sinks/conftest.py``) or DuckDB file."""
    if request.param == "sqlite":
        path = tmp_path / "t.db"
        return SqlTarget("sqlite", lambda: SQLiteSink(path), lambda: sqlite3.connect(path))
    if request.param == "duckdb":
        file = tmp_path / "t.duckdb"
        return SqlTarget("duckdb", lambda: DuckDBSink(file), lambda: duckdb.connect(file))
    url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("postgres_schema")
    return SqlTarget(
        "postgres",
        lambda: PostgresSink(url, schema=schema),
        lambda: psycopg.connect(url, options=f"-c search_path={schema}", autocommit=True),
    )
