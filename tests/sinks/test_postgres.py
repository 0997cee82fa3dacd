"""PostgresSink: jsonb records in their own schema, bulk-loaded, no secrets in errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import psycopg
import pytest

from tripletex_async.sinks import Batch, Column, ColumnKind, PostgresSink, SinkError, Table
from tripletex_async.sinks._sql_columns import derive

from .conftest import CUSTOMER, INVOICE, customer, invoice, key, state

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """psycopg's async connections are asyncio's (see test_backends for trio)."""
    return "asyncio"


@pytest.fixture
async def sink(postgres_url: str, postgres_schema: str) -> AsyncIterator[PostgresSink]:
    """An opened sink in a fresh schema, with the invoice and customer tables."""
    sink = PostgresSink(postgres_url, schema=postgres_schema)
    await sink.open([INVOICE, CUSTOMER])
    yield sink
    await sink.aclose()


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Run ``sql`` on its own connection, as another tool would."""
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


async def test_data_is_jsonb(sink: PostgresSink, postgres_url: str) -> None:
    """Records can be queried with PostgreSQL's JSON operators."""
    await sink.write([Batch(CUSTOMER, 1, [customer(4)])])
    rows = query(postgres_url, f"SELECT data->>'name' FROM \"{sink.schema}\".customer")
    assert rows == [("record 4",)]


async def test_large_records_are_compressed_with_lz4(sink: PostgresSink, postgres_url: str) -> None:
    """A record past TOAST's 2 kB threshold is compressed with LZ4, not the slower pglz,
    when the server has it (as this one does)."""
    data = json.dumps({"id": 4, "version": 1, "description": "reminder text " * 300})
    await sink.write([Batch(CUSTOMER, 1, [(4, data.encode(), None, "record 4")])])
    rows = query(postgres_url, f'SELECT pg_column_compression(data) FROM "{sink.schema}".customer')
    assert rows == [("lz4",)]


async def test_new_rows_and_stored_ones_land_in_one_write(
    sink: PostgresSink, postgres_url: str
) -> None:
    """A batch of new ids (copied straight in) and one mixing new and stored ids
    (upserted) in one transaction: every row once, the stored one replaced."""
    await sink.write([Batch(CUSTOMER, 1, [customer(1), customer(2)])])
    await sink.write(
        [
            Batch(CUSTOMER, 1, [customer(3), customer(4)]),
            Batch(CUSTOMER, 1, [customer(2, version=2), customer(5)]),
        ]
    )
    rows = query(postgres_url, f'SELECT id, "_version" FROM "{sink.schema}".customer ORDER BY id')
    assert rows == [(1, 1), (2, 2), (3, 1), (4, 1), (5, 1)]


async def test_a_row_stored_after_the_check_falls_back_to_the_upsert(
    sink: PostgresSink, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the check for stored ids misses one (another connection stored it in
    between), the straight COPY fails on the key and the batch is upserted instead, its
    state included, in the same transaction."""
    await sink.write([Batch(CUSTOMER, 1, [customer(2)])])

    async def nothing_stored(*args: object) -> bool:
        return False

    monkeypatch.setattr(sink, "_any_stored", nothing_stored)
    window = key("customer")
    await sink.write([Batch(CUSTOMER, 1, [customer(2, version=3), customer(6)], state(window))])
    rows = query(postgres_url, f'SELECT id, "_version" FROM "{sink.schema}".customer ORDER BY id')
    assert rows == [(2, 3), (6, 1)]
    assert [s.scan for s in await sink.load_state("conn", 1, "customer")] == ["scan-1"]


async def test_typed_columns_have_postgres_types(sink: PostgresSink, postgres_url: str) -> None:
    """Keys are bigint, data jsonb, typed columns bigint/double/text/boolean."""
    rows = query(
        postgres_url,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{sink.schema}' AND table_name = 'invoice'",
    )
    assert dict(rows) == {
        "company_id": "bigint",
        "id": "bigint",
        "data": "jsonb",
        "_date": "text",
        "_scan": "text",
        "_version": "bigint",
        "_part": "text",
        "invoice_date": "date",
        "customer_id": "bigint",
        "amount": "numeric",
        "is_paid": "boolean",
    }


async def test_many_rows_are_copied_in(sink: PostgresSink, postgres_url: str) -> None:
    """A large batch goes through COPY and lands whole, typed values included."""
    await sink.write([Batch(INVOICE, 1, [invoice(i) for i in range(3000)])])
    table = f'"{sink.schema}".invoice'
    rows = query(
        postgres_url,
        f"SELECT count(*), sum(customer_id), bool_or(is_paid), sum(amount) FROM {table}",
    )
    assert rows == [(3000, sum(100 + i for i in range(3000)), True, Decimal("37500.00"))]


async def test_tables_live_in_the_chosen_schema(sink: PostgresSink, postgres_url: str) -> None:
    """Every table is created in the sink's schema, none in public."""
    rows = query(
        postgres_url,
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{sink.schema}'",
    )
    assert {name for (name,) in rows} == {
        "_tripletex_meta",
        "_tripletex_state",
        "invoice",
        "customer",
    }


async def test_database_failure_midway_rolls_back(sink: PostgresSink) -> None:
    """A value PostgreSQL rejects in the second batch undoes the first batch entirely."""
    bad = (2, b'{"id": 2}', None, None, "not a number", None, None)
    batches = [
        Batch(INVOICE, 1, [invoice(1)], state=state(key())),
        Batch(INVOICE, 1, [bad]),
    ]
    with pytest.raises(SinkError, match="write"):
        await sink.write(batches)
    assert await sink.read("invoice") == {}
    assert await sink.load_state("conn", 1, "invoice") == []


async def test_unreachable_server_hides_the_password() -> None:
    """A refused connection is a SinkError naming host and database, not the password."""
    sink = PostgresSink("postgresql://alice:s3cret-pw@127.0.0.1:1/ledger", connect_timeout=2)
    with pytest.raises(SinkError) as info:
        await sink.open([INVOICE])
    message = str(info.value)
    assert "127.0.0.1:1/ledger" in message
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in repr(sink)
    await sink.aclose()


async def test_malformed_url_hides_the_password() -> None:
    """A URL psycopg cannot parse is refused without repeating it."""
    with pytest.raises(SinkError) as info:
        PostgresSink("postgresql://alice:s3cret-pw@host/db?bogus_option=1")
    assert "s3cret-pw" not in str(info.value)


async def test_missing_database_is_a_sink_error(postgres_url: str) -> None:
    """A database that does not exist is a SinkError naming it."""
    sink = PostgresSink(postgres_url.rsplit("/", 1)[0] + "/no_such_database_here")
    with pytest.raises(SinkError, match="no_such_database_here"):
        await sink.open([INVOICE])
    await sink.aclose()


async def test_tables_and_columns_carry_their_descriptions(
    postgres_url: str, postgres_schema: str
) -> None:
    """COMMENT ON the table and each column when created (quotes kept), so psql's \\d+ and
    BI tools show what a column holds; a column added later gets its own."""
    date = Column("invoice_date", "date", ("invoiceDate",), description="The day it's dated.")
    table = Table("invoice", (date,), description="Invoices of GET /invoice.")
    sink = PostgresSink(postgres_url, schema=postgres_schema)
    try:
        await sink.open([table])
    finally:
        await sink.aclose()
    later = Table("invoice", (date, Column("amount", "decimal", description="Total.")))
    sink = PostgresSink(postgres_url, schema=postgres_schema)
    try:
        await sink.open([later])
    finally:
        await sink.aclose()
    relation = f"'\"{postgres_schema}\".invoice'::regclass"
    comments = query(
        postgres_url,
        f"SELECT attname, col_description({relation}, attnum) FROM pg_attribute "
        f"WHERE attrelid = {relation} AND attnum > 0 ORDER BY attnum",
    )
    described = dict(comments)
    assert described["invoice_date"] == "The day it's dated."
    assert described["amount"] == "Total."
    assert "company" in str(described["company_id"])
    [(text,)] = query(postgres_url, f"SELECT obj_description({relation}, 'pg_class')")
    assert text == "Invoices of GET /invoice."


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("date", "2024-02-29", "2024-02-29"),
        ("date", "2024-02-30", None),
        ("date", "0000-01-01", None),
        ("date", "2024-13-01", None),
        ("date", "", None),
        ("timestamp", "2024-02-29T10:00:00+01:00", "2024-02-29 09:00:00+00"),
        ("timestamp", "2024-02-30T10:00:00", None),
        ("timestamp", "2024-01-31T25:00:00", None),
        ("timestamp", "0000-01-01T10:00", None),
    ],
)
def test_a_value_postgres_cannot_cast_is_null_not_an_error(
    postgres_url: str, kind: ColumnKind, text: str, expected: str | None
) -> None:
    """Filling a column from stored JSON (a migration, a child table) never fails on an
    odd date: what is not a real date or time is NULL, as a sync would write it."""
    [expression] = derive("postgres", Column("x", kind))
    with psycopg.connect(postgres_url) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        row = connection.execute(
            f"SELECT ({expression})::text FROM (SELECT %s::jsonb AS data) AS t",
            (json.dumps({"x": text}),),
        ).fetchone()
    assert row == (expected,)


async def test_many_sinks_opening_a_new_schema_at_once_all_open(
    postgres_url: str, postgres_schema: str
) -> None:
    """Workers starting together on a fresh database: PostgreSQL's CREATE ... IF NOT
    EXISTS races (a duplicate pg_type key) unless the sinks take turns creating."""
    from tripletex_async.sinks._lease import Holder

    sinks = [PostgresSink(postgres_url, schema=postgres_schema) for _ in range(8)]
    holder = Holder("host", 1, "2026-12-07T00:05:00+00:00")
    try:
        async with anyio.create_task_group() as tg:
            for n, one in enumerate(sinks):
                if n % 2:
                    tg.start_soon(one.open, [CUSTOMER])
                else:
                    tg.start_soon(one.acquire_lease, [n + 1], holder, 60.0)
    finally:
        for one in sinks:
            await one.aclose()


async def test_a_sink_opening_a_schema_it_finds_ready_waits_for_no_creator(
    postgres_url: str, postgres_schema: str
) -> None:
    """A worker frozen while it held the creators' lock (mid-open, SIGSTOP) must not hold
    up every other job: opening a ready schema and taking a lease there take no lock."""
    from tripletex_async.sinks._lease import Holder

    first = PostgresSink(postgres_url, schema=postgres_schema)
    await first.open([CUSTOMER])
    await first.acquire_lease([1], Holder("host", 1, "2026-12-07T00:05:00+00:00"), 60.0)
    await first.aclose()
    with psycopg.connect(postgres_url) as frozen:  # a transaction left open
        frozen.execute("SELECT pg_advisory_xact_lock(%s, 0)", (first._lock_space,))
        second = PostgresSink(postgres_url, schema=postgres_schema)
        try:
            with anyio.fail_after(5):
                await second.open([CUSTOMER])
                await second.acquire_lease([2], Holder("host", 2, "x"), 60.0)
        finally:
            await second.aclose()
