"""`EventQueue`: the receiver's durable queue, a SQLite file (WAL, ``synchronous=FULL``).

A delivery is acknowledged only once its row is committed, so a receiver killed at any
moment loses no acknowledged event: the next one applies what is still pending. The same
file is the subscription registry (subscription id -> company, event, fields) and
remembers deletions, so that a late update cannot bring a deleted record back.

Group commit: deliveries that arrive while a commit is being written wait for it to end,
then share the next transaction and its one fsync; each still returns only once its own
row is durable, and de-duplication and ``max_pending`` are decided row by row inside
that transaction, exactly as one put at a time would.

The file stays bounded: an event's ``fields`` string is stored once in ``fields`` and
referenced by id; the payload lives in its own table until the event is applied (so
that the rows kept stay small and densely packed); an applied event keeps only what
replay detection needs (its key), and only the newest ``keep_applied`` of them;
tombstones are dropped after ``keep_tombstones``; freed pages go back to the file system
(incremental vacuum).

Tables (schema version 3)::

    events(seq, key UNIQUE, subscription_id, company_id, event, object_id,
           fields_id -> fields.id, received_at, attempts, state, dead_reason)
           state: 0 pending, 1 applied, 2 dead; dead_reason: why it died (`dead_reason`)
    payloads(seq PRIMARY KEY -> events.seq, value)  a non-null ``value`` until applied
    fields(id PRIMARY KEY, text UNIQUE)   each distinct ``fields`` string once
    registrations(subscription_id PRIMARY KEY, company_id, event, fields, secrets)
    tombstones(company_id, resource, id, deleted_at)  PRIMARY KEY of the first three
    meta(key PRIMARY KEY, value)          schema_version, fingerprint_key

A version-1 file (``fields`` copied into every event) or a version-2 one (no
``dead_reason``) is migrated on open, its pending events intact. One receiver owns a
queue file at a time; the command line's ``webhooks status`` and ``webhooks dead`` may
open it beside the receiver. The receiver counts
pending events in memory, and again from the file whenever it has taken all of them
(`take`), so events another process set pending again are counted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from typing import Self, TypeVar

import anyio
import anyio.to_thread

from ..client._clock import Clock, SystemClock
from ..client._errors import TripletexError
from ..client._log import Redactor
from ..sinks._sqlite import immediate_transaction
from ._queue_schema import APPLIED, DEAD, PENDING, SCHEMA_VERSION, create_or_migrate, read_meta
from ._subscriptions import Registration

__all__ = ["EventQueue", "Put", "QueueError", "QueueStatus", "QueuedEvent", "dead_reason"]

_T = TypeVar("_T")
#: Free pages beyond which a complete gives space back (and a quarter of the file).
_VACUUM_PAGES = 1024
#: The WAL is truncated to this after a checkpoint (it would otherwise keep its peak).
_WAL_LIMIT = 8 << 20
_PRUNE_EVERY = timedelta(hours=1)
#: Characters of an error kept as a dead event's reason.
_REASON_LENGTH = 200

_COLUMNS = (
    "e.seq, e.key, e.subscription_id, e.company_id, e.event, e.object_id, f.text, "
    "p.value, e.attempts, e.dead_reason"
)
_SELECT = (
    f"SELECT {_COLUMNS} FROM events AS e JOIN fields AS f ON f.id = e.fields_id "
    "LEFT JOIN payloads AS p ON p.seq = e.seq"
)


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

    def apply_lag(self, now: datetime) -> float:
        """Seconds the oldest pending event has waited, to the millisecond; 0.0 when
        none is pending (nothing waits). ``GET /health``'s ``apply_lag_seconds`` and
        ``webhooks status --json``'s ``lag_seconds`` are both this."""
        if self.oldest_pending is None:
            return 0.0
        return round(max(0.0, (now - self.oldest_pending).total_seconds()), 3)


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
    #: Why it was given up on (`dead_reason`); None while it is not dead.
    dead_reason: str | None = None


def dead_reason(error: BaseException, redactor: Redactor | None = None) -> str:
    """What a dead event keeps of the error that killed it: its type and the first line
    of its message, secrets redacted, at most ``_REASON_LENGTH`` characters. The same
    text the ``webhook_event_dead`` WARNING shows; a payload is never put in it here
    (the appliers' messages name fields and ids, not values)."""
    text = (redactor or Redactor()).text(f"{type(error).__name__}: {error}")
    line = " ".join(text.split("\n", 1)[0].split())
    return line if len(line) <= _REASON_LENGTH else line[: _REASON_LENGTH - 1] + "…"


@dataclass(slots=True, eq=False)
class _Offer:
    """One `EventQueue.put` waiting for a group commit."""

    row: tuple[str, int, str, int, bytes | None]
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Put | None = None
    error: Exception | None = None


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
        keep_tombstones: timedelta = timedelta(days=30),
        clock: Clock | None = None,
    ) -> None:
        if max_pending < 1 or keep_applied < 0:
            raise ValueError("max_pending must be at least 1 and keep_applied at least 0")
        #: The queue file.
        self.path = os.fspath(path)
        #: Pending events beyond which deliveries are refused (503: Tripletex retries).
        self.max_pending = max_pending
        #: Applied events whose idempotency keys are kept to recognise replays.
        self.keep_applied = keep_applied
        #: How long a deletion is remembered (Tripletex gives up retrying long before).
        self.keep_tombstones = keep_tombstones
        self._clock = clock or SystemClock()
        self._limiter = anyio.CapacityLimiter(1)
        self._connection: sqlite3.Connection | None = None
        self._pending = 0
        self._fingerprint_key = b""
        #: Committed ``fields`` ids by text (rows of ``fields`` are never deleted).
        self._fields: dict[str, int] = {}
        #: Puts waiting for the next group commit, and whether one is being written.
        self._offers: list[_Offer] = []
        self._committing = False
        #: When tombstones were last pruned (they are few; once an hour is plenty).
        self._pruned_at: datetime | None = None

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
        """Create or open the file (idempotent); migrates an older schema."""
        await self._run(lambda _c: None)

    async def aclose(self) -> None:
        """Close the connection; a later call opens it again."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    async def put(
        self, key: str, subscription_id: int, event: str, object_id: int, value: bytes | None
    ) -> Put:
        """Store a delivery, committed, unless it is a replay, its subscription is not
        registered for ``event``, or the queue is full (see the module's group commit)."""
        offer = _Offer((key, subscription_id, event, object_id, value))
        self._offers.append(offer)
        try:
            while offer.result is None and offer.error is None:
                if not self._committing:
                    await self._commit_offers()
                else:
                    await offer.done.wait()
                    offer.done = anyio.Event()
        except BaseException:
            if offer in self._offers:  # not taken yet: withdraw it, pass the turn on
                self._offers.remove(offer)
                self._hand_over()
            raise
        if offer.error is not None:
            # Shared by every offer of the failed commit: each raises its own.
            raise QueueError(str(offer.error)) from offer.error
        assert offer.result is not None
        return offer.result

    async def take(self, limit: int) -> list[QueuedEvent]:
        """Up to ``limit`` pending events, oldest first (they stay pending until
        `complete`).

        Fewer than ``limit`` is every pending event in the file, which corrects the count
        kept in memory (`pending`) for events another process set pending again."""
        sql = f"{_SELECT} WHERE e.state = ? ORDER BY e.seq LIMIT ?"

        def work(c: sqlite3.Connection) -> list[QueuedEvent]:
            rows = c.execute(sql, (PENDING, limit)).fetchall()
            if len(rows) < limit:
                self._pending = len(rows)
            return [QueuedEvent(*row) for row in rows]

        return await self._run(work)

    async def complete(
        self,
        applied: Sequence[int],
        dead: Sequence[int] | Mapping[int, str] = (),
        tombstones: Iterable[tuple[int, str, int]] = (),
    ) -> None:
        """Mark events applied or dead, and remember deleted records, in one commit;
        prune what is no longer needed. ``dead``: seqs, or why each died by seq
        (`dead_reason`; shown by ``webhooks dead list``)."""
        now = self._clock.now()
        reasons: dict[int, str | None] = (
            dict(dead) if isinstance(dead, Mapping) else dict.fromkeys(dead)
        )
        work = partial(self._complete, list(applied), reasons, list(tombstones), now)
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
        sql = f"{_SELECT} WHERE e.state = ? ORDER BY e.seq"
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

    # -- group commit ----------------------------------------------------------------------

    async def _commit_offers(self) -> None:
        """Commit every waiting offer in one transaction, then wake them and the next."""
        self._committing = True
        offers, self._offers = self._offers, []
        now = self._clock.now().isoformat()
        try:
            # The thread finishes its commit whatever happens to this caller; the shield
            # makes sure the other offers hear how it went.
            with anyio.CancelScope(shield=True):
                work = partial(self._put_many, [o.row for o in offers], now)
                results = await self._run(work)
        except Exception as exc:
            for offer in offers:
                offer.error = exc
        else:
            for offer, result in zip(offers, results, strict=True):
                offer.result = result
        finally:
            self._committing = False
            for offer in offers:
                offer.done.set()
            self._hand_over()

    def _hand_over(self) -> None:
        """Wake the oldest waiting offer to write the next commit."""
        if self._offers and not self._committing:
            self._offers[0].done.set()

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
            # Takes effect on a new file; an older one gets it with its migration's VACUUM.
            connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged event survives power loss, not only a crash.
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA busy_timeout=5000")
            connection.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT}")
            with immediate_transaction(connection):
                migrated = self._setup(connection)
            if migrated:
                connection.execute("VACUUM")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _setup(self, c: sqlite3.Connection) -> bool:
        """Create or migrate the tables; whether an older schema was migrated."""
        meta = read_meta(c)
        stored = int(meta.get("schema_version", SCHEMA_VERSION))
        if stored > SCHEMA_VERSION:
            raise QueueError(f"webhook queue {self.path} has a newer schema version {stored}")
        migrated = create_or_migrate(c, stored, self._clock.now())
        key = meta.get("fingerprint_key") or secrets.token_hex(32)
        c.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("schema_version", str(SCHEMA_VERSION)), ("fingerprint_key", key)],
        )
        self._fingerprint_key = bytes.fromhex(key)
        count = "SELECT count(*) FROM events WHERE state = ?"
        self._pending = int(c.execute(count, (PENDING,)).fetchone()[0])
        self._fields = {text: id_ for id_, text in c.execute("SELECT id, text FROM fields")}
        return migrated

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _put_many(
        self,
        rows: list[tuple[str, int, str, int, bytes | None]],
        now: str,
        c: sqlite3.Connection,
    ) -> list[Put]:
        """Admit each row in order (as one put at a time would), commit the admitted in
        one transaction (one fsync)."""
        results: list[Put] = []
        inserts: list[tuple[object, ...]] = []
        seen: set[str] = set()
        new_fields: dict[str, int] = {}
        registration = (
            "SELECT company_id, event, fields FROM registrations WHERE subscription_id = ?"
        )
        exists = "SELECT 1 FROM events WHERE key = ?"
        with immediate_transaction(c):
            for key, subscription_id, event, object_id, value in rows:
                found = c.execute(registration, (subscription_id,)).fetchone()
                if found is None or found[1] != event:
                    results.append(Put.UNKNOWN_SUBSCRIPTION)
                elif key in seen or c.execute(exists, (key,)).fetchone() is not None:
                    results.append(Put.DUPLICATE)
                elif self._pending + len(inserts) >= self.max_pending:
                    results.append(Put.FULL)
                else:
                    fields_id = self._fields_id(found[2], new_fields, c)
                    inserts.append(
                        (key, subscription_id, found[0], event, object_id, fields_id, now, value)
                    )
                    seen.add(key)
                    results.append(Put.QUEUED)
            for *event_row, payload in inserts:
                cursor = c.execute(
                    "INSERT INTO events (key, subscription_id, company_id, event, object_id, "
                    "fields_id, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    event_row,
                )
                if payload is not None:
                    c.execute("INSERT INTO payloads VALUES (?, ?)", (cursor.lastrowid, payload))
        # Committed: only now may the new ids be trusted (a rollback would undo them).
        self._fields.update(new_fields)
        self._pending += len(inserts)
        return results

    def _fields_id(self, text: str, new: dict[str, int], c: sqlite3.Connection) -> int:
        known = self._fields.get(text) or new.get(text)
        if known is not None:
            return known
        c.execute("INSERT OR IGNORE INTO fields (text) VALUES (?)", (text,))
        (new[text],) = c.execute("SELECT id FROM fields WHERE text = ?", (text,)).fetchone()
        return new[text]

    def _complete(
        self,
        applied: list[int],
        dead: dict[int, str | None],
        tombstones: list[tuple[int, str, int]],
        now: datetime,
        c: sqlite3.Connection,
    ) -> None:
        stamp = now.isoformat()
        with immediate_transaction(c):
            mark = "UPDATE events SET state = ? WHERE seq = ? AND state = ?"
            done = c.executemany(mark, [(APPLIED, s, PENDING) for s in applied]).rowcount
            c.executemany("DELETE FROM payloads WHERE seq = ?", [(s,) for s in applied])
            fail = (
                "UPDATE events SET state = ?, attempts = attempts + 1, dead_reason = ? "
                "WHERE seq = ? AND state = ?"
            )
            rows = [(DEAD, reason, s, PENDING) for s, reason in dead.items()]
            done += c.executemany(fail, rows).rowcount
            c.executemany(
                "INSERT INTO tombstones VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE "
                "SET deleted_at = excluded.deleted_at",
                [(*t, stamp) for t in tombstones],
            )
            self._prune(c, now)
        self._pending -= done
        self._give_back(c)

    def _prune(self, c: sqlite3.Connection, now: datetime) -> None:
        """Keep the newest ``keep_applied`` applied events, and young tombstones."""
        c.execute(
            "DELETE FROM events WHERE state = ? AND seq <= (SELECT seq FROM events "
            "WHERE state = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (APPLIED, APPLIED, self.keep_applied),
        )
        if self._pruned_at is None or now - self._pruned_at >= _PRUNE_EVERY:
            cutoff = (now - self.keep_tombstones).isoformat()
            c.execute("DELETE FROM tombstones WHERE deleted_at < ?", (cutoff,))
            self._pruned_at = now

    def _give_back(self, c: sqlite3.Connection) -> None:
        """Return free pages to the file system once there are many of them (new rows
        reuse free pages first, so a steady queue seldom gets here)."""
        (free,) = c.execute("PRAGMA freelist_count").fetchone()
        if free > _VACUUM_PAGES and free * 4 > c.execute("PRAGMA page_count").fetchone()[0]:
            # sqlite3_exec runs it to the end; execute() would free one page per step.
            c.executescript("PRAGMA incremental_vacuum;")

    # -- operating it (``tripletex-async webhooks dead``) -------------------------------

    async def requeue(self, seqs: Iterable[int]) -> int:
        """Set these dead events pending again; how many were dead (others are left)."""
        rows = [(PENDING, int(seq), DEAD) for seq in seqs]

        def work(c: sqlite3.Connection) -> int:
            with immediate_transaction(c):
                sql = "UPDATE events SET state = ?, dead_reason = NULL WHERE seq = ? AND state = ?"
                count = c.executemany(sql, rows).rowcount
            self._pending += count
            return count

        return await self._run(work) if rows else 0

    async def drop(self, seqs: Iterable[int]) -> int:
        """Remove these dead events and their payloads for good; how many were dead
        (others are left).

        For an event that can never apply (requeued, it dies again): the nightly
        reconcile repairs what it missed. Its key goes too, so a replay of that very
        delivery would be taken again (and, if still stale, never overwrites a newer
        version: writes are ``only_newer``)."""
        rows = [(int(seq), DEAD) for seq in seqs]
        payloads = (
            "DELETE FROM payloads WHERE seq = (SELECT seq FROM events WHERE seq = ? AND state = ?)"
        )

        def work(c: sqlite3.Connection) -> int:
            with immediate_transaction(c):
                c.executemany(payloads, rows)
                sql = "DELETE FROM events WHERE seq = ? AND state = ?"
                count = c.executemany(sql, rows).rowcount
            self._give_back(c)
            return count

        return await self._run(work) if rows else 0

    async def received_at(self, seqs: Iterable[int]) -> dict[int, datetime]:
        """When each of these events was received, by seq (those still in the file)."""
        wanted = [(int(seq),) for seq in seqs]
        sql = "SELECT seq, received_at FROM events WHERE seq = ?"

        def work(c: sqlite3.Connection) -> dict[int, datetime]:
            rows = (c.execute(sql, seq).fetchone() for seq in wanted)
            return {row[0]: datetime.fromisoformat(row[1]) for row in rows if row is not None}

        return await self._run(work) if wanted else {}
