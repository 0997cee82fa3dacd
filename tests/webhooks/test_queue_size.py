"""EventQueue stays bounded: fields stored once, applied events pruned to their keys,
old tombstones dropped, and version-1 and version-2 files migrated with their events."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from tripletex_async.client._clock import SystemClock
from tripletex_async.webhooks import EventQueue, Registration
from tripletex_async.webhooks._queue import Put
from tripletex_async.webhooks._queue_schema import SCHEMA_VERSION

pytestmark = pytest.mark.anyio

FIELDS = ",".join(f"field{i}" for i in range(120))  # ~1,000 characters, as in the field
VALUE = b'{"name": "' + b"x" * 1200 + b'"}'
REG = Registration(7, 42, "customer.update", FIELDS)
#: Measured 2026-12-07: 4.0 MB for 25,000 events (applied, keys kept); v1 took 103 MB.
SIZE_BOUND = 8 << 20


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def _fill(queue: EventQueue, keys: range, in_flight: int = 64) -> None:
    """Put ``keys`` with ``in_flight`` puts at a time (they share group commits)."""
    todo = iter(keys)

    async def worker() -> None:
        for i in todo:
            assert await queue.put(f"k{i}", 7, "customer.update", i, VALUE) is Put.QUEUED

    async with anyio.create_task_group() as group:
        for _ in range(in_flight):
            group.start_soon(worker)


@pytest.mark.timeout(120)
async def test_25000_applied_events_stay_under_the_bound(tmp_path: Path) -> None:
    """25,000 events put and applied leave the file (and its WAL) under SIZE_BOUND."""
    path = tmp_path / "q.db"
    async with EventQueue(path) as queue:
        await queue.register([REG])
        for start in range(0, 25_000, 5_000):
            await _fill(queue, range(start, start + 5_000))
            while events := await queue.take(1_000):
                await queue.complete([e.seq for e in events])
    assert _size(path) < SIZE_BOUND


async def test_concurrent_puts_share_commits_and_stay_exact(tmp_path: Path) -> None:
    """Concurrent puts: one QUEUED per key, the rest DUPLICATE, and max_pending exact."""
    async with EventQueue(tmp_path / "q.db", max_pending=5) as queue:
        await queue.register([REG])
        results: list[Put] = []

        async def put(key: str) -> None:
            results.append(await queue.put(key, 7, "customer.update", 1, None))

        async with anyio.create_task_group() as group:
            for key in ["a", "a", "b", "c", "b", "d", "e", "f", "g"]:
                group.start_soon(put, key)
        assert sorted(r.value for r in results).count(Put.QUEUED.value) == 5
        assert results.count(Put.DUPLICATE) == 2
        assert results.count(Put.FULL) == 2
        assert queue.pending == 5


async def test_replays_are_refused_after_pruning(tmp_path: Path) -> None:
    """Keys of the newest keep_applied applied events are still duplicates once older
    events were pruned and their values dropped."""
    path = tmp_path / "q.db"
    async with EventQueue(path, keep_applied=3) as queue:
        await queue.register([REG])
        await _fill(queue, range(10), in_flight=1)
        await queue.complete([e.seq for e in await queue.take(10)])
        replays = [await queue.put(f"k{i}", 7, "customer.update", i, VALUE) for i in (7, 8, 9)]
    assert replays == [Put.DUPLICATE] * 3
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT e.key, p.value FROM events AS e "
        "LEFT JOIN payloads AS p ON p.seq = e.seq ORDER BY e.seq"
    ).fetchall()
    connection.close()
    assert rows == [("k7", None), ("k8", None), ("k9", None)]


class _Clock(SystemClock):
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 7, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


async def test_tombstones_are_dropped_after_keep_tombstones(tmp_path: Path) -> None:
    """A deletion is remembered for keep_tombstones, then forgotten."""
    clock = _Clock()
    async with EventQueue(tmp_path / "q.db", keep_tombstones=timedelta(days=2), clock=clock) as q:
        await q.complete([], [], [(42, "customer", 5)])
        clock.at += timedelta(days=1)
        await q.complete([], [], [(42, "customer", 6)])
        assert await q.tombstoned([(42, "customer", 5)]) == {(42, "customer", 5)}
        clock.at += timedelta(days=1, hours=12)
        await q.complete([])
        assert await q.tombstoned([(42, "customer", 5), (42, "customer", 6)]) == {
            (42, "customer", 6)
        }


_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "key TEXT NOT NULL UNIQUE, subscription_id INTEGER NOT NULL, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, object_id INTEGER NOT NULL, "
    "fields TEXT NOT NULL, value BLOB, received_at TEXT NOT NULL, "
    "attempts INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX events_state ON events (state, seq)",
    "CREATE TABLE registrations (subscription_id INTEGER PRIMARY KEY, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, fields TEXT NOT NULL, "
    "secrets TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE tombstones (company_id INTEGER NOT NULL, resource TEXT NOT NULL, "
    "id INTEGER NOT NULL, PRIMARY KEY (company_id, resource, id))",
    "INSERT INTO meta VALUES ('schema_version', '1'), ('fingerprint_key', '00ff')",
    "INSERT INTO registrations VALUES (7, 42, 'customer.update', 'id,name', '')",
    "INSERT INTO tombstones VALUES (42, 'customer', 3)",
    "INSERT INTO events VALUES (1, 'old', 7, 42, 'customer.update', 1, 'id,version', "
    "NULL, '2026-12-01T00:00:00+00:00', 0, 1)",
    "INSERT INTO events VALUES (2, 'new', 7, 42, 'customer.update', 2, 'id,version', "
    "X'7B7D', '2026-12-01T00:00:01+00:00', 0, 0)",
)


async def test_a_version_1_file_is_migrated_with_its_pending_events(tmp_path: Path) -> None:
    """A version-1 queue opens as the current version: pending events intact, applied keys still
    duplicates, tombstones kept, new events after the old ones."""
    path = tmp_path / "q.db"
    connection = sqlite3.connect(path)
    for statement in _V1:
        connection.execute(statement)
    connection.commit()
    connection.close()
    async with EventQueue(path) as queue:
        (event,) = await queue.take(10)
        assert (event.seq, event.key, event.fields, event.value) == (2, "new", "id,version", b"{}")
        assert await queue.put("old", 7, "customer.update", 1, None) is Put.DUPLICATE
        assert await queue.put("next", 7, "customer.update", 3, None) is Put.QUEUED
        assert [e.seq for e in await queue.take(10)] == [2, 3]
        assert await queue.tombstoned([(42, "customer", 3)]) == {(42, "customer", 3)}
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    connection.close()


_V2 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE fields (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "key TEXT NOT NULL UNIQUE, subscription_id INTEGER NOT NULL, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, object_id INTEGER NOT NULL, "
    "fields_id INTEGER NOT NULL REFERENCES fields (id), "
    "received_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "state INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX events_state ON events (state, seq)",
    "CREATE TABLE payloads (seq INTEGER PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE registrations (subscription_id INTEGER PRIMARY KEY, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, fields TEXT NOT NULL, "
    "secrets TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE tombstones (company_id INTEGER NOT NULL, "
    "resource TEXT NOT NULL, id INTEGER NOT NULL, deleted_at TEXT NOT NULL DEFAULT '', "
    "PRIMARY KEY (company_id, resource, id))",
    "INSERT INTO meta VALUES ('schema_version', '2'), ('fingerprint_key', '00ff')",
    "INSERT INTO fields VALUES (1, 'id,version')",
    "INSERT INTO registrations VALUES (7, 42, 'customer.update', 'id,name', '')",
    "INSERT INTO events VALUES (1, 'dead', 7, 42, 'customer.update', 1, 1, "
    "'2026-12-01T00:00:00+00:00', 1, 2)",
    "INSERT INTO events VALUES (2, 'new', 7, 42, 'customer.update', 2, 1, "
    "'2026-12-01T00:00:01+00:00', 0, 0)",
    "INSERT INTO payloads VALUES (1, X'5B5D'), (2, X'7B7D')",
)


async def test_a_version_2_file_gains_dead_reasons_with_its_events(tmp_path: Path) -> None:
    """A version-2 queue opens as version 3: its dead event without a reason, its pending
    event intact, and the next event to die keeps why."""
    path = tmp_path / "q.db"
    connection = sqlite3.connect(path)
    for statement in _V2:
        connection.execute(statement)
    connection.commit()
    connection.close()
    async with EventQueue(path) as queue:
        assert [(e.seq, e.value, e.dead_reason) for e in await queue.dead()] == [(1, b"[]", None)]
        (event,) = await queue.take(10)
        assert (event.seq, event.key, event.fields, event.value) == (2, "new", "id,version", b"{}")
        await queue.complete([], {2: "ValueError: no"})
        assert [e.dead_reason for e in await queue.dead()] == [None, "ValueError: no"]
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        "3",
    )
    connection.close()
