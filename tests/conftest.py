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

#: The local PostgreSQL every PostgreSQL test uses (its own schemas or databases in it).
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL; skip (fail under CI) when it does not answer."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have PostgreSQL at {POSTGRES_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}")
    return POSTGRES_URL


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


#: The older Swagger 2 spec beside it, the one with ``required`` lists.
SWAGGER_PATH = SPEC_PATH.parent / "swagger-2.71.19" / "swagger.json"


def _shared(path: Path, what: str) -> dict[str, Any]:
    """A spec file of the shared folder; a skip where it is absent, a failure under CI."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {what} at {path}")
        pytest.skip(f"{what} is not at {path} (the shared folder is absent)")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """Tripletex's OpenAPI spec."""
    return _shared(SPEC_PATH, "the Tripletex spec")


@pytest.fixture(scope="session")
def swagger() -> dict[str, Any]:
    """The Swagger 2 spec (2.71.19)."""
    return _shared(SWAGGER_PATH, "the Swagger 2 spec")


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
