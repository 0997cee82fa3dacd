"""Where synced records go: the `Sink` contract and the built-in sinks.

`open_sink` picks one from a URL (``sqlite:///sync.db``, ``postgresql://...``,
``duckdb:///sync.duckdb``, ``jsonl:///lake``, ``memory:``).
"""

from .._exports import claim as _claim
from ._base import SCHEMA_VERSION as SCHEMA_VERSION
from ._base import Batch as Batch
from ._base import ChildTable as ChildTable
from ._base import Column as Column
from ._base import ColumnKind as ColumnKind
from ._base import ReadableSink as ReadableSink
from ._base import Row as Row
from ._base import Sink as Sink
from ._base import SinkError as SinkError
from ._base import StateKey as StateKey
from ._base import Table as Table
from ._base import WindowState as WindowState
from ._base import table_name as table_name
from ._duckdb import DuckDBSink as DuckDBSink
from ._jsonl import JSONLSink as JSONLSink
from ._memory import MemorySink as MemorySink
from ._postgres import PostgresSink as PostgresSink
from ._sqlite import SQLiteSink as SQLiteSink
from ._url import open_sink as open_sink

__all__ = [
    "SCHEMA_VERSION",
    "Batch",
    "ChildTable",
    "Column",
    "ColumnKind",
    "DuckDBSink",
    "JSONLSink",
    "MemorySink",
    "PostgresSink",
    "ReadableSink",
    "Row",
    "SQLiteSink",
    "Sink",
    "SinkError",
    "StateKey",
    "Table",
    "WindowState",
    "open_sink",
    "table_name",
]

_claim(globals(), __all__, __name__)
