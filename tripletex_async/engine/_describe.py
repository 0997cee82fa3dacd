"""The data dictionary: what each table and column of the SQL sinks holds, in words and
in each database's types.

Descriptions come from Tripletex's spec where it has one (about half its fields do);
other columns say where in the record their value comes from. `Resource.table` gives its
table these descriptions (PostgreSQL stores them with ``COMMENT ON``); ``tripletex-async
describe`` prints them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from .._spec import field_description, list_summary
from ..sinks._base import ChildTable, Column, Table
from ..sinks._common import INTERNAL_COLUMNS, INTERNAL_DESCRIPTIONS
from ..sinks._sql import DUCKDB, SQLITE, postgres_dialect
from ..sinks._sql_columns import MINOR_SUFFIX, physical

__all__ = ["ColumnDoc", "TableDoc", "describe", "described"]

#: The boilerplate every list endpoint's summary starts with.
_FIND = "corresponding with sent data."

#: Each internal column's type in PostgreSQL, SQLite and DuckDB.
_INTERNAL_TYPES: dict[str, tuple[str, str, str]] = {
    "company_id": ("bigint", "INTEGER", "BIGINT"),
    "id": ("bigint", "INTEGER", "BIGINT"),
    "data": ("jsonb", "TEXT", "JSON"),
    "_date": ("text", "TEXT", "VARCHAR"),
    "_scan": ("text", "TEXT", "VARCHAR"),
    "_version": ("bigint", "INTEGER", "BIGINT"),
    "_part": ("text", "TEXT", "VARCHAR"),
}


def described(table: Table, schema: str | None) -> Table:
    """``table`` with the descriptions of itself and of its columns (``schema``: the
    spec's name of the records' model, ``Posting``; ``None`` when unknown)."""
    columns = tuple(
        dataclasses.replace(c, description=_column_text(schema, c)) for c in table.columns
    )
    return dataclasses.replace(table, columns=columns, description=_table_text(table, schema))


def described_child(child: ChildTable, schema: str, resource: str) -> ChildTable:
    """``child`` with the descriptions of itself and of its columns (``schema``: the
    spec's name of the nested objects' model, ``OrderLine``)."""
    columns = tuple(
        dataclasses.replace(c, description=_column_text(schema, c)) for c in child.columns
    )
    text = (
        f"The {child.list_field} of {resource} records, one row per {schema}, in order "
        f"({child.parent_key}, position); kept in step with the records."
    )
    return dataclasses.replace(child, columns=columns, description=text)


def _table_text(table: Table, schema: str | None) -> str:
    """``Posting records of GET /ledger/posting.`` and what the summary adds."""
    summary = list_summary(table.resource)
    rest = summary.partition(_FIND)[2].strip() if _FIND in summary else summary
    what = f"{schema} records" if schema else "Records"
    return " ".join(part for part in (f"{what} of GET /{table.resource}.", rest) if part)


def _column_text(schema: str | None, column: Column) -> str:
    field = column.path[0]
    spec = field_description(schema, field) if schema else ""
    if len(column.path) > 1:
        where = f"The id of the record's {field} (JSON {'.'.join(column.path)})."
        return f"{where} {spec}" if spec else where
    return spec or f"The record's {field}."


@dataclass(frozen=True, slots=True)
class ColumnDoc:
    """One physical column: its name, its type in each database, what it holds."""

    name: str
    postgres: str
    sqlite: str
    duckdb: str
    description: str


@dataclass(frozen=True, slots=True)
class TableDoc:
    """One resource's table: its name, what it holds, its columns in order."""

    name: str
    resource: str
    description: str
    columns: tuple[ColumnDoc, ...]


def describe(tables: Iterable[Table]) -> list[TableDoc]:
    """The data dictionary of ``tables`` (each as `described` made it)."""
    out = []
    for table in tables:
        columns = [
            ColumnDoc(name, *_INTERNAL_TYPES[name], INTERNAL_DESCRIPTIONS[name])
            for name in INTERNAL_COLUMNS
        ]
        columns += _typed(table.columns)
        out.append(TableDoc(table.name, table.resource, table.description, tuple(columns)))
        for child in table.children:
            key = (
                f"The id of the {table.resource} record whose {child.list_field} this is "
                f"({table.name}.id)."
            )
            first = [
                ColumnDoc("company_id", *_INTERNAL_TYPES["company_id"], "As in the record."),
                ColumnDoc(child.parent_key, *_INTERNAL_TYPES["id"], key),
                ColumnDoc("position", *_INTERNAL_TYPES["id"], "Its place in the list, from 0."),
                ColumnDoc("id", *_INTERNAL_TYPES["id"], "Its own id, when it has one."),
            ]
            docs = (*first, *_typed(child.columns))
            out.append(TableDoc(child.name, table.resource, child.description, docs))
    return out


def _typed(typed: Iterable[Column]) -> list[ColumnDoc]:
    """The physical columns of typed columns, in each database's types."""
    pg = postgres_dialect("public")
    columns = []
    for column in typed:
        [(_, pg_type)] = physical(pg.engine, column, pg.types)
        [(_, duck_type)] = physical(DUCKDB.engine, column, DUCKDB.types)
        lite = physical(SQLITE.engine, column, SQLITE.types)
        columns.append(ColumnDoc(column.name, pg_type, lite[0][1], duck_type, column.description))
        for name, sql_type in lite[1:]:
            exact = (
                f"SQLite only: {column.name} in hundredths, exact (sum this for money); "
                "NULL past two decimals."
            )
            assert name.endswith(MINOR_SUFFIX)
            columns.append(ColumnDoc(name, "", sql_type, "", exact))
    return columns
