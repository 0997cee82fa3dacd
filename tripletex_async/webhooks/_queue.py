"""`EventQueue`: the receiver's durable queue, a SQLite file (WAL, ``synchronous=FULL``).

A delivery is acknowledged only once its row is committed, so a receiver killed at any
moment loses no acknowledged event: the next one applies what is still pending. The same
file is the subscription registry (subscription id -> company, event, fields) and
remembers deletions, so that a late update cannot bring a deleted record back.

Tables::

    events(seq, key UNIQUE, subscription_id, company_id, event, object_id, fields,
           value, received_at, attempts, state)  state: 0 pending, 1 applied, 2 dead
    registrations(subscription_id PRIMARY KEY, company_id, event, fields, secrets)
    tombstones(company_id, resource, id)  PRIMARY KEY of all three
    meta(key PRIMARY KEY, value)          schema_version, fingerprint_key

One process owns a queue file at a time (it counts pending events in memory).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import Self, TypeVar

import anyio
import anyio.to_thread

from ..client._errors import TripletexError
from ..sinks._sqlite import immediate_transaction
from ._subscriptions import Registration

__all__ = ["EventQueue", "Put", "QueueError", "QueueStatus", "QueuedEvent"]

_T = TypeVar("_T")
SCHEMA_VERSION = 1
PENDING, APPLIED, DEAD = 0, 1, 2

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "key TEXT NOT NULL UNIQUE, subscription_id INTEGER NOT NULL, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, object_id INTEGER NOT NULL, "
    "fields TEXT NOT NULL, value BLOB, received_at TEXT NOT NULL, "
    "attempts INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS events_state ON events (state, seq)",
    "CREATE TABLE IF NOT EXISTS registrations (subscription_id INTEGER PRIMARY KEY, "
    "company_id INTEGER NOT NULL, event TEXT NOT NULL, fields TEXT NOT NULL, "
    "secrets TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS tombstones (company_id INTEGER NOT NULL, "
    "resource TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (company_id, resource, id))",
)
_COLUMNS = "seq, key, subscription_id, company_id, event, object_id, fields, value, attempts"


class QueueError(TripletexError):
    """The webhook queue file could not be opened, read or written."""


class Put(Enum):
    """What became of a delivery offered to the queue."""

    QUEUED = "queued"
    DUPLICATE = "duplicate"
    UNKNOWN_SUBSCRIPTION = "unknown subscription"
    FULL = "queue full"


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """The queue at a glance (`EventQueue.status`)."""

    #: Events acknowledged and not yet applied.
    pending: int
    #: When the oldest of them was received (None: none pending).
    oldest_pending: datetime | None
    #: Events given up on.
    dead: int


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """One acknowledged delivery waiting to be applied."""

    seq: int
    key: str
    subscription_id: int
    company_id: int
    event: str
    object_id: int
    #: The subscription's ``fields`` when it was received.
    fields: str
    #: The payload's ``value`` as JSON bytes; ``None`` when it was null.
    value: bytes | None
    attempts: int = 0


class EventQueue:
    """A bounded, durable queue of webhook deliveries and the subscription registry.

    Every call runs in a worker thread through the queue's own ``CapacityLimiter(1)``
    (one SQLite connection). Usable as ``async with EventQueue(path) as queue``; any call
    opens it when needed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_pending: int = 100_000,
        keep_applied: int = 100_000,
    ) -> None:
        if max_pending < 1 or keep_applied < 0:
            raise ValueError("max_pending must be at least 1 and keep_applied at least 0")
        #: The queue file.
        self.path = os.fspath(path)
        #: Pending events beyond which deliveries are refused (503: Tripletex retries).
        self.max_pending = max_pending
        #: Applied events whose idempotency keys are kept to recognise replays.
        self.keep_applied = keep_applied
        self._limiter = anyio.CapacityLimiter(1)
        self._connection: sqlite3.Connection | None = None
        self._pending = 0
        self._fingerprint_key = b""

    def __repr__(self) -> str:
        return f"<EventQueue {self.path}>"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def pending(self) -> int:
        """Events acknowledged and not yet applied (or given up on)."""
        return self._pending

    async def open(self) -> None:
        """Create or open the file (idempotent)."""
        await self._run(lambda _c: None)

    async def aclose(self) -> None:
        """Close the connection; a later call opens it again."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    async def put(
        self, key: str, subscription_id: int, event: str, object_id: int, value: bytes | None
    ) -> Put:
        """Store a delivery, committed, unless it is a replay, its subscription is not
        registered for ``event``, or the queue is full."""
        work = partial(self._put, key, subscription_id, event, object_id, value)
        return await self._run(work)

    async def take(self, limit: int) -> list[QueuedEvent]:
        """Up to ``limit`` pending events, oldest first (they stay pending until
        `complete`)."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE state = ? ORDER BY seq LIMIT ?"
        rows = await self._run(lambda c: c.execute(sql, (PENDING, limit)).fetchall())
        return [QueuedEvent(*row) for row in rows]

    async def complete(
        self,
        applied: Sequence[int],
        dead: Sequence[int] = (),
        tombstones: Iterable[tuple[int, str, int]] = (),
    ) -> None:
        """Mark events applied or dead, and remember deleted records, in one commit."""
        work = partial(self._complete, list(applied), list(dead), list(tombstones))
        await self._run(work)

    async def tombstoned(self, keys: Iterable[tuple[int, str, int]]) -> set[tuple[int, str, int]]:
        """Which of ``(company_id, resource, id)`` were deleted."""
        wanted = list(keys)
        sql = "SELECT 1 FROM tombstones WHERE company_id = ? AND resource = ? AND id = ?"

        def work(c: sqlite3.Connection) -> set[tuple[int, str, int]]:
            return {k for k in wanted if c.execute(sql, k).fetchone() is not None}

        return await self._run(work) if wanted else set()

    async def dead(self) -> list[QueuedEvent]:
        """Events given up on (undecodable, refused by Tripletex), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE state = ? ORDER BY seq"
        rows = await self._run(lambda c: c.execute(sql, (DEAD,)).fetchall())
        return [QueuedEvent(*row) for row in rows]

    async def status(self) -> QueueStatus:
        """What a health check reports: events pending, when the oldest of them came,
        and events given up on."""
        pending = "SELECT count(*), min(received_at) FROM events WHERE state = ?"
        dead = "SELECT count(*) FROM events WHERE state = ?"

        def work(c: sqlite3.Connection) -> QueueStatus:
            count, oldest = c.execute(pending, (PENDING,)).fetchone()
            found = datetime.fromisoformat(oldest) if oldest else None
            return QueueStatus(int(count), found, int(c.execute(dead, (DEAD,)).fetchone()[0]))

        return await self._run(work)

    # -- the registry (SubscriptionRegistry) ---------------------------------------------

    async def registrations(self, company_id: int) -> dict[int, Registration]:
        """Every registered subscription of one company, by id."""
        sql = (
            "SELECT subscription_id, company_id, event, fields, secrets FROM registrations "
            "WHERE company_id = ?"
        )
        rows = await self._run(lambda c: c.execute(sql, (company_id,)).fetchall())
        return {row[0]: Registration(*row) for row in rows}

    async def register(self, registrations: Sequence[Registration]) -> None:
        """Add or replace registrations (what `ensure_subscriptions` created or found)."""
        rows = [
            (r.subscription_id, r.company_id, r.event, r.fields, r.secrets) for r in registrations
        ]
        sql = (
            "INSERT INTO registrations (subscription_id, company_id, event, fields, secrets) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscription_id) DO UPDATE SET "
            "company_id = excluded.company_id, event = excluded.event, "
            "fields = excluded.fields, secrets = excluded.secrets"
        )
        await self._run(lambda c: c.executemany(sql, rows), commit=True)

    def fingerprint(self, secrets: bytes) -> str:
        """HMAC-SHA256 of ``secrets`` under this file's own random key."""
        if not self._fingerprint_key:
            raise QueueError(f"{self!r} is not open")
        return hmac.new(self._fingerprint_key, secrets, hashlib.sha256).hexdigest()

    # -- the worker thread -----------------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], _T], *, commit: bool = False) -> _T:
        call = partial(self._call, work, commit)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    def _call(self, work: Callable[[sqlite3.Connection], _T], commit: bool) -> _T:
        try:
            connection = self._connect()
            if not commit:
                return work(connection)
            with immediate_transaction(connection):
                return work(connection)
        except sqlite3.Error as exc:
            raise QueueError(f"webhook queue {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged event survives power loss, not only a crash.
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA busy_timeout=5000")
            with immediate_transaction(connection):
                self._setup(connection)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _setup(self, c: sqlite3.Connection) -> None:
        for statement in _DDL:
            c.execute(statement)
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        stored = int(meta.get("schema_version", SCHEMA_VERSION))
        if stored > SCHEMA_VERSION:
            raise QueueError(f"webhook queue {self.path} has a newer schema version {stored}")
        key = meta.get("fingerprint_key") or secrets.token_hex(32)
        c.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("schema_version", str(SCHEMA_VERSION)), ("fingerprint_key", key)],
        )
        self._fingerprint_key = bytes.fromhex(key)
        count = "SELECT count(*) FROM events WHERE state = ?"
        self._pending = int(c.execute(count, (PENDING,)).fetchone()[0])

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _put(
        self,
        key: str,
        subscription_id: int,
        event: str,
        object_id: int,
        value: bytes | None,
        c: sqlite3.Connection,
    ) -> Put:
        sql = "SELECT company_id, event, fields FROM registrations WHERE subscription_id = ?"
        registration = c.execute(sql, (subscription_id,)).fetchone()
        if registration is None or registration[1] != event:
            return Put.UNKNOWN_SUBSCRIPTION
        if c.execute("SELECT 1 FROM events WHERE key = ?", (key,)).fetchone() is not None:
            return Put.DUPLICATE
        if self._pending >= self.max_pending:
            return Put.FULL
        company_id, _, fields = registration
        now = datetime.now(UTC).isoformat()
        with immediate_transaction(c):
            c.execute(
                "INSERT INTO events (key, subscription_id, company_id, event, object_id, "
                "fields, value, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, subscription_id, company_id, event, object_id, fields, value, now),
            )
        self._pending += 1
        return Put.QUEUED

    def _complete(
        self,
        applied: list[int],
        dead: list[int],
        tombstones: list[tuple[int, str, int]],
        c: sqlite3.Connection,
    ) -> None:
        with immediate_transaction(c):
            mark = "UPDATE events SET state = ?, value = NULL WHERE seq = ? AND state = ?"
            done = c.executemany(mark, [(APPLIED, s, PENDING) for s in applied]).rowcount
            fail = (
                "UPDATE events SET state = ?, attempts = attempts + 1 WHERE seq = ? AND state = ?"
            )
            done += c.executemany(fail, [(DEAD, s, PENDING) for s in dead]).rowcount
            c.executemany("INSERT OR IGNORE INTO tombstones VALUES (?, ?, ?)", tombstones)
            c.execute(
                "DELETE FROM events WHERE state = ? AND seq <= (SELECT seq FROM events "
                "WHERE state = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (APPLIED, APPLIED, self.keep_applied),
            )
        self._pending -= done
