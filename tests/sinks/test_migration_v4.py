"""Schema version 3 to 4: tables renamed at once; each table's typed columns when it is
next opened, so a table this run does not sync keeps its version-3 columns readable.

The version-3 layout is written by hand, as version 3 of the library created it."""

from __future__ import annotations

from typing import Any

import pytest

from tripletex_async.sinks import Column, Table

from ..conftest import SqlTarget

pytestmark = pytest.mark.anyio

INVOICES = Table(
    "supplierInvoice",
    (
        Column("invoice_date", "date", ("invoiceDate",)),
        Column("amount", "decimal"),
    ),
)
CUSTOMERS = Table("customer", (Column("name", "text"),))


def _version_3(target: SqlTarget) -> None:
    integer, data = ("INTEGER", "TEXT") if target.kind == "sqlite" else ("bigint", "jsonb")
    real = "REAL" if target.kind == "sqlite" else "double precision"
    base = (
        f"company_id {integer} NOT NULL, id {integer} NOT NULL, data {data} NOT NULL, "
        f'"_date" TEXT, "_scan" TEXT, "_version" {integer}, "_part" TEXT'
    )
    connection = target.connect()
    if target.kind == "postgres":  # the fresh schema the connection's search_path names
        (schema,) = connection.execute("SHOW search_path").fetchone()
        connection.execute(f'CREATE SCHEMA "{schema}"')
    for sql in [
        "CREATE TABLE _tripletex_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO _tripletex_meta VALUES ('schema_version', '3')",
        f'CREATE TABLE "supplierInvoice" ({base}, "invoiceDate" TEXT, amount {real}, '
        "PRIMARY KEY (company_id, id))",
        f"CREATE TABLE customer ({base}, name TEXT, PRIMARY KEY (company_id, id))",
        """INSERT INTO "supplierInvoice" VALUES (1, 7, '{"id": 7, "invoiceDate": """
        """"2024-03-01", "amount": 1250.50}', '2024-03-01', 's', 1, NULL, '2024-03-01', """
        "1250.5)",
        """INSERT INTO customer VALUES (1, 3, '{"id": 3, "name": "Fjord AS"}', NULL, 's', """
        "1, NULL, 'Fjord AS')",
    ]:
        connection.execute(sql)
    connection.commit()
    connection.close()


def _rows(target: SqlTarget, sql: str) -> list[tuple[Any, ...]]:
    connection = target.connect()
    try:
        return [tuple(row) for row in connection.execute(sql).fetchall()]
    finally:
        connection.close()


# The DuckDB sink began at schema version 4: no version-3 DuckDB file exists.
@pytest.mark.parametrize("sql_target", ["sqlite", "postgres"], indirect=True)
async def test_a_table_not_opened_keeps_its_columns_until_it_is(sql_target: SqlTarget) -> None:
    """Syncing customers after the upgrade renames supplierInvoice at once, but its
    columns stay as version 3 wrote them (values readable) until a run opens it: then they
    are kept as <name>__v3 and the new typed columns are filled from the JSON."""
    _version_3(sql_target)
    sink = sql_target.make()
    try:
        await sink.open([CUSTOMERS])
    finally:
        await sink.aclose()
    assert _rows(sql_target, 'SELECT "invoiceDate", amount FROM supplier_invoice') == [
        ("2024-03-01", 1250.5)
    ]
    assert _rows(sql_target, "SELECT name__v3, name FROM customer") == [("Fjord AS", "Fjord AS")]
    sink = sql_target.make()
    try:
        await sink.open([INVOICES])
    finally:
        await sink.aclose()
    minor = ", amount_minor" if sql_target.kind == "sqlite" else ""
    [(old_date, old_amount, day, *amount)] = _rows(
        sql_target,
        f'SELECT "invoiceDate__v3", amount__v3, CAST(invoice_date AS TEXT), amount{minor} '
        "FROM supplier_invoice",
    )
    assert (old_date, old_amount, day) == ("2024-03-01", 1250.5, "2024-03-01")
    assert [str(a) for a in amount] == (
        ["1250.5", "125050"] if sql_target.kind == "sqlite" else ["1250.50"]
    )
