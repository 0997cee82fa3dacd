"""open_sink: one URL names any built-in sink."""

from __future__ import annotations

from pathlib import Path

import pytest

from tripletex_async.sinks import (
    JSONLSink,
    MemorySink,
    PostgresSink,
    SinkError,
    SQLiteSink,
    open_sink,
)
from tripletex_async.sinks._url import split_schema


def test_sqlite_relative_path() -> None:
    """Three slashes: a path relative to the working directory."""
    sink = open_sink("sqlite:///data/sync.db")
    assert isinstance(sink, SQLiteSink)
    assert sink.path == "data/sync.db"


def test_sqlite_absolute_path() -> None:
    """Four slashes: an absolute path."""
    sink = open_sink("sqlite:////var/lib/sync.db")
    assert isinstance(sink, SQLiteSink)
    assert sink.path == "/var/lib/sync.db"


def test_jsonl_directory() -> None:
    """jsonl: follows the same slash rule."""
    sink = open_sink("jsonl:////srv/lake")
    assert isinstance(sink, JSONLSink)
    assert sink.directory == Path("/srv/lake")


def test_memory() -> None:
    """memory: needs nothing else."""
    assert isinstance(open_sink("memory:"), MemorySink)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_with_schema(scheme: str) -> None:
    """Both PostgreSQL schemes work; ?schema= picks the schema."""
    sink = open_sink(f"{scheme}://user:pw@db.example:5433/ledger?schema=tripletex")
    assert isinstance(sink, PostgresSink)
    assert sink.schema == "tripletex"
    assert sink.target == "user@db.example:5433/ledger"


def test_postgres_schema_defaults_to_public() -> None:
    """Without ?schema= the tables go to public."""
    sink = open_sink("postgresql://db.example/ledger")
    assert isinstance(sink, PostgresSink)
    assert sink.schema == "public"


def test_schema_parameter_is_stripped_for_psycopg() -> None:
    """psycopg gets the URL without schema=, other parameters kept."""
    url = "postgresql://u:p%40ss@h/db?sslmode=require&schema=s1&application_name=sync"
    assert split_schema(url) == (
        "postgresql://u:p%40ss@h/db?sslmode=require&application_name=sync",
        "s1",
    )


def test_unknown_scheme_is_refused_without_the_url() -> None:
    """An unknown scheme is a SinkError naming the scheme, not the (secret-bearing) URL."""
    with pytest.raises(SinkError, match="'mysql'") as info:
        open_sink("mysql://root:hunter2@localhost/db")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("url", ["sqlite://sync.db", "sqlite:///", "jsonl:lake", "no-scheme"])
def test_malformed_file_urls_are_refused(url: str) -> None:
    """A file URL without its three slashes (or a path) is a SinkError."""
    with pytest.raises(SinkError):
        open_sink(url)
