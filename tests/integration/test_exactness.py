"""What an analyst reads from the SQL sinks is exact: money sums to exactly zero where the
ledger balances, and every typed column holds the value of the record's JSON.

The simulator's ledger balances voucher by voucher (its postings' amounts are drawn in
øre, the last one balancing the others), as Tripletex's does; amounts travel as JSON
numbers with two decimals, which a float column cannot hold exactly.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tripletex_async import RESOURCES
from tripletex_async.sinks import Column
from tripletex_async.testing import FakeTripletex

from ..conftest import SqlTarget
from ..sinks.conftest import postgres_schema  # noqa: F401 - fixtures
from .conftest import sync_into

pytestmark = pytest.mark.anyio
SYNCED = ["ledger/voucher", "ledger/posting", "order", "invoice", "customer", "product"]


async def run(fake: FakeTripletex, sql_target: SqlTarget) -> Any:
    """Sync `SYNCED` of every company into the sql_target."""
    sink = sql_target.make()
    try:
        report = await sync_into(fake, sink, SYNCED)
    finally:
        await sink.aclose()
    assert report.ok
    return report


@pytest.fixture
async def synced(sql_target: SqlTarget, portfolio: Any) -> AsyncIterator[tuple[str, Any]]:
    """A sync of the ledger and the sales resources into a fresh SQL sink, then a plain
    DB-API connection to it, as an analyst's tool would open one."""
    await run(FakeTripletex(portfolio), sql_target)
    connection = sql_target.connect()
    try:
        yield sql_target.kind, connection
    finally:
        connection.close()


async def test_every_voucher_sums_to_exactly_zero_in_sql(synced: tuple[str, Any]) -> None:
    """``SUM`` over a balanced voucher's postings is 0, not 4.7e-11: exact in SQL.

    PostgreSQL and DuckDB sum ``amount`` (numeric, DECIMAL); SQLite, which has no exact
    decimal type, sums ``amount_minor`` (the amount in hundredths, an integer)."""
    kind, connection = synced
    exact = "amount_minor" if kind == "sqlite" else "amount"
    vouchers, nonzero, unknown = connection.execute(
        f"SELECT COUNT(*), SUM(CASE WHEN total <> 0 THEN 1 ELSE 0 END), SUM(missing) "
        f"FROM (SELECT SUM({exact}) AS total, "
        f"SUM(CASE WHEN {exact} IS NULL THEN 1 ELSE 0 END) AS missing "
        "FROM ledger_posting GROUP BY company_id, voucher_id) AS per_voucher"
    ).fetchone()
    assert vouchers > 50
    assert (nonzero, unknown) == (0, 0)
    # And the ledger as a whole, the first query an analyst runs.
    (total,) = connection.execute(f"SELECT SUM({exact}) FROM ledger_posting").fetchone()
    assert total == 0


async def test_columns_have_names_an_analyst_can_type(synced: tuple[str, Any]) -> None:
    """snake_case tables and columns, no reserved word as a bare name: these queries need
    no quotes."""
    _, connection = synced
    connection.execute(
        "SELECT o.id, o.order_date, o.customer_id, c.name FROM orders o "
        "JOIN customer c ON c.company_id = o.company_id AND c.id = o.customer_id"
    ).fetchall()
    connection.execute(
        "SELECT invoice_date, invoice_due_date, amount_outstanding, customer_id FROM invoice"
    ).fetchall()
    connection.execute(
        "SELECT account_id, voucher_id, vat_type_id, date FROM ledger_posting"
    ).fetchall()


async def test_every_reference_column_is_indexed_once_synced(synced: tuple[str, Any]) -> None:
    """Joins and lookups on ``*_id`` columns use an index on (company_id, column), built
    when the run ended (not kept up to date row by row while the tables loaded). DuckDB
    keeps none: its scans use zone maps, and an index would slow its bulk loads."""
    kind, connection = synced
    for name in SYNCED:
        table = RESOURCES[name].table()
        references = [c.name for c in table.columns if c.name.endswith("_id")]
        assert references, table.name
        indexed = _indexed(kind, connection, table.name)
        if kind == "duckdb":
            assert indexed == set(), table.name
        else:
            assert indexed >= {("company_id", c) for c in references}


def _indexed(kind: str, connection: Any, table: str) -> set[tuple[str, ...]]:
    """The column lists of a table's indexes."""
    if kind == "duckdb":
        found = connection.execute(
            "SELECT expressions FROM duckdb_indexes() WHERE table_name = ?", (table,)
        )
        return {tuple(row[0]) for row in found.fetchall()}
    if kind == "sqlite":
        names = [row[1] for row in connection.execute(f"PRAGMA index_list({table})")]
        return {
            tuple(row[2] for row in connection.execute(f"PRAGMA index_info({name})"))
            for name in names
        }
    rows = connection.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s",
        (table,),
    ).fetchall()
    return {tuple(row[0].rpartition("(")[2].rstrip(")").split(", ")) for row in rows}


async def test_order_lines_are_rows_that_equal_the_orders_json(synced: tuple[str, Any]) -> None:
    """order_lines holds one row per line of each order's JSON, in order, its typed
    values equal to the line's; joined to orders without a JSON function."""
    kind, connection = synced
    table = RESOURCES["order"].table()
    [child] = table.children
    assert child.name == "order_lines"
    names = ", ".join(_physical(kind, child.columns))
    got: dict[tuple[int, int], list[Any]] = {}
    for company, order_id, *values in connection.execute(
        f"SELECT company_id, order_id, {names} FROM order_lines ORDER BY company_id, order_id, "
        "position"
    ).fetchall():
        got.setdefault((company, order_id), []).append(values)
    wanted: dict[tuple[int, int], list[Any]] = {}
    for company, order_id, data in connection.execute(
        "SELECT company_id, id, data FROM orders"
    ).fetchall():
        record = _exact_json(data)
        if record.get("orderLines"):
            wanted[company, order_id] = record["orderLines"]
    assert sum(len(v) for v in wanted.values()) > 100
    assert got.keys() == wanted.keys()
    for order, lines in wanted.items():
        assert len(got[order]) == len(lines)
        for values, item in zip(got[order], lines, strict=True):
            stored = iter(values)
            for column in child.columns:
                for how, expected in _expected(kind, column, _json_value(item, column.path)):
                    assert _same(next(stored), how, expected), (order, column.name)
    (joined,) = connection.execute(
        "SELECT count(*) FROM orders o JOIN order_lines l "
        "ON l.company_id = o.company_id AND l.order_id = o.id"
    ).fetchone()
    assert joined == sum(len(v) for v in wanted.values())


def _exact_json(data: Any) -> Any:
    """A stored ``data`` as Python values, numbers as exact decimals."""
    text = data if isinstance(data, str) else json.dumps(data)
    return json.loads(text, parse_float=Decimal)


async def test_every_typed_value_equals_the_json_value(synced: tuple[str, Any]) -> None:
    """Each typed column of each synced table holds its field of ``data``: numbers exactly,
    dates as dates, booleans as booleans, references as the referenced id."""
    kind, connection = synced
    checked = 0
    for name in SYNCED:
        table = RESOURCES[name].table()
        names = ", ".join(_physical(kind, table.columns))
        rows = connection.execute(f"SELECT data, {names} FROM {table.name}").fetchall()
        assert rows, table.name
        for data, *values in rows:
            record = data if isinstance(data, dict) else json.loads(data, parse_float=Decimal)
            if isinstance(data, dict):  # psycopg decoded jsonb with floats: redo exactly
                record = json.loads(json.dumps(data), parse_float=Decimal)
            got = iter(values)
            for column in table.columns:
                wanted = _json_value(record, column.path)
                for value, expected in _expected(kind, column, wanted):
                    assert _same(next(got), value, expected), (table.name, column.name, wanted)
                    checked += 1
    assert checked > 10_000


# The DuckDB sink began at schema version 4: no version-3 DuckDB file exists.
@pytest.mark.parametrize("sql_target", ["sqlite", "postgres"], indirect=True)
async def test_a_version_3_database_is_migrated_without_fetching_again(
    sql_target: SqlTarget, portfolio: Any
) -> None:
    """A database in the version-3 layout (camelCase names, floats for amounts, text for
    dates; rebuilt here from a sync) opens with snake_case tables whose typed columns are
    filled again, exactly, from the stored JSON: the next sync fetches nothing and the
    money sums to zero."""
    fake = FakeTripletex(portfolio)
    await run(fake, sql_target)
    connection = sql_target.connect()
    try:
        before = {name: _contents(connection, name) for name in SYNCED}
        _downgrade_to_version_3(sql_target.kind, connection)
        assert "orders" not in _tables(connection)
        # What an analyst built on version 3: a column of their own and a view.
        connection.execute("ALTER TABLE invoice ADD COLUMN notes TEXT")
        connection.execute("UPDATE invoice SET notes = 'checked'")
        connection.execute('CREATE VIEW big AS SELECT id, "invoiceDate" FROM invoice')
        connection.commit()
    finally:
        connection.close()
    again = await run(fake, sql_target)
    assert again.total().records == 0
    assert again.total().not_modified == again.total().windows
    connection = sql_target.connect()
    try:
        assert {name: _contents(connection, name) for name in SYNCED} == before
        # Nothing of version 3 is dropped: its columns are kept, renamed, and its views work.
        (notes,) = connection.execute(
            "SELECT count(*) FROM invoice WHERE notes__v3 = 'checked'"
        ).fetchone()
        assert notes == len(before["invoice"])
        assert len(connection.execute("SELECT * FROM big").fetchall()) == notes
        # order_lines did not exist in version 3: filled from the stored orders on open.
        await test_order_lines_are_rows_that_equal_the_orders_json((sql_target.kind, connection))
        await test_every_voucher_sums_to_exactly_zero_in_sql((sql_target.kind, connection))
        await test_every_typed_value_equals_the_json_value((sql_target.kind, connection))
    finally:
        connection.close()


def _contents(connection: Any, resource: str) -> dict[tuple[int, int], str]:
    table = RESOURCES[resource].table().name
    rows = connection.execute(f"SELECT company_id, id, data FROM {table}").fetchall()
    return {(c, i): json.dumps(d, sort_keys=True) if isinstance(d, dict) else d for c, i, d in rows}


def _tables(connection: Any) -> set[str]:
    if isinstance(connection, sqlite3.Connection):
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        query = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    return {name for (name,) in connection.execute(query).fetchall()}


_V3_TYPES = {
    "sqlite": {"decimal": "REAL", "real": "REAL", "integer": "INTEGER", "boolean": "INTEGER"},
    "postgres": {
        "decimal": "double precision",
        "real": "double precision",
        "integer": "bigint",
        "boolean": "boolean",
    },
}


def _downgrade_to_version_3(kind: str, connection: Any) -> None:
    """Rewrite every synced table as version 3 of the library laid it out: the API path as
    its name (``order``, ``supplierInvoice``), typed columns under the API field's name
    (``invoiceDate``, ``customer_id``), amounts as floats, dates as text; schema version
    3 in the meta table."""
    base = "company_id, id, data, _date, _scan, _version, _part"
    for name in SYNCED:
        table = RESOURCES[name].table()
        old, new = table.folder, table.name
        columns = [("_".join(c.path) if len(c.path) > 1 else c.path[0], c) for c in table.columns]
        types = _V3_TYPES[kind]
        typed = "".join(f', "{n}" {types.get(c.kind, "TEXT")}' for n, c in columns)
        data = "TEXT" if kind == "sqlite" else "jsonb"
        integer = "INTEGER" if kind == "sqlite" else "bigint"
        values = ", ".join(f"CAST({c.name} AS {types.get(c.kind, 'TEXT')})" for _, c in columns)
        for sql in [
            f'CREATE TABLE "{old}__v3" (company_id {integer} NOT NULL, id {integer} NOT NULL, '
            f'data {data} NOT NULL, "_date" TEXT, "_scan" TEXT, "_version" {integer}, '
            f'"_part" TEXT{typed}, PRIMARY KEY (company_id, id))',
            f'INSERT INTO "{old}__v3" SELECT {base}, {values} FROM {new}',
            f"DROP TABLE {new}",
            *(f"DROP TABLE {child.name}" for child in table.children),
            f'ALTER TABLE "{old}__v3" RENAME TO "{old}"',
            f'CREATE INDEX "{old}_company_date" ON "{old}" (company_id, "_date")',
        ]:
            connection.execute(sql)
    connection.execute("UPDATE _tripletex_meta SET value = '3' WHERE key = 'schema_version'")
    connection.commit()


def _physical(kind: str, columns: tuple[Column, ...]) -> list[str]:
    out = []
    for column in columns:
        out.append(column.name)
        if kind == "sqlite" and column.kind == "decimal":
            out.append(f"{column.name}_minor")
    return out


def _json_value(record: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(record, dict):
            return None
        record = record.get(step)
    return record


def _expected(kind: str, column: Column, wanted: Any) -> list[tuple[Any, Any]]:
    """``[(kind of comparison, expected value)]`` per physical column of ``column``."""
    if column.kind == "decimal":
        exact = None if wanted is None else Decimal(wanted)
        if kind == "postgres":
            return [("decimal", exact)]
        if kind == "duckdb":  # DECIMAL(38,10): NULL rather than rounded
            held = exact is not None and exact == round(exact, 10)
            return [("decimal", exact if held else None)]
        minor = None if exact is None else exact * 100
        whole = None if minor is None or minor != minor.to_integral_value() else int(minor)
        return [("float", None if exact is None else float(exact)), ("int", whole)]
    if column.kind == "date":
        day = wanted or None
        return [("date", day if kind == "sqlite" or day is None else date.fromisoformat(day))]
    if column.kind == "timestamp":
        return [("timestamp", wanted)]
    if column.kind == "boolean":
        return [("bool", wanted)]
    return [("plain", wanted)]


def _same(got: Any, how: str, expected: Any) -> bool:
    if expected is None:
        return got is None
    if how == "float":
        return isinstance(got, float) and got == expected
    if how in ("int", "decimal"):
        return type(got) is type(expected) and got == expected
    if how == "bool":
        return got == expected and (got in (0, 1) if isinstance(got, int) else True)
    if how == "timestamp":
        return isinstance(got, str | datetime)
    return bool(got == expected)
