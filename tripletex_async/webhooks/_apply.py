"""Applying queued deliveries to the sink, with rows built exactly as the sync engine
builds them (`Resource.table`, and the engine's own row builder).

A create or update writes the payload's ``value`` when the subscription's fields cover
the resource's model, else the object fetched by id through the shared client (and its
rate budget). A delete removes the row and leaves a tombstone, so that a late or replayed
update cannot bring the record back. Every write is ``only_newer``: an older version
never replaces a newer one. An event given up on keeps why (`dead_reason`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import anyio
import msgspec

from ..client._client import CompanyView, TripletexClient
from ..client._envelopes import Value
from ..client._errors import (
    AuthenticationError,
    ClosedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    TripletexError,
)
from ..client._log import Log, Redactor
from ..engine._resources import Resource
from ..engine._rows import RowBuilder
from ..sinks import Batch, Row, Sink
from ..sinks._base import DurableSink, IndexingSink
from ._events import covers, route
from ._queue import EventQueue, QueuedEvent, dead_reason

__all__ = ["Applier", "RetryLater"]

#: Tripletex failures worth trying again later; any other answer will not change.
_TRANSIENT = (RateLimitedError, ServerError, TransportError, AuthenticationError, ClosedError)
#: A tombstone and a row's place: (company_id, resource, id).
_Key = tuple[int, str, int]


class RetryLater(Exception):
    """Tripletex could not answer now; the events stay queued and are tried again."""


@dataclass(slots=True)
class _Upsert:
    event: QueuedEvent
    resource: Resource
    raw: bytes | None = None

    @property
    def key(self) -> _Key:
        return (self.event.company_id, self.resource.name, self.event.object_id)


@dataclass(slots=True)
class _Plan:
    applied: list[int] = field(default_factory=list)
    #: Why each event given up on died, by seq.
    dead: dict[int, str] = field(default_factory=dict)
    upserts: list[_Upsert] = field(default_factory=list)
    deletes: dict[_Key, None] = field(default_factory=dict)


class Applier:
    """Turns a batch of queued events into one sink write and marks them done."""

    def __init__(
        self,
        view: TripletexClient | CompanyView,
        sink: Sink,
        queue: EventQueue,
        resources: Mapping[str, Resource],
        *,
        log: Log,
        redactor: Redactor | None = None,
        fetch_concurrency: int = 8,
    ) -> None:
        self._view = view
        self._sink = sink
        self._queue = queue
        self._resources = dict(resources)
        self._log = log
        #: Scrubs the receiver's secrets from the reasons dead events keep.
        self._redactor = redactor or Redactor()
        self._fetch_limiter = anyio.CapacityLimiter(fetch_concurrency)
        self._rows: dict[str, RowBuilder] = {}
        #: Whether a subscription's ``fields`` cover a resource, by (fields, resource):
        #: deciding it walks the model (msgspec.inspect), 1 to 3 ms an event uncached.
        self._covers: dict[tuple[str, str], bool] = {}

    async def open(self) -> None:
        """Open the sink's tables for every resource this applier writes, indexed now:
        deliveries come a few at a time, never the bulk load indexes wait for, and a
        receiver never reaches the end of a sync, where they would be built.

        A sink that can trade durability for speed (SQLite's ``synchronous=NORMAL``) is
        made durable first: the queue marks an event applied once the sink's write
        returns, and the queue's mark is on disk (fdatasync), so the write must be too,
        or an OS crash could lose an update the queue calls applied. (PostgreSQL,
        DuckDB and JSONL commits are durable already.)"""
        if isinstance(self._sink, DurableSink):
            await self._sink.make_durable()
        await self._sink.open([r.table() for r in self._resources.values()])
        if isinstance(self._sink, IndexingSink):
            await self._sink.build_indexes()

    async def apply(self, events: Sequence[QueuedEvent]) -> None:
        """Apply ``events`` (in queue order) in one sink transaction, then complete them.

        Raises `RetryLater` when Tripletex could not be asked (nothing is written then),
        and the sink's or queue's own errors; events given up on are marked dead.
        """
        plan = self._plan(events)
        stored = await self._queue.tombstoned({u.key for u in plan.upserts})
        deleted = stored | plan.deletes.keys()
        await self._fetch([u for u in plan.upserts if u.raw is None and u.key not in deleted], plan)
        batches = self._batches(plan, deleted)
        if batches:
            await self._sink.write(batches)
        await self._queue.complete(plan.applied, plan.dead, plan.deletes)

    def _plan(self, events: Sequence[QueuedEvent]) -> _Plan:
        plan = _Plan()
        for event in events:
            where = route(event.event)
            resource = self._resources.get(where.resource) if where else None
            if where is None or resource is None:
                plan.applied.append(event.seq)  # nothing of ours changed
            elif where.action == "delete":
                plan.deletes[event.company_id, resource.name, event.object_id] = None
                plan.applied.append(event.seq)
            else:
                usable = event.value is not None and self._covered(event.fields, resource)
                plan.upserts.append(_Upsert(event, resource, event.value if usable else None))
        return plan

    def _covered(self, delivered: str, resource: Resource) -> bool:
        """`covers`, once per (fields, resource): a receiver sees few distinct ``fields``
        (one per subscription), so the cache stays small; bounded all the same."""
        key = (delivered, resource.name)
        found = self._covers.get(key)
        if found is None:
            if len(self._covers) >= 1024:
                self._covers.clear()
            found = self._covers[key] = covers(delivered, resource)
        return found

    async def _fetch(self, missing: list[_Upsert], plan: _Plan) -> None:
        """Fetch by id what the payloads did not carry: once per object (its current
        state serves every event about it), concurrently but bounded."""
        failures: list[TripletexError] = []
        by_key: dict[_Key, list[_Upsert]] = {}
        for upsert in missing:
            by_key.setdefault(upsert.key, []).append(upsert)

        async def one(same: list[_Upsert]) -> None:
            async with self._fetch_limiter:
                try:
                    raw: bytes | None = await self._get(same[0])
                except NotFoundError:
                    raw = None  # deleted since; its delete event does the rest
                except TripletexError as exc:
                    failures.append(exc)
                    if not isinstance(exc, _TRANSIENT):
                        for upsert in same:
                            self._give_up(upsert.event, plan, exc)
                    return
            for upsert in same:
                upsert.raw = raw

        async with anyio.create_task_group() as tg:
            for same in by_key.values():
                tg.start_soon(one, same)
        transient = [f for f in failures if isinstance(f, _TRANSIENT)]
        if transient:
            raise RetryLater(f"could not fetch {len(transient)} objects: {transient[0]}")

    async def _get(self, upsert: _Upsert) -> bytes:
        event, resource = upsert.event, upsert.resource
        view = self._view.company(event.company_id)
        path = f"{resource.path}/{event.object_id}"
        found: Value[msgspec.Raw] = await view.get(
            path, type=Value[msgspec.Raw], params={"fields": resource.fields()}
        )
        return bytes(found.value)

    def _batches(self, plan: _Plan, deleted: set[_Key]) -> list[Batch]:
        """One guarded batch per (company, resource); marks the upserts applied."""
        rows: dict[tuple[int, str], list[Row]] = {}
        for upsert in plan.upserts:
            seq = upsert.event.seq
            if seq in plan.dead:
                continue
            if upsert.raw is not None and upsert.key not in deleted:
                row = self._row(upsert, plan)
                if row is None:
                    continue
                rows.setdefault((upsert.event.company_id, upsert.resource.name), []).append(row)
            plan.applied.append(seq)
        for company_id, name, _ in plan.deletes:
            rows.setdefault((company_id, name), [])
        return [self._batch(company, name, found, plan) for (company, name), found in rows.items()]

    def _batch(self, company_id: int, name: str, rows: list[Row], plan: _Plan) -> Batch:
        ids = [i for c, n, i in plan.deletes if (c, n) == (company_id, name)]
        table = self._resources[name].table()
        return Batch(table, company_id, rows, deleted_ids=ids, only_newer=True)

    def _row(self, upsert: _Upsert, plan: _Plan) -> Row | None:
        """The engine's row for one record; `None` (and the event dead) when invalid."""
        event, resource = upsert.event, upsert.resource
        build = self._rows.get(resource.name)
        if build is None:
            build = self._rows[resource.name] = RowBuilder(resource, self._view.connection)
        assert upsert.raw is not None
        try:
            (row,) = build([msgspec.Raw(upsert.raw)], set())
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            self._give_up(event, plan, exc)
            return None
        if row[0] != event.object_id:
            self._give_up(event, plan, ValueError(f"the value's id is {row[0]}"))
            return None
        return row

    def _give_up(self, event: QueuedEvent, plan: _Plan, error: Exception) -> None:
        plan.dead[event.seq] = dead_reason(error, self._redactor)
        self._log.warning(
            "webhook_event_dead",
            seq=event.seq,
            event_name=event.event,
            company_id=event.company_id,
            object_id=event.object_id,
            error=error,
        )
