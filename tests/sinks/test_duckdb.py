"""DuckDBSink: exact DuckDB types an analyst can query, one writing process per file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import duckdb
import msgspec
import pytest

from tripletex_async import LeaseHeldError, LeaseLostError
from tripletex_async.sinks import Batch, Column, DuckDBSink, SinkError, Table, open_sink
from tripletex_async.sinks._lease import this_process

from .conftest import CUSTOMER, INVOICE, customer, invoice, key, state

pytestmark = pytest.mark.anyio

#: Every column kind, at the paths of `RECORDS`.
KINDS = (
    Column("amount", "decimal"),
    Column("unit_price", "decimal", ("unitPrice",)),
    Column("count", "integer"),
    Column("ratio", "real"),
    Column("note", "text"),
    Column("is_paid", "boolean", ("isPaid",)),
    Column("day", "date"),
    Column("changed_at", "timestamp", ("changedAt",)),
    Column("customer_id", "integer", ("customer", "id")),
)

#: Records as Tripletex would send them, numbers spelled exactly (11 decimals, 29 digits).
RECORDS = [
    b'{"id": 1, "amount": 0.10, "unitPrice": 1234.5678901234, "count": 3, "ratio": 0.5, '
    b'"note": "a", "isPaid": true, "day": "2024-02-29", "changedAt": "2024-07-01T12:00:00", '
    b'"customer": {"id": 7}}',
    b'{"id": 2, "amount": 0.12345678901, "unitPrice": 12345678901234567890123456789, '
    b'"count": null, "ratio": 1, "note": null, "isPaid": false, "day": "", '
    b'"changedAt": "2024-01-01T12:00:00+01:00", "customer": null}',
    b'{"id": 3, "day": "2024-02-30", "changedAt": "not a time", "count": "4"}',
]

_decode = msgspec.json.Decoder(float_hook=Decimal).decode


def typed(data: bytes, column: Column) -> object:
    """The value a sync's Struct would hand the sink for ``column`` of a record."""
    value: Any = _decode(data)
    for step in column.path:
        value = value.get(step) if isinstance(value, dict) else None
    wanted = {
        "decimal": (int, Decimal),
        "integer": (int,),
        "real": (int, Decimal),
        "boolean": (bool,),
    }.get(column.kind, (str,))
    if not isinstance(value, wanted) or (isinstance(value, bool) and column.kind != "boolean"):
        return None
    return float(value) if column.kind == "real" else value


def rows(table: Table) -> list[tuple[object, ...]]:
    """`RECORDS` as rows of ``table``."""
    return [
        (int(_decode(data)["id"]), data, None, *(typed(data, c) for c in table.columns))
        for data in RECORDS
    ]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the database file goes."""
    return tmp_path / "sync.duckdb"


@pytest.fixture
async def sink(path: Path) -> AsyncIterator[DuckDBSink]:
    """An opened sink with the invoice and customer tables."""
    sink = DuckDBSink(path)
    await sink.open([INVOICE, CUSTOMER])
    yield sink
    await sink.aclose()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a connection of its own (sharing the sink's open database, as every
    connection of one process does)."""
    with duckdb.connect(path) as connection:
        return connection.execute(sql).fetchall()


def types(path: Path, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``table``."""
    found = query(
        path,
        f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{table}'",
    )
    return dict(found)


@pytest.fixture
def other_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the database file open (for writing, DuckDB's default)
    until it is told to exit."""
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
        "sys.stdin.read()"
    )
    command = [sys.executable, "-c", code, str(path)]
    # Leaving the block closes its stdin, on which it exits, and waits for it.
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as it:
        assert it.stdout is not None
        assert it.stdout.readline() == "open\n"
        yield it


async def test_columns_have_duckdb_types(sink: DuckDBSink, path: Path) -> None:
    """Internal and typed columns get exact DuckDB types; data is JSON."""
    await sink.open([Table("everything", KINDS)])
    assert types(path, "invoice") == {
        "company_id": "BIGINT",
        "id": "BIGINT",
        "data": "JSON",
        "_date": "VARCHAR",
        "_scan": "VARCHAR",
        "_version": "BIGINT",
        "_part": "VARCHAR",
        "invoice_date": "DATE",
        "customer_id": "BIGINT",
        "amount": "DECIMAL(38,10)",
        "is_paid": "BOOLEAN",
    }
    everything = types(path, "everything")
    assert everything["ratio"] == "DOUBLE"
    assert everything["note"] == "VARCHAR"
    assert everything["changed_at"] == "TIMESTAMP WITH TIME ZONE"


async def test_typed_values_are_queryable(sink: DuckDBSink, path: Path) -> None:
    """Typed columns hold Python's own types back: dates, Decimals, booleans."""
    await sink.write([Batch(INVOICE, 1, [invoice(2, "2024-01-20")])])
    rows = query(path, "SELECT invoice_date, customer_id, amount, is_paid FROM invoice")
    assert rows == [(date(2024, 1, 20), 102, Decimal("12.50"), True)]


async def test_data_is_the_json_text_as_fetched(sink: DuckDBSink, path: Path) -> None:
    """data keeps the exact JSON text (JSON functions work on it); read() gives the exact
    bytes back."""
    raw = b'{"id":1,  "name":"\xc3\xa6\xc3\xb8\xc3\xa5", "price": 1.10}'
    await sink.write([Batch(CUSTOMER, 1, [(1, raw, None, "x")])])
    assert query(path, "SELECT data::VARCHAR, data->>'name' FROM customer") == [
        (raw.decode(), "æøå")
    ]
    assert await sink.read("customer") == {(1, 1): raw}


async def test_money_sums_to_exactly_zero(sink: DuckDBSink, path: Path) -> None:
    """SUM over decimals is exact: 0.10 + 0.20 - 0.30 is 0, not 5.5e-17."""
    amounts = ["0.10", "0.20", "-0.30"]
    await sink.write(
        [Batch(INVOICE, 1, [(*invoice(i)[:5], Decimal(a), True) for i, a in enumerate(amounts)])]
    )
    assert query(path, "SELECT SUM(amount) FROM invoice") == [(Decimal(0),)]


async def _write_every_kind(path: Path) -> None:
    """`rows` of a product table with a column of every kind, written and closed."""
    table = Table("product", KINDS)
    sink = DuckDBSink(path)
    try:
        await sink.open([table])
        await sink.write([Batch(table, 1, rows(table))])
    finally:
        await sink.aclose()


async def test_ten_decimals_are_kept_and_more_are_null_not_rounded(path: Path) -> None:
    """A unit price of ten decimals is stored exactly; one of eleven decimals, or of 29
    digits before the point, is NULL (data keeps it), never a rounded value."""
    await _write_every_kind(path)
    stored = query(path, "SELECT id, amount, unit_price FROM product ORDER BY id")
    assert stored == [
        (1, Decimal("0.10"), Decimal("1234.5678901234")),
        (2, None, None),
        (3, None, None),
    ]


async def test_a_naive_timestamp_is_oslo_time(path: Path) -> None:
    """A timestamp without an offset is Tripletex's local time (summer: UTC+2)."""
    await _write_every_kind(path)
    stored = query(path, "SELECT changed_at FROM product ORDER BY id")
    assert stored == [
        (datetime(2024, 7, 1, 10, tzinfo=UTC),),
        (datetime(2024, 1, 1, 11, tzinfo=UTC),),
        (None,),
    ]


async def test_columns_added_later_hold_what_a_sync_writes(path: Path) -> None:
    """Typed columns added to a table that holds rows are filled from each row's JSON with
    the values a sync would have written: exact decimals (NULL where they would not fit),
    dates, Oslo timestamps, references."""
    synced, bare = Table("synced", KINDS), Table("added")
    sink = DuckDBSink(path)
    try:
        await sink.open([synced, bare])
        await sink.write([Batch(synced, 1, rows(synced)), Batch(bare, 1, rows(bare))])
        await sink.open([Table("added", KINDS)])
    finally:
        await sink.aclose()
    names = ", ".join(c.name for c in KINDS)
    added = query(path, f"SELECT id, {names} FROM added ORDER BY id")
    assert added == query(path, f"SELECT id, {names} FROM synced ORDER BY id")
    assert added[1][1:3] == (None, None)  # 11 decimals, 29 digits: NULL, not rounded


async def test_a_second_process_is_refused_naming_the_file(
    path: Path, other_process: subprocess.Popen[str]
) -> None:
    """DuckDB lets one process write a file: another one's sink says which file and which
    process hold it, not DuckDB's lock error."""
    sink = DuckDBSink(path)
    try:
        with pytest.raises(SinkError) as caught:
            await sink.open([INVOICE])
    finally:
        await sink.aclose()
    message = str(caught.value)
    assert str(path) in message
    assert f"is open in another process (pid {other_process.pid})" in message
    assert "Could not set lock" not in message


async def test_a_second_process_makes_the_lease_held(
    path: Path, other_process: subprocess.Popen[str]
) -> None:
    """Taking a lease on a file another process holds is LeaseHeldError, so a run told
    to wait waits for that process."""
    sink = DuckDBSink(path)
    try:
        with pytest.raises(LeaseHeldError, match=r"open in another process.*--wait"):
            await sink.acquire_lease({1}, this_process(), 60)
    finally:
        await sink.aclose()


async def test_the_file_opens_once_the_other_process_lets_go(
    path: Path, other_process: subprocess.Popen[str]
) -> None:
    """The refusal keeps nothing open: the same sink opens the file afterwards."""
    sink = DuckDBSink(path)
    try:
        with pytest.raises(SinkError):
            await sink.open([INVOICE])
        assert other_process.stdin is not None
        other_process.stdin.close()
        assert other_process.wait(timeout=30) == 0
        await sink.open([INVOICE])
        await sink.write([Batch(INVOICE, 1, [invoice(1)])])
    finally:
        await sink.aclose()


async def test_writes_go_on_after_the_lease_is_renewed(sink: DuckDBSink, path: Path) -> None:
    """A renewal's answer is read to the end: DuckDB refuses a connection's next statement
    while a result has rows unread (a long sync's first write after a renewal failed)."""
    fence = await sink.acquire_lease({1, 2, 3}, this_process(), 60)
    await sink.renew_lease(fence)
    await sink.write([Batch(INVOICE, 1, [invoice(1)], state=state(key()), fence=fence)])
    await sink.renew_lease(fence)
    await sink.write([Batch(INVOICE, 1, [invoice(2)], fence=fence)])
    assert set(await sink.read("invoice")) == {(1, 1), (1, 2)}
    await sink.release_lease(fence)


async def test_sinks_of_one_process_share_the_file_and_its_leases(path: Path) -> None:
    """Two sinks of one process on one file: a held company stays held, another is free."""
    first, second = DuckDBSink(path), DuckDBSink(path)
    try:
        await first.acquire_lease({1}, this_process(), 60)
        with pytest.raises(LeaseHeldError):
            await second.acquire_lease({1, 2}, this_process(), 60)
        await second.acquire_lease({2}, this_process(), 60)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_taken_over_holder_is_fenced_out(path: Path) -> None:
    """A holder whose lease another sink of the process took over writes nothing."""
    first, second = DuckDBSink(path), DuckDBSink(path)
    try:
        await first.open([CUSTOMER])
        old = await first.acquire_lease({1}, this_process(), 1e-6)
        await second.acquire_lease({1}, this_process(), 60)
        zombie = Batch(CUSTOMER, 1, [customer(7)], state(key("customer")), fence=old)
        with pytest.raises(LeaseLostError, match="taken over"):
            await first.write([zombie])
        assert await first.read("customer") == {}
    finally:
        await first.aclose()
        await second.aclose()


async def test_concurrent_writes_of_two_sinks_on_one_file_all_land(path: Path) -> None:
    """Writes of two sinks on one file wait for each other (DuckDB's own transactions
    would fail on a conflict instead)."""
    sinks = [DuckDBSink(path), DuckDBSink(path)]

    async def write(sink: DuckDBSink, company: int) -> None:
        for page in range(5):
            rows = [invoice(page * 10 + i) for i in range(10)]
            await sink.write([Batch(INVOICE, company, rows, state=state(key(company=company)))])

    try:
        for sink in sinks:
            await sink.open([INVOICE])
        async with anyio.create_task_group() as group:
            for company in range(1, 7):
                group.start_soon(write, sinks[company % 2], company)
        assert len(await sinks[0].read("invoice")) == 6 * 50
    finally:
        for sink in sinks:
            await sink.aclose()


async def test_many_rows_are_loaded_in_one_batch(sink: DuckDBSink, path: Path) -> None:
    """A large batch goes in through one Arrow table and one upsert."""
    await sink.write([Batch(CUSTOMER, 1, [customer(i) for i in range(20_000)])])
    await sink.write([Batch(CUSTOMER, 1, [customer(i, version=2) for i in range(20_000)])])
    assert query(path, "SELECT count(*), min(_version) FROM customer") == [(20_000, 2)]


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    """Opening a text file is a SinkError naming the file."""
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not DuckDB\n" * 1000)
    sink = DuckDBSink(text)
    with pytest.raises(SinkError, match=r"notes\.txt"):
        await sink.open([INVOICE])
    await sink.aclose()


def test_url_with_a_relative_path() -> None:
    """duckdb:/// and a relative path, like sqlite:///."""
    sink = open_sink("duckdb:///data/sync.duckdb")
    assert isinstance(sink, DuckDBSink)
    assert sink.path == "data/sync.duckdb"


def test_url_with_an_absolute_path() -> None:
    """Four slashes: an absolute path."""
    sink = open_sink("duckdb:////var/lib/sync.duckdb")
    assert isinstance(sink, DuckDBSink)
    assert sink.path == "/var/lib/sync.duckdb"


def test_without_duckdb_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing driver is a SinkError with the pip command, when the sink is made."""
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(SinkError, match=r'pip install "tripletex-async\[duckdb\]"'):
        DuckDBSink("x.duckdb")


def test_importing_the_package_needs_neither_duckdb_nor_pyarrow() -> None:
    """duckdb and pyarrow are imported when a DuckDB sink is made, not before."""
    code = (
        "import sys, tripletex_async, tripletex_async.sinks; "
        "assert not {'duckdb', 'pyarrow'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
