"""The `Sink` contract, run against every built-in sink (see ``conftest.case``)."""

from __future__ import annotations

import json
from dataclasses import replace

import anyio
import pytest

from tripletex_async.sinks import (
    SCHEMA_VERSION,
    Batch,
    Column,
    ReadableSink,
    Sink,
    SinkError,
    StateKey,
    Table,
    WindowState,
)

from .conftest import CUSTOMER, INVOICE, SinkCase, customer, invoice, key, state, versions

pytestmark = pytest.mark.anyio

JANUARY = key("invoice", "2024-01-01", "2024-02-01")


async def test_is_a_readable_sink(sink: ReadableSink) -> None:
    """Every built-in sink satisfies both protocols."""
    assert isinstance(sink, Sink)
    assert isinstance(sink, ReadableSink)


async def test_open_creates_empty_tables(sink: ReadableSink) -> None:
    """A new sink opens with empty tables and no state."""
    await sink.open([INVOICE, CUSTOMER])
    assert await sink.read("invoice") == {}
    assert await sink.load_state("conn", 1, "invoice") == []


async def test_open_is_idempotent(sink: ReadableSink) -> None:
    """Opening again with the same tables keeps what was written."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1)])])
    await sink.open([INVOICE])
    assert set(await sink.read("invoice")) == {(1, 1)}


async def test_open_again_adds_a_column(sink: ReadableSink) -> None:
    """A table opened again with one more column takes rows with it, old rows intact."""
    await sink.open([CUSTOMER])
    await sink.write([Batch(CUSTOMER, 1, [customer(1)])])
    wider = Table("customer", (*CUSTOMER.columns, Column("email", "text")))
    await sink.open([wider])
    await sink.write([Batch(wider, 1, [(*customer(2), "a@example.com")])])
    assert set(await sink.read("customer")) == {(1, 1), (1, 2)}


async def test_use_before_open_is_refused(sink: ReadableSink) -> None:
    """Writing before open() is a SinkError."""
    with pytest.raises(SinkError, match="open"):
        await sink.write([Batch(INVOICE, 1, [invoice(1)])])


async def test_unsafe_column_name_is_refused(sink: ReadableSink) -> None:
    """A column name that is not [A-Za-z0-9_] never reaches SQL or a path."""
    bad = Table("invoice", (Column('x"; DROP TABLE invoice; --', "text"),))
    with pytest.raises(SinkError, match="invalid"):
        await sink.open([bad])


async def test_upsert_last_wins(sink: ReadableSink) -> None:
    """A later write of the same (company, id) replaces the record."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=1)])])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=2)])])
    assert versions(await sink.read("invoice")) == {(1, 1): 2}


async def test_duplicate_ids_in_one_batch(sink: ReadableSink) -> None:
    """A repeated id within one batch is stored once, the last row winning."""
    await sink.open([INVOICE])
    rows = [invoice(1, version=1), invoice(2), invoice(1, version=3)]
    await sink.write([Batch(INVOICE, 1, rows)])
    assert versions(await sink.read("invoice")) == {(1, 1): 3, (1, 2): 1}


async def test_same_id_in_two_batches_of_one_write(sink: ReadableSink) -> None:
    """Batches apply in order within one write: the later batch's row wins."""
    await sink.open([INVOICE])
    batches = [
        Batch(INVOICE, 1, [invoice(1, version=1)]),
        Batch(INVOICE, 1, [invoice(1, version=2)]),
    ]
    await sink.write(batches)
    assert versions(await sink.read("invoice")) == {(1, 1): 2}


async def test_same_id_in_two_companies(sink: ReadableSink) -> None:
    """Records are keyed by (company_id, id): equal ids of two companies coexist."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(7)]), Batch(INVOICE, 2, [invoice(7, version=2)])])
    assert versions(await sink.read("invoice")) == {(1, 7): 1, (2, 7): 2}


async def test_deleted_ids_are_removed(sink: ReadableSink) -> None:
    """deleted_ids remove those records of that company only."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1), invoice(2)]), Batch(INVOICE, 2, [invoice(1)])])
    await sink.write([Batch(INVOICE, 1, deleted_ids=[1, 99])])
    assert set(await sink.read("invoice")) == {(1, 2), (2, 1)}


async def test_delete_unseen_in_a_dated_window(sink: ReadableSink) -> None:
    """A completed scan removes its window's unseen rows, not other windows' or companies'."""
    await sink.open([INVOICE])
    old = state(JANUARY, "scan-1")
    february = invoice(3, "2024-02-01")
    await sink.write(
        [
            Batch(INVOICE, 1, [invoice(1), invoice(2, "2024-01-31"), february], state=old),
            Batch(INVOICE, 2, [invoice(4)], state=state(key(company=2), "scan-1")),
        ]
    )
    done = WindowState(JANUARY, "scan-2", complete=True)
    await sink.write([Batch(INVOICE, 1, [invoice(1)], state=done, delete_unseen=True)])
    assert set(await sink.read("invoice")) == {(1, 1), (1, 3), (2, 4)}


async def test_delete_unseen_in_an_undated_window(sink: ReadableSink) -> None:
    """An undated window covers the whole company."""
    await sink.open([CUSTOMER])
    first = state(key("customer"), "scan-1")
    await sink.write(
        [
            Batch(CUSTOMER, 1, [customer(1), customer(2)], state=first),
            Batch(CUSTOMER, 2, [customer(3)], state=state(key("customer", company=2))),
        ]
    )
    done = WindowState(key("customer"), "scan-2", complete=True)
    await sink.write([Batch(CUSTOMER, 1, [customer(2)], state=done, delete_unseen=True)])
    assert set(await sink.read("customer")) == {(1, 2), (2, 3)}


async def test_delete_unseen_in_a_partition(sink: ReadableSink) -> None:
    """A partition's completed scan removes unseen rows of its partition and rows of none,
    never another partition's; rows written without a partition keep theirs."""
    await sink.open([CUSTOMER])
    active, inactive = (replace(key("customer"), partition=p) for p in ("active", "inactive"))
    await sink.write(
        [
            Batch(CUSTOMER, 1, [customer(9)]),  # of no partition (a webhook, say)
            Batch(CUSTOMER, 1, [customer(1), customer(2)], state(active), partition="active"),
            Batch(CUSTOMER, 1, [customer(3)], state(inactive), partition="inactive"),
            Batch(CUSTOMER, 1, [customer(2)]),  # an update keeps its partition
        ]
    )
    done = WindowState(active, "scan-2", complete=True)
    batch = Batch(CUSTOMER, 1, [customer(1)], done, delete_unseen=True, partition="active")
    await sink.write([batch])
    assert set(await sink.read("customer")) == {(1, 1), (1, 3)}


async def test_live_ids_remove_the_window_s_dead_rows(sink: ReadableSink) -> None:
    """live_ids delete the window's other ids; other windows and companies stay."""
    await sink.open([INVOICE])
    rows = [invoice(1), invoice(2), invoice(3, "2024-02-01")]
    await sink.write(
        [
            Batch(INVOICE, 1, rows, state=state(JANUARY)),
            Batch(INVOICE, 2, [invoice(4)], state=state(key(company=2))),
        ]
    )
    done = WindowState(JANUARY, "scan-2", complete=True)
    await sink.write([Batch(INVOICE, 1, state=done, live_ids={1, 3, 50})])
    assert set(await sink.read("invoice")) == {(1, 1), (1, 3), (2, 4)}


async def test_empty_live_ids_empty_the_window(sink: ReadableSink) -> None:
    """An empty live_ids set means the window has no records left."""
    await sink.open([CUSTOMER])
    window = key("customer")
    await sink.write([Batch(CUSTOMER, 1, [customer(1), customer(2)], state=state(window))])
    await sink.write([Batch(CUSTOMER, 1, state=state(window, "scan-2"), live_ids=set())])
    assert await sink.read("customer") == {}


async def test_row_without_state_keeps_its_scan(sink: ReadableSink) -> None:
    """A row updated without state keeps the scan that saw it, so that scan keeps it."""
    await sink.open([CUSTOMER])
    window = key("customer")
    await sink.write([Batch(CUSTOMER, 1, [customer(1)], state=state(window, "scan-1"))])
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=2)])])
    done = WindowState(window, "scan-1", complete=True)
    await sink.write([Batch(CUSTOMER, 1, state=done, delete_unseen=True)])
    assert versions(await sink.read("customer")) == {(1, 1): 2}


async def test_new_row_without_state_counts_as_unseen(sink: ReadableSink) -> None:
    """A row first written without state has no scan, so a completed scan removes it."""
    await sink.open([CUSTOMER])
    await sink.write([Batch(CUSTOMER, 1, [customer(1)])])
    done = WindowState(key("customer"), "scan-1", complete=True)
    await sink.write([Batch(CUSTOMER, 1, state=done, delete_unseen=True)])
    assert await sink.read("customer") == {}


async def test_delete_unseen_without_state_is_refused(sink: ReadableSink) -> None:
    """delete_unseen needs the state's scan and window; without one the write fails."""
    await sink.open([CUSTOMER])
    with pytest.raises(SinkError, match="delete_unseen"):
        await sink.write([Batch(CUSTOMER, 1, delete_unseen=True)])


async def test_live_ids_without_state_are_refused(sink: ReadableSink) -> None:
    """live_ids need the state's window; without one the write fails."""
    await sink.open([CUSTOMER])
    with pytest.raises(SinkError, match="live_ids"):
        await sink.write([Batch(CUSTOMER, 1, live_ids=[1])])


async def test_superseded_states_are_removed(sink: ReadableSink) -> None:
    """A window split into halves: the whole's state goes, the halves' states stay."""
    await sink.open([INVOICE])
    whole = key("invoice", "2024-01-01", "2024-03-01")
    await sink.write([Batch(INVOICE, 1, state=state(whole))])
    halves = [JANUARY, key("invoice", "2024-02-01", "2024-03-01")]
    await sink.write(
        [
            Batch(INVOICE, 1, state=state(halves[0]), superseded=[whole]),
            Batch(INVOICE, 1, state=state(halves[1])),
        ]
    )
    stored = await sink.load_state("conn", 1, "invoice")
    assert sorted(s.key.window_from for s in stored) == ["2024-01-01", "2024-02-01"]
    assert {s.key for s in stored} == set(halves)


async def test_state_round_trips_every_field(sink: ReadableSink) -> None:
    """load_state gives back exactly the WindowState that was written."""
    await sink.open([INVOICE])
    window = StateKey("conn", 1, "invoice", "2024-01-01", "2024-02-01", "f00d")
    written = WindowState(
        window,
        "scan-9",
        next_from=2000,
        complete=True,
        digest="abc123",
        watermark="2024-03-01T10:00:00Z",
        records=1999,
        updated_at="2024-03-01T10:00:01Z",
    )
    await sink.write([Batch(INVOICE, 1, state=written)])
    assert await sink.load_state("conn", 1, "invoice") == [written]


async def test_state_of_a_window_is_replaced(sink: ReadableSink) -> None:
    """Writing a window's state again replaces it (one state per key)."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, state=WindowState(JANUARY, "scan-1", next_from=1000))])
    await sink.write([Batch(INVOICE, 1, state=WindowState(JANUARY, "scan-1", next_from=2000))])
    assert [s.next_from for s in await sink.load_state("conn", 1, "invoice")] == [2000]


async def test_load_state_selects_connection_company_and_resource(sink: ReadableSink) -> None:
    """States of other connections, companies or resources are not returned."""
    await sink.open([INVOICE, CUSTOMER])
    others = [key("invoice", company=2), key("customer"), StateKey("other", 1, "invoice")]
    mine = key("invoice")
    await sink.write([Batch(INVOICE, 1, state=state(k)) for k in [*others, mine]])
    assert [s.key for s in await sink.load_state("conn", 1, "invoice")] == [mine]


async def test_failed_write_to_an_unopened_table_keeps_nothing(sink: ReadableSink) -> None:
    """A write whose second batch names a table never opened leaves no rows and no state."""
    await sink.open([INVOICE])
    batches = [
        Batch(INVOICE, 1, [invoice(1)], state=state(JANUARY)),
        Batch(CUSTOMER, 1, [customer(1)]),
    ]
    with pytest.raises(SinkError):
        await sink.write(batches)
    assert await sink.read("invoice") == {}
    assert await sink.load_state("conn", 1, "invoice") == []


async def test_failed_write_with_a_bad_row_keeps_nothing(sink: ReadableSink) -> None:
    """A row with the wrong number of values fails the whole write, earlier batches too."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=1)])])
    batches = [
        Batch(INVOICE, 1, [invoice(1, version=2), invoice(2)], state=state(JANUARY)),
        Batch(INVOICE, 1, [invoice(3)[:3]]),
    ]
    with pytest.raises(SinkError, match="values"):
        await sink.write(batches)
    assert versions(await sink.read("invoice")) == {(1, 1): 1}
    assert await sink.load_state("conn", 1, "invoice") == []


async def test_sink_still_works_after_a_failed_write(sink: ReadableSink) -> None:
    """A failed write leaves the sink usable."""
    await sink.open([INVOICE])
    with pytest.raises(SinkError):
        await sink.write([Batch(INVOICE, 1, [invoice(1)[:2]])])
    await sink.write([Batch(INVOICE, 1, [invoice(1)])])
    assert set(await sink.read("invoice")) == {(1, 1)}


async def test_newer_schema_version_is_refused(case: SinkCase) -> None:
    """Storage written by a newer library version is refused, saying so."""
    await case.sink.open([INVOICE])
    newer = await case.with_version(SCHEMA_VERSION + 1)
    try:
        with pytest.raises(SinkError, match="newer"):
            await newer.open([INVOICE])
    finally:
        await newer.aclose()


async def test_write_after_aclose_is_refused(sink: ReadableSink) -> None:
    """A closed sink refuses writes with SinkError."""
    await sink.open([INVOICE])
    await sink.aclose()
    with pytest.raises(SinkError, match="closed"):
        await sink.write([Batch(INVOICE, 1, [invoice(1)])])


async def test_aclose_is_idempotent(sink: ReadableSink) -> None:
    """Closing twice is harmless."""
    await sink.open([INVOICE])
    await sink.aclose()
    await sink.aclose()


async def test_read_of_an_unknown_resource_is_empty(sink: ReadableSink) -> None:
    """Reading a resource that has no table gives no records."""
    await sink.open([INVOICE])
    assert await sink.read("product") == {}


async def test_concurrent_writes_all_land(sink: ReadableSink) -> None:
    """Writes from several tasks at once are serialized, and every one is stored."""
    await sink.open([INVOICE])

    async def write(company: int) -> None:
        for page in range(3):
            rows = [invoice(page * 10 + i) for i in range(10)]
            await sink.write([Batch(INVOICE, company, rows, state=state(key(company=company)))])

    async with anyio.create_task_group() as group:
        for company in range(1, 9):
            group.start_soon(write, company)
    assert len(await sink.read("invoice")) == 8 * 30
    assert len(await sink.load_state("conn", 5, "invoice")) == 1


# -- only_newer: the version guard of webhook writes ------------------------------------

#: A table whose typed values carry the record's version (as every default model's do).
PRODUCT = Table("product", (Column("version", "integer"), Column("name", "text")))


def product(id_: int, version: int | None, name: str = "p") -> tuple[object, ...]:
    """A `PRODUCT` row whose JSON and typed ``version`` agree."""
    data = json.dumps({"id": id_, "version": version, "name": name}).encode()
    return (id_, data, None, version, name)


async def test_only_newer_keeps_a_newer_stored_record(sink: ReadableSink) -> None:
    """A guarded row older than the stored one is ignored."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=5)])])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=4)], only_newer=True)])
    assert versions(await sink.read("invoice")) == {(1, 1): 5}


async def test_only_newer_takes_a_newer_record(sink: ReadableSink) -> None:
    """A guarded row newer than the stored one replaces it."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=5)])])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=7)], only_newer=True)])
    assert versions(await sink.read("invoice")) == {(1, 1): 7}


async def test_only_newer_takes_an_equal_version(sink: ReadableSink) -> None:
    """A replay (same version) replaces the stored row: harmless, and it may fix typed values."""
    await sink.open([PRODUCT])
    await sink.write([Batch(PRODUCT, 1, [product(1, 3, "old")])])
    await sink.write([Batch(PRODUCT, 1, [product(1, 3, "new")], only_newer=True)])
    assert json.loads((await sink.read("product"))[1, 1])["name"] == "new"


async def test_only_newer_inserts_a_new_record(sink: ReadableSink) -> None:
    """A guarded row with no stored counterpart is inserted."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(2, version=1)], only_newer=True)])
    assert versions(await sink.read("invoice")) == {(1, 2): 1}


async def test_only_newer_replaces_a_stored_record_without_version(sink: ReadableSink) -> None:
    """A stored record with no version cannot be shown newer, so a guarded row replaces it."""
    await sink.open([PRODUCT])
    await sink.write([Batch(PRODUCT, 1, [product(1, None, "unversioned")])])
    await sink.write([Batch(PRODUCT, 1, [product(1, 0, "versioned")], only_newer=True)])
    assert json.loads((await sink.read("product"))[1, 1])["name"] == "versioned"


async def test_only_newer_row_without_version_keeps_a_versioned_record(
    sink: ReadableSink,
) -> None:
    """A guarded row with no version never replaces a record that has one."""
    await sink.open([PRODUCT])
    await sink.write([Batch(PRODUCT, 1, [product(1, 2, "versioned")])])
    await sink.write([Batch(PRODUCT, 1, [product(1, None, "bare")], only_newer=True)])
    assert json.loads((await sink.read("product"))[1, 1])["name"] == "versioned"


async def test_only_newer_highest_version_in_a_batch_wins(sink: ReadableSink) -> None:
    """Within one guarded batch a repeated id keeps its highest version, whatever the order."""
    await sink.open([INVOICE])
    rows = [invoice(1, version=3), invoice(1, version=9), invoice(1, version=4)]
    await sink.write([Batch(INVOICE, 1, rows, only_newer=True)])
    assert versions(await sink.read("invoice")) == {(1, 1): 9}


async def test_only_newer_applies_between_batches_of_one_write(sink: ReadableSink) -> None:
    """A guarded batch sees what an earlier batch of the same write stored."""
    await sink.open([INVOICE])
    batches = [
        Batch(INVOICE, 1, [invoice(1, version=6)], only_newer=True),
        Batch(INVOICE, 1, [invoice(1, version=2)], only_newer=True),
    ]
    await sink.write(batches)
    assert versions(await sink.read("invoice")) == {(1, 1): 6}


async def test_unguarded_write_may_go_back_a_version(sink: ReadableSink) -> None:
    """Without only_newer the last write wins, even with an older version (the engine's
    scans store what Tripletex holds now)."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=5)])])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=4)])])
    assert versions(await sink.read("invoice")) == {(1, 1): 4}


async def test_only_newer_compares_the_typed_version(sink: ReadableSink) -> None:
    """With a typed version column the guard holds as with the JSON's version."""
    await sink.open([PRODUCT])
    await sink.write([Batch(PRODUCT, 1, [product(1, 8, "eight")])])
    await sink.write([Batch(PRODUCT, 1, [product(1, 7, "seven")], only_newer=True)])
    assert json.loads((await sink.read("product"))[1, 1])["name"] == "eight"


async def test_only_newer_is_per_company(sink: ReadableSink) -> None:
    """Another company's newer record does not hold back a guarded row."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 2, [invoice(1, version=9)])])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=1)], only_newer=True)])
    assert versions(await sink.read("invoice")) == {(1, 1): 1, (2, 1): 9}


async def test_only_newer_skipped_row_keeps_its_scan(sink: ReadableSink) -> None:
    """An ignored guarded row leaves the stored row as it was, scan included."""
    await sink.open([CUSTOMER])
    window = key("customer")
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=4)], state=state(window))])
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=3)], only_newer=True)])
    done = WindowState(window, "scan-1", complete=True)
    await sink.write([Batch(CUSTOMER, 1, state=done, delete_unseen=True)])
    assert versions(await sink.read("customer")) == {(1, 1): 4}


async def test_only_newer_deletions_are_unconditional(sink: ReadableSink) -> None:
    """deleted_ids remove the record in a guarded batch too (a delete has no version)."""
    await sink.open([INVOICE])
    await sink.write([Batch(INVOICE, 1, [invoice(1, version=5), invoice(2)])])
    await sink.write([Batch(INVOICE, 1, deleted_ids=[1], only_newer=True)])
    assert set(await sink.read("invoice")) == {(1, 2)}


async def test_a_name_postgresql_would_cut_is_refused(sink: ReadableSink) -> None:
    """Names past 63 characters are refused up front in every sink (PostgreSQL would cut
    them silently, and then not find its own table or column again)."""
    long_column = Table("invoice", (Column("x" * 64, "text"),))
    with pytest.raises(SinkError, match="longer than 63"):
        await sink.open([long_column])
    with pytest.raises(SinkError, match="longer than 63"):
        await sink.open([Table("y" * 64)])
