"""EventQueue: durable, bounded, de-duplicating; also the subscription registry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tripletex_async.client._log import Redactor
from tripletex_async.webhooks import EventQueue, QueueError, Registration
from tripletex_async.webhooks._queue import Put, dead_reason

pytestmark = pytest.mark.anyio

REG = Registration(7, 42, "customer.update", "id,version")


async def _queue(path: Path, **kwargs: int) -> EventQueue:
    queue = EventQueue(path, **kwargs)
    await queue.register([REG])
    return queue


async def test_put_needs_a_registered_subscription(tmp_path: Path) -> None:
    """A delivery from an unregistered subscription is not stored."""
    queue = await _queue(tmp_path / "q.db")
    assert await queue.put("k", 8, "customer.update", 1, b"{}") is Put.UNKNOWN_SUBSCRIPTION
    assert queue.pending == 0
    await queue.aclose()


async def test_event_takes_the_registered_company_and_fields(tmp_path: Path) -> None:
    """A queued event carries its subscription's company and fields."""
    queue = await _queue(tmp_path / "q.db")
    await queue.put("k", 7, "customer.update", 1, b'{"id": 1}')
    (event,) = await queue.take(5)
    assert (event.company_id, event.fields, event.value) == (42, "id,version", b'{"id": 1}')
    await queue.aclose()


async def test_same_key_is_stored_once(tmp_path: Path) -> None:
    """An idempotency key seen before is a duplicate, even after it was applied."""
    queue = await _queue(tmp_path / "q.db")
    assert await queue.put("k", 7, "customer.update", 1, None) is Put.QUEUED
    (event,) = await queue.take(5)
    await queue.complete([event.seq])
    assert await queue.put("k", 7, "customer.update", 1, None) is Put.DUPLICATE
    assert queue.pending == 0
    await queue.aclose()


async def test_full_queue_refuses(tmp_path: Path) -> None:
    """Beyond max_pending a new delivery is refused."""
    queue = await _queue(tmp_path / "q.db", max_pending=1)
    await queue.put("a", 7, "customer.update", 1, None)
    assert await queue.put("b", 7, "customer.update", 2, None) is Put.FULL
    await queue.aclose()


async def test_pending_events_survive_reopening(tmp_path: Path) -> None:
    """A committed event is there for a new queue object on the same file."""
    queue = await _queue(tmp_path / "q.db")
    await queue.put("a", 7, "customer.update", 1, None)
    await queue.aclose()
    async with EventQueue(tmp_path / "q.db") as again:
        assert again.pending == 1
        assert [e.key for e in await again.take(5)] == ["a"]


async def test_applied_keys_are_pruned_beyond_keep_applied(tmp_path: Path) -> None:
    """Only the newest keep_applied applied events are kept (for replay detection)."""
    queue = await _queue(tmp_path / "q.db", keep_applied=2)
    for key in "abcd":
        await queue.put(key, 7, "customer.update", 1, None)
    await queue.complete([e.seq for e in await queue.take(10)])
    await queue.aclose()
    connection = sqlite3.connect(tmp_path / "q.db")
    keys = [k for (k,) in connection.execute("SELECT key FROM events ORDER BY seq")]
    connection.close()
    assert keys == ["c", "d"]


async def test_dead_events_are_kept_for_inspection(tmp_path: Path) -> None:
    """An event given up on leaves the pending count but stays readable."""
    queue = await _queue(tmp_path / "q.db")
    await queue.put("a", 7, "customer.update", 1, None)
    (event,) = await queue.take(5)
    await queue.complete([], [event.seq])
    assert (queue.pending, [e.key for e in await queue.dead()]) == (0, ["a"])
    await queue.aclose()


async def _dead(queue: EventQueue, *keys: str) -> list[int]:
    """Put ``keys`` (with a payload) and give them up; their seqs."""
    for n, key in enumerate(keys):
        await queue.put(key, 7, "customer.update", n, b'{"id": 1}')
    seqs = [e.seq for e in await queue.take(len(keys))]
    await queue.complete([], {seq: f"ValueError: bad {seq}" for seq in seqs})
    return seqs


async def test_a_dead_event_keeps_why_it_died(tmp_path: Path) -> None:
    """The reason given to complete() is what dead() shows."""
    async with EventQueue(tmp_path / "q.db") as queue:
        await queue.register([REG])
        (seq,) = await _dead(queue, "a")
        assert [e.dead_reason for e in await queue.dead()] == [f"ValueError: bad {seq}"]


async def test_a_requeued_event_forgets_its_reason(tmp_path: Path) -> None:
    """Pending again, an event has no reason to be dead."""
    async with EventQueue(tmp_path / "q.db") as queue:
        await queue.register([REG])
        (seq,) = await _dead(queue, "a")
        await queue.requeue([seq])
        assert [e.dead_reason for e in await queue.take(5)] == [None]


async def test_drop_removes_dead_events_and_their_payloads(tmp_path: Path) -> None:
    """Dropped events are gone from the file, payloads included; the dead count clears."""
    async with EventQueue(tmp_path / "q.db") as queue:
        await queue.register([REG])
        seqs = await _dead(queue, "a", "b")
        assert await queue.drop(seqs) == 2
        assert ((await queue.status()).dead, await queue.dead()) == (0, [])
    connection = sqlite3.connect(tmp_path / "q.db")
    assert connection.execute("SELECT count(*) FROM payloads").fetchone() == (0,)
    assert connection.execute("SELECT count(*) FROM events").fetchone() == (0,)
    connection.close()


async def test_drop_leaves_events_that_are_not_dead(tmp_path: Path) -> None:
    """A pending event asked for is neither dropped nor counted."""
    async with EventQueue(tmp_path / "q.db") as queue:
        await queue.register([REG])
        await queue.put("p", 7, "customer.update", 1, b"{}")
        (pending,) = await queue.take(1)
        assert await queue.drop([pending.seq, 999]) == 0
        assert [e.value for e in await queue.take(5)] == [b"{}"]


def test_a_dead_reason_is_one_short_line_without_secrets() -> None:
    """Type and first line of the message, secrets redacted, at most 200 characters."""
    error = RuntimeError("sink said no to hmac-4b8d0a33-secret\n" + "x" * 500 + "\ntrace")
    reason = dead_reason(error, Redactor(["hmac-4b8d0a33-secret"]))
    assert reason == "RuntimeError: sink said no to [redacted]"
    assert len(dead_reason(ValueError("y" * 500))) == 200


async def test_tombstones_are_remembered(tmp_path: Path) -> None:
    """Deleted records are remembered per company and resource."""
    async with EventQueue(tmp_path / "q.db") as queue:
        await queue.complete([], [], [(42, "customer", 5)])
        found = await queue.tombstoned([(42, "customer", 5), (43, "customer", 5)])
    assert found == {(42, "customer", 5)}


async def test_fingerprint_is_stable_per_file_and_keyed(tmp_path: Path) -> None:
    """A file fingerprints the same secret alike across reopening; another file not."""
    async with EventQueue(tmp_path / "a.db") as a:
        first = a.fingerprint(b"secret")
    async with EventQueue(tmp_path / "a.db") as again, EventQueue(tmp_path / "b.db") as b:
        assert again.fingerprint(b"secret") == first
        assert b.fingerprint(b"secret") != first


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    """Opening a text file is a QueueError naming the file."""
    text = tmp_path / "notes.txt"
    text.write_text("not SQLite\n" * 100)
    with pytest.raises(QueueError, match=r"notes\.txt"):
        await EventQueue(text).open()


async def test_queue_file_is_in_wal_mode(tmp_path: Path) -> None:
    """WAL: deliveries are committed without blocking readers."""
    async with EventQueue(tmp_path / "q.db"):
        pass
    connection = sqlite3.connect(tmp_path / "q.db")
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()
