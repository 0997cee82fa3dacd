"""SQLiteSink: a plain SQLite file other tools can query."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tripletex_async.sinks import SCHEMA_VERSION, Batch, SinkError, SQLiteSink, Table

from .conftest import CUSTOMER, INVOICE, customer, invoice, key, set_sqlite_version, state

pytestmark = pytest.mark.anyio


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the database file goes."""
    return tmp_path / "sync.db"


@pytest.fixture
async def sink(path: Path) -> AsyncIterator[SQLiteSink]:
    """An opened sink with the invoice and customer tables."""
    sink = SQLiteSink(path)
    await sink.open([INVOICE, CUSTOMER])
    yield sink
    await sink.aclose()


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Run ``sql`` on its own connection, as another tool would."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


async def test_database_is_in_wal_mode(sink: SQLiteSink, path: Path) -> None:
    """The file is in WAL mode, so readers do not block the writer."""
    assert query(path, "PRAGMA journal_mode") == [("wal",)]


async def test_a_new_database_has_pages_of_16_kib(sink: SQLiteSink, path: Path) -> None:
    """Pages hold several ~2 kB records, not one or two as SQLite's default 4 KiB."""
    assert query(path, "PRAGMA page_size") == [(16384,)]


async def test_an_existing_database_keeps_its_page_size(path: Path) -> None:
    """A file made elsewhere with 4 KiB pages opens, is written and keeps its pages."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA page_size = 4096")
    connection.execute("CREATE TABLE analyst_notes (note TEXT)")
    connection.close()
    sink = SQLiteSink(path)
    try:
        await sink.open([INVOICE])
        await sink.write([Batch(INVOICE, 1, [invoice(2, "2024-01-20")])])
    finally:
        await sink.aclose()
    assert query(path, "PRAGMA page_size") == [(4096,)]
    assert query(path, "SELECT id FROM invoice") == [(2,)]


async def test_typed_columns_are_queryable(sink: SQLiteSink, path: Path) -> None:
    """Typed columns hold the row's values under snake_case names, with no quotes."""
    await sink.write([Batch(INVOICE, 1, [invoice(2, "2024-01-20")])])
    rows = query(
        path, "SELECT invoice_date, customer_id, amount, amount_minor, is_paid FROM invoice"
    )
    assert rows == [("2024-01-20", 102, 12.5, 1250, 1)]


@pytest.mark.parametrize("count", [1, 17, 145, 2730, 2731, 6000])
async def test_every_row_of_a_large_batch_lands_once(
    sink: SQLiteSink, path: Path, count: int
) -> None:
    """A batch is written in multi-row statements of as many rows as SQLite takes
    parameters, then smaller ones: every row lands, with its own values, none twice."""
    rows = [invoice(i, version=i % 7) for i in range(count)]
    await sink.write([Batch(INVOICE, 1, rows)])
    stored = query(path, "SELECT id, customer_id, _version FROM invoice ORDER BY id")
    assert stored == [(i, 100 + i, i % 7) for i in range(count)]


async def test_reference_indexes_wait_for_the_rows_of_a_new_table(path: Path) -> None:
    """A table created by open gets its (company_id, *_id) index from build_indexes, or
    from the next open when a run ended without it (killed): not while it loads."""
    index = "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'invoice_customer_id'"
    first = SQLiteSink(path)
    await first.open([INVOICE])
    await first.write([Batch(INVOICE, 1, [invoice(i) for i in range(10)])])
    assert query(path, index) == []
    await first.aclose()
    again = SQLiteSink(path)
    try:
        await again.open([INVOICE])
        assert query(path, index) == [("invoice_customer_id",)]
    finally:
        await again.aclose()


async def test_build_indexes_indexes_every_reference_column(sink: SQLiteSink, path: Path) -> None:
    """build_indexes: one index on (company_id, column) per reference column, once."""
    await sink.build_indexes()
    await sink.build_indexes()
    names = query(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    assert sorted(names) == [
        ("customer_company_date",),
        ("invoice_company_date",),
        ("invoice_customer_id",),
    ]


async def test_columns_have_their_affinities(sink: SQLiteSink, path: Path) -> None:
    """Internal and typed columns get the declared types the contract says: a decimal is
    REAL beside its exact INTEGER hundredths, dates DATE, booleans BOOLEAN."""
    types = {name: kind for _, name, kind, *_ in query(path, "PRAGMA table_info(invoice)")}
    assert types == {
        "company_id": "INTEGER",
        "id": "INTEGER",
        "data": "TEXT",
        "_date": "TEXT",
        "_scan": "TEXT",
        "_version": "INTEGER",
        "_part": "TEXT",
        "invoice_date": "DATE",
        "customer_id": "INTEGER",
        "amount": "REAL",
        "amount_minor": "INTEGER",
        "is_paid": "BOOLEAN",
    }


async def test_data_is_the_json_text_as_fetched(sink: SQLiteSink, path: Path) -> None:
    """data holds the exact JSON text, and read() gives the exact bytes back."""
    raw = b'{"id":1,  "name":"\xc3\xa6\xc3\xb8\xc3\xa5"}'
    await sink.write([Batch(CUSTOMER, 1, [(1, raw, None, "x")])])
    assert query(path, "SELECT data FROM customer") == [(raw.decode(),)]
    assert await sink.read("customer") == {(1, 1): raw}


async def test_rows_carry_their_date_and_scan(sink: SQLiteSink, path: Path) -> None:
    """_date and _scan are set from the row and the batch's state."""
    await sink.write([Batch(INVOICE, 3, [invoice(1)], state=state(key(company=3), "s-7"))])
    assert query(path, 'SELECT company_id, "_date", "_scan" FROM invoice') == [
        (3, "2024-01-15", "s-7")
    ]


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    """Opening a text file is a SinkError naming the file, not a sqlite3 error."""
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not SQLite\n" * 100)
    sink = SQLiteSink(text)
    with pytest.raises(SinkError, match=r"notes\.txt"):
        await sink.open([INVOICE])
    await sink.aclose()


async def test_a_path_in_a_missing_directory_says_which_directory(tmp_path: Path) -> None:
    """SQLite's own "unable to open database file" names neither; nothing is created."""
    sink = SQLiteSink(tmp_path / "no-such-dir" / "sync.db")
    with pytest.raises(SinkError, match=r"no directory .*no-such-dir"):
        await sink.open([INVOICE])
    await sink.aclose()
    assert not (tmp_path / "no-such-dir").exists()


async def test_a_directory_given_as_the_database_is_named_as_such(tmp_path: Path) -> None:
    """``--sink sqlite:///some/dir`` says it is a directory."""
    sink = SQLiteSink(tmp_path)
    with pytest.raises(SinkError, match="it is a directory"):
        await sink.open([INVOICE])
    await sink.aclose()


async def test_newer_version_is_refused_untouched(sink: SQLiteSink, path: Path) -> None:
    """A database of a newer version is refused before any table is created in it."""
    set_sqlite_version(path, SCHEMA_VERSION + 1)
    other = SQLiteSink(path)
    with pytest.raises(SinkError, match="newer"):
        await other.open([INVOICE, Table("product")])
    await other.aclose()
    assert query(path, "SELECT name FROM sqlite_master WHERE name = 'product'") == []


async def test_database_failure_midway_rolls_back(sink: SQLiteSink, path: Path) -> None:
    """A statement failing in the second batch undoes the first batch's rows and state."""
    query(path, "DROP TABLE customer")
    batches = [
        Batch(INVOICE, 1, [invoice(1)], state=state(key())),
        Batch(CUSTOMER, 1, [customer(1)]),
    ]
    with pytest.raises(SinkError, match="customer"):
        await sink.write(batches)
    assert await sink.read("invoice") == {}
    assert await sink.load_state("conn", 1, "invoice") == []


async def test_reopening_keeps_everything(sink: SQLiteSink, path: Path) -> None:
    """A new sink on the same file sees the rows and states written before."""
    await sink.write([Batch(INVOICE, 1, [invoice(1)], state=state(key()))])
    await sink.aclose()
    again = SQLiteSink(path)
    await again.open([INVOICE])
    assert set(await again.read("invoice")) == {(1, 1)}
    assert len(await again.load_state("conn", 1, "invoice")) == 1
    await again.aclose()
