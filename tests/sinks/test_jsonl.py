"""JSONLSink: exact files after a crash, compacted to one line per live record."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tripletex_async.sinks import SCHEMA_VERSION, Batch, JSONLSink, SinkError

from .conftest import CUSTOMER, INVOICE, customer, invoice, key, record, state

pytestmark = pytest.mark.anyio


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    """The sink's directory."""
    return tmp_path / "lake"


@pytest.fixture
async def sink(lake: Path) -> AsyncIterator[JSONLSink]:
    """An opened sink with the invoice and customer tables."""
    sink = JSONLSink(lake)
    await sink.open([INVOICE, CUSTOMER])
    yield sink
    await sink.aclose()


async def killed(lake: Path) -> JSONLSink:
    """An opened sink the test abandons without closing, as if its process were killed."""
    sink = JSONLSink(lake)
    await sink.open([INVOICE, CUSTOMER])
    return sink


async def reopened(lake: Path) -> JSONLSink:
    """A new sink on ``lake``, as after a restart."""
    sink = JSONLSink(lake)
    await sink.open([INVOICE, CUSTOMER])
    return sink


def lines(path: Path) -> list[bytes]:
    """The lines of a file."""
    return path.read_bytes().splitlines()


async def test_one_file_per_table_and_company(sink: JSONLSink, lake: Path) -> None:
    """Records go to <dir>/<table>/<company_id>.jsonl, one line each, as fetched."""
    await sink.write([Batch(CUSTOMER, 1, [customer(1)]), Batch(CUSTOMER, 2, [customer(2)])])
    assert lines(lake / "customer" / "1.jsonl") == [record(1)]
    assert lines(lake / "customer" / "2.jsonl") == [record(2)]


async def test_uncompacted_file_is_a_log(sink: JSONLSink, lake: Path) -> None:
    """Before compaction an update appends the new version, a deletion appends a mark."""
    await sink.write([Batch(CUSTOMER, 1, [customer(1), customer(2)])])
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=2)], deleted_ids=[2])])
    assert [json.loads(line) for line in lines(lake / "customer" / "1.jsonl")[2:]] == [
        json.loads(record(1, 2)),
        {"id": 2, "_deleted": True},
    ]


async def test_read_gives_the_compacted_view(sink: JSONLSink) -> None:
    """read() applies updates and deletions of the log, bytes exactly as fetched."""
    await sink.write([Batch(CUSTOMER, 1, [customer(1), customer(2)])])
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=2)], deleted_ids=[2])])
    assert await sink.read("customer") == {(1, 1): record(1, 2)}


async def test_compaction_keeps_one_line_per_live_record(sink: JSONLSink, lake: Path) -> None:
    """compact() leaves the last version of each live record, in id order."""
    await sink.write([Batch(CUSTOMER, 1, [customer(3), customer(1), customer(2)])])
    await sink.write([Batch(CUSTOMER, 1, [customer(3, version=2)], deleted_ids=[2])])
    await sink.compact()
    assert lines(lake / "customer" / "1.jsonl") == [record(1), record(3, 2)]


async def test_aclose_compacts(sink: JSONLSink, lake: Path) -> None:
    """Closing the sink compacts the files it wrote."""
    await sink.write([Batch(CUSTOMER, 1, [customer(1)])])
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=2)])])
    await sink.aclose()
    assert lines(lake / "customer" / "1.jsonl") == [record(1, 2)]


async def test_compacted_sink_keeps_scans_for_delete_unseen(sink: JSONLSink, lake: Path) -> None:
    """After compaction and a restart, delete_unseen still knows each record's scan."""
    window = key("customer")
    await sink.write([Batch(CUSTOMER, 1, [customer(1), customer(2)], state=state(window))])
    await sink.write([Batch(CUSTOMER, 1, [customer(2)], state=state(window, "scan-2"))])
    await sink.aclose()
    again = await reopened(lake)
    await again.write([Batch(CUSTOMER, 1, state=state(window, "scan-2"), delete_unseen=True)])
    assert set(await again.read("customer")) == {(1, 2)}
    await again.aclose()


async def test_killed_write_is_truncated_away(lake: Path) -> None:
    """Bytes after the last commit (a write killed mid-way) vanish on the next open."""
    sink = await killed(lake)
    await sink.write([Batch(CUSTOMER, 1, [customer(1)], state=state(key("customer")))])
    data = lake / "customer" / "1.jsonl"
    committed = data.read_bytes()
    with data.open("ab") as file:
        file.write(record(2) + b"\n" + b'{"id": 3, "na')
    with (lake / "_index" / "customer" / "1.jsonl").open("ab") as file:
        file.write(b'[2,null,"scan-1"]\n[3,')
    again = await reopened(lake)
    assert data.read_bytes() == committed
    assert await again.read("customer") == {(1, 1): record(1)}
    await again.write([Batch(CUSTOMER, 1, [customer(4)])])
    assert set(await again.read("customer")) == {(1, 1), (1, 4)}
    await again.aclose()


async def test_uncommitted_new_file_is_removed(lake: Path) -> None:
    """A company file created by a write that never committed is removed on open."""
    sink = await killed(lake)
    await sink.write([Batch(CUSTOMER, 1, [customer(1)])])
    (lake / "customer" / "9.jsonl").write_bytes(record(5) + b"\n")
    again = await reopened(lake)
    assert not (lake / "customer" / "9.jsonl").exists()
    assert set(await again.read("customer")) == {(1, 1)}
    await again.aclose()


async def test_compaction_replaced_before_its_state_is_valid(lake: Path) -> None:
    """A crash after compaction replaced a file but before the state file was saved."""
    sink = await killed(lake)
    await sink.write([Batch(CUSTOMER, 1, [customer(1), customer(2)])])
    await sink.write([Batch(CUSTOMER, 1, [customer(1, version=2)], deleted_ids=[2])])
    (lake / "customer" / "1.jsonl").write_bytes(record(1, 2) + b"\n")
    again = await reopened(lake)
    await again.write([Batch(CUSTOMER, 1, [customer(3)])])
    assert await again.read("customer") == {(1, 1): record(1, 2), (1, 3): record(3)}
    await again.aclose()


async def test_state_file_records_committed_lengths(sink: JSONLSink, lake: Path) -> None:
    """_state.json holds the schema version, every file's length and the states."""
    await sink.write([Batch(INVOICE, 1, [invoice(1)], state=state(key()))])
    document = json.loads((lake / "_state.json").read_bytes())
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["files"]["invoice/1.jsonl"] == (lake / "invoice" / "1.jsonl").stat().st_size
    assert [s["scan"] for s in document["states"]] == ["scan-1"]


async def test_line_breaks_in_a_record_become_spaces(sink: JSONLSink) -> None:
    """Pretty-printed JSON stays one line (breaks are only allowed between tokens)."""
    await sink.write([Batch(CUSTOMER, 1, [(1, b'{\n  "id": 1\r\n}', None, None)])])
    assert await sink.read("customer") == {(1, 1): b'{   "id": 1  }'}


async def test_record_id_must_match_the_row(sink: JSONLSink) -> None:
    """A row whose JSON carries another id is refused (the file is keyed by it)."""
    with pytest.raises(SinkError, match="does not match"):
        await sink.write([Batch(CUSTOMER, 1, [(1, record(2), None, None)])])


async def test_foreign_directory_is_refused(tmp_path: Path) -> None:
    """Data files without a _state.json were not written by this sink: refused."""
    (tmp_path / "customer").mkdir()
    (tmp_path / "customer" / "1.jsonl").write_bytes(record(1) + b"\n")
    sink = JSONLSink(tmp_path)
    with pytest.raises(SinkError, match="refusing"):
        await sink.open([CUSTOMER])
    await sink.aclose()
    assert (tmp_path / "customer" / "1.jsonl").exists()
