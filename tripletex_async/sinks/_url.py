"""`open_sink`: a sink from a URL, so a command line or a config file can name one."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._base import Sink, SinkError
from ._duckdb import DuckDBSink
from ._jsonl import JSONLSink
from ._memory import MemorySink
from ._postgres import PostgresSink
from ._sqlite import SQLiteSink

__all__ = ["open_sink", "split_schema"]

_SCHEMES = (
    "sqlite:///path.db, postgresql://..., postgres://..., duckdb:///path.duckdb, "
    "jsonl:///directory, memory:"
)


def open_sink(url: str) -> Sink:
    """The sink a URL names (not yet opened: call ``await sink.open(tables)``).

    - ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``: `SQLiteSink`;
    - ``postgresql://user:password@host:port/dbname`` (or ``postgres://``), optionally with
      ``?schema=name`` (default ``public``): `PostgresSink`;
    - ``duckdb:///relative/path.duckdb``, ``duckdb:////absolute/path.duckdb``:
      `DuckDBSink` (needs the ``duckdb`` extra);
    - ``jsonl:///relative/dir``, ``jsonl:////absolute/dir``: `JSONLSink`;
    - ``memory:``: `MemorySink`.

    Anything else is a `SinkError`; the message never repeats the URL, which may hold a
    password.
    """
    scheme, colon, rest = url.partition(":")
    scheme = scheme.lower()
    if not colon:
        raise SinkError(f"not a sink URL (no scheme); expected one of: {_SCHEMES}")
    if scheme in ("postgresql", "postgres"):
        plain, schema = split_schema(url)
        return PostgresSink(plain, schema=schema)
    if scheme == "memory" and rest in ("", "//"):
        return MemorySink()
    if scheme == "sqlite":
        return SQLiteSink(_path(scheme, rest))
    if scheme == "duckdb":
        return DuckDBSink(_path(scheme, rest))
    if scheme == "jsonl":
        return JSONLSink(_path(scheme, rest))
    raise SinkError(f"unknown sink URL scheme {scheme!r}; expected one of: {_SCHEMES}")


def _path(scheme: str, rest: str) -> str:
    """The path after ``scheme:///``: relative, or absolute with a fourth slash."""
    if not rest.startswith("///") or rest == "///":
        raise SinkError(
            f"a {scheme} URL is {scheme}:///relative/path or {scheme}:////absolute/path"
        )
    return rest[3:]


def split_schema(url: str) -> tuple[str, str]:
    """A PostgreSQL URL without its ``schema`` query parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1 or schemas == [""]:
        raise SinkError("a PostgreSQL sink URL takes one non-empty ?schema=name")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schemas[0] if schemas else "public"
