"""One unit of work: one resource of one company over one connection, window by window.

Per window, in order of preference:

1. the window was completely synced before: ask page 0 with ``If-None-Match: <digest>``;
   a 304 ends it. On a 200 the window is scanned again from that page, except for
   resources with ``changedSince`` and more than one page: there only what changed since
   the watermark is fetched, and deletions are found by an id-only scan;
2. a scan was cut off (a killed run): continue it from its next page, same scan id;
3. otherwise scan from page 0 (asking for a digest for next time).

A scan stores page after page, each with the state it completes; the last page also
deletes the window's rows the scan did not see. A window that holds more than the
result-set cap is split in halves, down to one day.

A digest, a ``version`` or ``changedSince`` does not see every change: a child's change
does not bump its parent (tripletex-api2#107), and the digest ignores relations expanded
through ``fields``. So every window is read whole again at least every
``RunContext.reread_every``, each on its own night of that period (by a hash of its key), so a
nightly run pays about one part in that many days of a full read.

A resource whose records Tripletex hides unless asked (`Partition`) is read once per
partition, each with its own windows, state and deletion scope. A child list
(``/product/productPrice?productId=``) is read once per parent: the parent list's ids
are read first (``fields=id``), each parent is a partition, so a rerun is one checksum
per parent, and a parent no longer listed has its children deleted. A report
(``/balanceSheet``) is read per year of the range, or as of the range's last day, its
rows keyed and scoped by that period: each report is kept beside the others.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import anyio
import msgspec

from ..client._client import CompanyView
from ..client._clock import OSLO, Clock
from ..client._connection import Connection
from ..client._errors import (
    APIError,
    DecodeError,
    PermissionDeniedError,
    ResultSetTooLargeError,
    TripletexError,
)
from ..client._ratelimit import RequestNotSent, until_ready
from ..sinks._base import Batch, Row, Sink, StateKey, Table, WindowState
from ._fields import fields_hash
from ._pages import CapReached, Page, PageBudget, fetch_held, scan
from ._registry import MODULE_GROUPS, group_of
from ._report import ResourceReport
from ._resources import RESOURCES, Partition, Resource
from ._rows import RowBuilder
from ._sizing import ID_ROW_BYTES, RowsPerRequest
from ._windows import Window
from ._writer import Writer

__all__ = ["Allowance", "BudgetSpent", "RunContext", "Unit"]

#: Records of a page turned into rows and handed to the writer at a time.
SLICE_ROWS = 1000

#: Sent as ``If-None-Match`` to ask for a digest when there is none to compare yet.
_ASK_DIGEST = "0"


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every unit of one sync shares: the connection, the sink and its writer, the
    page budget, the clock, and the run's settings."""

    connection: Connection
    connection_key: str
    sink: Sink
    writer: Writer
    budget: PageBudget
    clock: Clock
    date_from: date
    date_to: date
    full: bool
    #: Chooses each query's ``count`` (and counts the windows still to read).
    rows: RowsPerRequest
    ahead: int
    result_cap: int
    overlap: timedelta
    #: Windows completed since then were completed by an interrupted run being resumed.
    fresh_since: datetime | None = None
    #: Every window is read whole again at least this often (``None``: never).
    reread_every: timedelta | None = None
    #: Called when a unit starts and ends (the writer calls it after each write).
    on_progress: Callable[[ResourceReport], None] | None = None
    #: The run's request budget (`SyncOptions.max_requests`); None: unbounded.
    allowance: Allowance | None = None
    #: Windows in progress at once (see `admission`); None: no bound.
    admission: anyio.CapacityLimiter | None = None


class BudgetSpent(Exception):
    """The run's request budget is spent or its deadline passed: the window is left for
    the next run."""


class Allowance:
    """How many more requests a bounded run may make, and until when (shared by all its
    units): `SyncOptions.max_requests` and `SyncOptions.deadline`."""

    def __init__(
        self,
        requests: int | None = None,
        *,
        deadline: datetime | None = None,
        clock: Clock | None = None,
        stop: anyio.Event | None = None,
    ) -> None:
        if deadline is not None and clock is None:
            raise ValueError("a deadline needs a clock")
        self.left = requests
        self._deadline = deadline
        self._clock = clock
        #: Set: the deadline is now (a worker shutting down winds its runs down).
        self._stop = stop

    def spend(self) -> None:
        """Take one request; `BudgetSpent` when none is left or the deadline passed.
        Requests already sent finish and are stored: the run stops cleanly."""
        if self.left is not None and self.left <= 0:
            raise BudgetSpent
        self.check_deadline()
        if self.left is not None:
            self.left -= 1

    @property
    def has_deadline(self) -> bool:
        """Whether the run stops at a time."""
        return self._deadline is not None or self._stop is not None

    def check_deadline(self) -> None:
        """`BudgetSpent` once the deadline passed, or the run was asked to stop."""
        if self._stop is not None and self._stop.is_set():
            raise BudgetSpent
        if self._deadline is not None and self._clock and self._clock.now() >= self._deadline:
            raise BudgetSpent

    async def expired(self, event: anyio.Event) -> None:
        """Set ``event`` once the run is asked to stop or its deadline comes, whichever
        is first (for a run with either: `has_deadline`)."""
        async with anyio.create_task_group() as either:

            async def until(wait: Callable[[], Awaitable[object]]) -> None:
                await wait()
                either.cancel_scope.cancel()

            if self._stop is not None:
                either.start_soon(until, self._stop.wait)
            if self._deadline is not None and self._clock is not None:
                left = max(0.0, (self._deadline - self._clock.now()).total_seconds())
                either.start_soon(until, partial(self._clock.sleep, left))
        event.set()

    def claim(self) -> Claim:
        """Take a window's first request now, before its task runs: windows are claimed
        in the order they are planned (most recent first), whatever order the event loop
        then runs their tasks in. `BudgetSpent` when none is left."""
        self.spend()
        return Claim(self)


class Claim:
    """A request taken from an `Allowance` for a window before the window started."""

    __slots__ = ("_allowance", "_used")

    def __init__(self, allowance: Allowance) -> None:
        self._allowance = allowance
        self._used = False

    def use(self) -> bool:
        """Spend the claimed request on the window's first request (once: later calls
        return ``False`` and the caller spends from the allowance). `BudgetSpent` if the
        run's deadline passed while the window waited."""
        used, self._used = self._used, True
        if not used:
            self._allowance.check_deadline()
        return not used

    def close(self) -> None:
        """Give the request back if the window needed none (it was fresh)."""
        if not self._used:
            self._used = True
            if self._allowance.left is not None:
                self._allowance.left += 1


class Unit:
    """Syncs one resource of one company; failures end up in its report, not raised."""

    def __init__(self, ctx: RunContext, company_id: int, resource: Resource) -> None:
        self._ctx = ctx
        self.company_id = company_id
        self.resource = resource
        self.report = ResourceReport(company_id, resource.name)
        self._fields_hash = fields_hash(resource.fields())
        self._table: Table = resource.table()
        self._rows = RowBuilder(resource, ctx.connection)
        self._view = CompanyView(ctx.connection, company_id)
        #: 403s of its windows, and whether Tripletex answered any request of it: a
        #: module's resource answering nothing but 403 is not enabled; a 403 after an
        #: answer (mid-scan, or on one window of several), or on the core, is an error.
        self._denied: list[tuple[str, str]] = []  # (where, Tripletex's message)
        self._answered = False
        self._module = group_of(resource.name) in MODULE_GROUPS
        ctx.rows.opened(1)  # the unit itself, until it has planned its windows

    async def run(self) -> None:
        """Sync every window; record errors in the report."""
        ctx, report = self._ctx, self.report
        report.status = "running"
        self._progress()
        started = ctx.clock.monotonic()
        cancelled = False
        ctx.rows.closed()  # the unit itself: its windows are counted from here on
        try:
            stored = await ctx.sink.load_state(
                ctx.connection_key, self.company_id, self.resource.name
            )
            parts = await self._partitions(stored)
            by_part: dict[str, dict[Window, WindowState]] = {}
            for s in stored:
                if s.key.fields_hash == self._fields_hash:
                    window = Window.from_key(s.key.window_from, s.key.window_to)
                    by_part.setdefault(s.key.partition, {})[window] = s
            async with anyio.create_task_group() as tg:
                for part in parts:
                    states = by_part.get(part.name, {})
                    windows = self._windows(states)
                    if ctx.allowance is not None:
                        windows.reverse()  # a bounded run spends its budget on recent data
                    for window in windows:
                        state = None if ctx.full else states.get(window)
                        claim = None
                        if ctx.allowance is not None and not self._fresh(state):
                            try:
                                claim = ctx.allowance.claim()
                            except BudgetSpent:
                                report.windows += 1
                                report.deferred += 1
                                continue
                        ctx.rows.opened(1)
                        tg.start_soon(self._admitted, part, window, state, claim)
        except anyio.get_cancelled_exc_class():
            cancelled = True
            raise
        finally:
            report.seconds = ctx.clock.monotonic() - started
            if self._denied and (self._answered or not self._module):
                report.errors.extend(f"{where}: {message}" for where, message in self._denied)
            elif self._denied:
                report.not_enabled = self._denied[0][1]
                ctx.connection.log.info(
                    "not_enabled", company_id=self.company_id, resource=self.resource.name
                )
            if cancelled:
                report.status = "interrupted"
            elif report.errors:
                report.status = "failed"
            elif report.not_enabled:
                report.status = "not_enabled"
            else:
                report.status = "deferred" if report.deferred else "done"
            self._progress()

    def _progress(self) -> None:
        if self._ctx.on_progress is not None:
            self._ctx.on_progress(self.report)

    def _windows(self, states: Mapping[Window, WindowState]) -> list[Window]:
        """The windows of one partition: the run's range in (stored or year) windows for
        a dated resource or a period report, the run's last day (today at the latest)
        for a report as of a day, one undated window for the rest."""
        ctx = self._ctx
        today = ctx.clock.now().astimezone(OSLO).date()
        return self.resource.windows(ctx.date_from, ctx.date_to, today, states)

    async def _partitions(self, stored: list[WindowState]) -> tuple[Partition, ...]:
        """The resource's partitions; for a child list one per parent id, found by an
        id-only read of the parent list (a parent gone since the last run has its rows
        deleted here); none when the parents cannot be read (the report says why)."""
        parent = self.resource.parent
        if parent is None:
            return self.resource.partitions
        try:
            ids = await self._parent_ids(RESOURCES[parent.resource])
        except PermissionDeniedError as exc:
            self._denied.append((f"{parent.resource} ids", exc.message or str(exc)))
            return ()
        except (BudgetSpent, RequestNotSent):
            self.report.windows += 1
            self.report.deferred += 1
            return ()
        except (CapReached, ResultSetTooLargeError):
            # Offset paging stops at the cap and a plain list has no window to split.
            self.report.errors.append(
                f"{parent.resource} has more than {self._ctx.result_cap} records: its ids, "
                f"which {self.resource.name} is read by, cannot be listed (Tripletex caps "
                "a list there)"
            )
            return ()
        except TripletexError as exc:
            self.report.errors.append(f"{parent.resource} ids: {exc}")
            return ()
        # (A parent list that answers says nothing of the child's module: `_answered`
        # waits for the child's own answers.)
        parts = tuple(Partition(f"{parent.param}={i}", {parent.param: str(i)}) for i in ids)
        await self._forget_gone(stored, {p.name for p in parts})
        return parts

    async def _parent_ids(self, parent: Resource) -> list[int]:
        """Every id of the parent list, ``fields=id`` in pages of the result cap."""
        ctx, ids = self._ctx, set[int]()

        async def collect(page: Page) -> None:
            ids.update(self._ids(page))
            page.release()

        for part in parent.partitions:
            query = parent.ids_query(part, ctx.result_cap)
            await self._scan_with(
                query,
                collect,
                page_size=ctx.result_cap,
                estimate=ctx.result_cap * ID_ROW_BYTES,
                resource=parent,
            )
        return sorted(ids)

    async def _forget_gone(self, stored: list[WindowState], parents: set[str]) -> None:
        """Delete the rows of parents no longer listed (their partitions), once: each
        keeps an empty, complete state."""
        ctx, now = self._ctx, self._now()
        for state in stored:
            part = state.key.partition
            if part in parents or (state.complete and state.records == 0):
                continue
            done = replace(
                state,
                scan=_scan_id(),
                next_from=0,
                complete=True,
                records=0,
                updated_at=now,
                # Nothing to compare with: a parent that comes back is read whole.
                digest=None,
                watermark=None,
                verified_at="",
            )
            batch = Batch(
                self._table, self.company_id, (), done, delete_unseen=True, partition=part
            )
            await ctx.writer.send(batch, self.report)

    async def _admitted(
        self, part: Partition, window: Window, state: WindowState | None, claim: Claim | None
    ) -> None:
        """A planned window, once the run admits it (its halves run within its slot)."""
        admission = self._ctx.admission
        if admission is None:
            await self._guarded(part, window, state, (), claim)
            return
        try:
            await admission.acquire()
        except BaseException:  # cancelled while waiting: the window never started
            self._ctx.rows.closed()
            if claim is not None:
                claim.close()
            raise
        try:
            await self._guarded(part, window, state, (), claim)
        finally:
            admission.release()

    async def _guarded(
        self,
        part: Partition,
        window: Window,
        state: WindowState | None,
        superseded: tuple[StateKey, ...],
        claim: Claim | None = None,
    ) -> None:
        self.report.windows += 1
        where = f"{window} ({part.name})" if part.name else str(window)
        try:
            if self._denied and not self._answered and self._module:
                return  # a module that answered only 403 so far: not enabled, ask no more
            await self._window(part, window, state, superseded, claim)
            self._answered = True
        except (BudgetSpent, RequestNotSent):  # the run's bound, or its stop, came first
            self.report.deferred += 1
        except (CapReached, ResultSetTooLargeError) as exc:
            await self._split(part, window, superseded, exc)
        except PermissionDeniedError as exc:
            # A module the company has not enabled (or a feature the token may not use)
            # answers every request so: decided when the unit ends (see `run`).
            self._denied.append((where, exc.message or str(exc)))
        except TripletexError as exc:
            self.report.errors.append(f"{where}: {exc}")
            self._ctx.connection.log.warning(
                "window_failed",
                company_id=self.company_id,
                resource=self.resource.name,
                window=str(window),
                error=exc,
            )
        finally:
            self._ctx.rows.closed()
            if claim is not None:
                claim.close()

    async def _split(
        self, part: Partition, window: Window, superseded: tuple[StateKey, ...], exc: Exception
    ) -> None:
        halves = None if self.resource.snapshot else window.split()
        if halves is None:
            what = (
                "one report"
                if self.resource.snapshot
                else "one day"
                if window.start
                else "this resource (it has no date window)"
            )
            self.report.errors.append(
                f"{window}: more than {self._ctx.result_cap} records in {what}: {exc}"
            )
            return
        self.report.splits += 1
        superseded = (*superseded, self._key(part, window))
        self._ctx.rows.opened(len(halves))
        async with anyio.create_task_group() as tg:
            for half in halves:
                tg.start_soon(self._guarded, part, half, None, superseded)

    # -- one window ----------------------------------------------------------------------

    async def _window(
        self,
        part: Partition,
        window: Window,
        state: WindowState | None,
        superseded: tuple[StateKey, ...],
        claim: Claim | None = None,
    ) -> None:
        key = self._key(part, window)
        if self._fresh(state):
            self.report.skipped += 1
            return
        params = await self._params(part, window)
        now = self._now()
        watermark = now if self.resource.changed_since else None
        if state is not None and state.complete and self._due(state):
            self.report.reread += 1
            state = None  # read it whole, trusting neither digest nor watermark
        if state is not None and not state.complete and state.next_from > 0:
            await self._scan(params, state, None, superseded, claim)  # resume where it stopped
            return
        known = state if state is not None and state.complete and state.digest else None
        digest = known.digest if known and known.digest else _ASK_DIGEST
        first = await self._first(params, digest, claim, known.records if known else None)
        if first is None:
            if known is None:
                raise APIError(304, message="304 to a request with no digest to match")
            self.report.unchanged += 1
            # Checked now: a bounded run that resumes this one skips it (see _fresh).
            # Else a chain of slices that lost its run marker (past resume_within, or
            # its companies changed) would ask again, slice after slice, for the same
            # windows and never reach the rest. When it was last read whole stays.
            checked = replace(
                known, updated_at=now, verified_at=known.verified_at or known.updated_at
            )
            await self._ctx.writer.send(
                Batch(self._table, self.company_id, (), checked), self.report
            )
            return
        try:
            if known and known.watermark and watermark and not first.short():
                await self._changed_since(params, known, first, watermark)
            else:
                scan_state = self._new_scan(key, first, watermark, now)
                await self._scan(params, scan_state, first, superseded)
        except BaseException:
            first.release()  # idempotent: nothing happens if the writer released it
            raise

    def _new_scan(self, key: StateKey, first: Page, watermark: str | None, now: str) -> WindowState:
        return WindowState(
            key, _scan_id(), digest=first.digest, watermark=watermark, verified_at=now
        )

    def _due(self, state: WindowState) -> bool:
        """Whether a complete window must be read whole again (see the module's text):
        it was last read whole at least `RunContext.reread_every` ago, or this is its night
        of the period and it was not read whole today."""
        every = self._ctx.reread_every
        last = state.verified_at or state.updated_at
        if every is None:
            return False
        if not last:
            return True
        now = self._ctx.clock.now()
        age = now - datetime.fromisoformat(last)
        if age >= every:
            return True
        nights = every.days
        if nights < 2 or age < timedelta(days=1):
            return False
        tonight = now.astimezone(OSLO).date().toordinal() % nights
        return tonight == _slot(state.key, nights)

    async def _scan(
        self,
        params: Mapping[str, Any],
        state: WindowState,
        first: Page | None,
        superseded: tuple[StateKey, ...],
        claim: Claim | None = None,
    ) -> None:
        ctx, seen = self._ctx, set[int]()
        current = state

        async def emit(page: Page) -> None:
            nonlocal current, superseded
            short = page.short()
            next_from = page.offset + len(page.values)
            slices = self._page_slices(page, seen, self._stamp(state.key))
            for last, rows in slices:
                # Every slice carries the scan's state, so its rows take the scan's id;
                # only the last moves the window on past the page (and completes it).
                current = replace(
                    current,
                    next_from=next_from if last else current.next_from,
                    complete=short and last,
                    records=current.records + len(rows),
                    updated_at=self._now(),
                )
                batch = Batch(
                    self._table,
                    self.company_id,
                    rows,
                    current,
                    delete_unseen=short and last,
                    superseded=superseded,
                    partition=self._row_part(current.key),
                )
                superseded = ()
                await ctx.writer.send(batch, self.report, pages=[page] if last else ())

        start = state.next_from if first is None else 0
        await self._scan_with(params, emit, start=start, first=first, claim=claim)

    async def _changed_since(
        self,
        params: Mapping[str, Any],
        state: WindowState,
        first: Page,
        watermark: str,
    ) -> None:
        """Fetch what changed since the watermark, then find deletions by id alone."""
        ctx, part = self._ctx, state.key.partition or None
        # Page 0 of the full query is current data: keep it rather than drop it.
        await self._send_rows(first, set(), part)
        assert state.watermark is not None
        since = datetime.fromisoformat(state.watermark) - ctx.overlap
        changed = {**params, "changedSince": since.astimezone(OSLO).strftime("%Y-%m-%dT%H:%M:%S")}
        seen: set[int] = set()

        async def emit_rows(page: Page) -> None:
            await self._send_rows(page, seen, part)

        await self._scan_with(changed, emit_rows)
        live: set[int] = set()
        ids = {**params, "fields": "id", "count": ctx.result_cap}

        async def collect(page: Page) -> None:
            live.update(self._ids(page))
            page.release()

        await self._scan_with(
            ids, collect, page_size=ctx.result_cap, estimate=ctx.result_cap * ID_ROW_BYTES
        )
        done = replace(
            state,
            scan=_scan_id(),
            next_from=0,
            complete=True,
            digest=first.digest,
            watermark=watermark,
            records=len(live),
            updated_at=self._now(),
        )
        batch = Batch(self._table, self.company_id, (), done, live_ids=live)
        await ctx.writer.send(batch, self.report)

    async def _scan_with(
        self,
        params: Mapping[str, Any],
        emit: Callable[[Page], Any],
        *,
        start: int = 0,
        first: Page | None = None,
        page_size: int | None = None,
        claim: Claim | None = None,
        estimate: int | None = None,
        resource: Resource | None = None,
    ) -> None:
        size = page_size or int(params["count"])
        await scan(
            lambda offset: self._page({**params, "count": size}, offset, claim, resource),
            emit,
            self._ctx.budget,
            start=start,
            first=first,
            page_size=size,
            cap=self._ctx.result_cap,
            ahead=self._ctx.ahead,
            estimate=estimate or self._reserve(size),
        )

    # -- requests and records -------------------------------------------------------------

    async def _first(
        self,
        params: Mapping[str, Any],
        if_none_match: str,
        claim: Claim | None,
        expected: int | None,
    ) -> Page | None:
        """Page 0 with ``If-None-Match``; ``None`` on a 304. Holds its budget share (of
        ``expected`` rows, the window's size last time, when known)."""
        share = await self._ctx.budget.acquire(self._reserve(int(params["count"]), expected))
        return await fetch_held(share, lambda: self._first_page(params, if_none_match, claim))

    async def _first_page(
        self, params: Mapping[str, Any], if_none_match: str, claim: Claim | None
    ) -> Page | None:
        await self._spend(claim)
        path, query = self.resource.locate(params)
        envelope = await self._view.get_list(
            path,
            msgspec.Raw,
            params={**query, "from": 0},
            if_none_match=if_none_match,
            tally=self.report.tally,
        )
        if envelope is None:
            return None
        count = int(params["count"])
        return Page(0, envelope.values, count, envelope.fullResultSize, envelope.versionDigest)

    async def _page(
        self,
        params: Mapping[str, Any],
        offset: int,
        claim: Claim | None = None,
        resource: Resource | None = None,
    ) -> Page:
        await self._spend(claim)
        path, query = (resource or self.resource).locate(params)
        envelope = await self._view.get_list(
            path,
            msgspec.Raw,
            params={**query, "from": offset},
            tally=self.report.tally,
        )
        return Page(offset, envelope.values, int(params["count"]), envelope.fullResultSize)

    async def _spend(self, claim: Claim | None = None) -> None:
        """Count one request against the run's budget (the window's claim first);
        `BudgetSpent` when none is left. With a deadline, only once the rate budget
        would let the request go: one that passed the check and then waited for the
        next rate window would be sent after the deadline."""
        allowance = self._ctx.allowance
        if allowance is None:
            return
        if allowance.has_deadline:
            await until_ready(self._ctx.connection.budget)
        if claim is not None and claim.use():
            return
        allowance.spend()

    async def _send_rows(self, page: Page, seen: set[int], partition: str | None) -> None:
        """Hand the page's rows to the writer a slice at a time, with no window state."""
        for last, rows in self._page_slices(page, seen):
            batch = Batch(self._table, self.company_id, rows, partition=partition)
            await self._ctx.writer.send(batch, self.report, pages=[page] if last else ())

    def _stamp(self, key: StateKey) -> tuple[str, str] | None:
        """A report's window (its date, and the period it covers): its rows' date and
        part of their keys."""
        if self.resource.snapshot is None:
            return None
        return key.window_from, f"{key.window_from}..{key.window_to}"

    def _row_part(self, key: StateKey) -> str | None:
        """The ``_part`` of a window's rows, its deletion scope: the partition; for a
        report also its period, so that reports of overlapping periods (a year, and
        a quarter a user asked for once) never delete each other's rows."""
        stamp = self._stamp(key)
        if stamp is None:
            return key.partition or None
        return f"{key.partition} {stamp[1]}" if key.partition else stamp[1]

    def _page_slices(
        self, page: Page, seen: set[int], stamp: tuple[str, str] | None = None
    ) -> Iterator[tuple[bool, list[Row]]]:
        """The page's rows, ``SLICE_ROWS`` records at a time, each with whether it is the
        last (the page's records are taken at once: the page is empty afterwards).

        A slice's rows are built when the previous slice was handed on: a page of 10,000
        customers as rows is about 30 MB on top of its 15 MB body, and the writer's row
        bound makes the handing on wait for the sink, so a page is not all rows at once.
        """
        self._answered = True
        self._ctx.rows.learn(self.resource, page)
        values = page.take()
        for start in range(0, max(len(values), 1), SLICE_ROWS):
            part = values[start : start + SLICE_ROWS]
            try:
                rows = self._rows(part, seen, stamp)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise DecodeError(
                    str(exc), path=self.resource.path, company_id=self.company_id
                ) from None
            yield start + SLICE_ROWS >= len(values), rows

    def _ids(self, page: Page) -> list[int]:
        decode = self._ctx.connection.decoder(_IdOnly).decode
        try:
            return [decode(raw).id for raw in page.values]
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise DecodeError(
                str(exc), path=self.resource.path, company_id=self.company_id
            ) from None

    async def _params(self, part: Partition, window: Window) -> dict[str, Any]:
        """The window's query, its ``count`` decided now (`RowsPerRequest`)."""
        count = await self._ctx.rows.rows(self.resource)
        return self.resource.query(part, window, count)

    def _reserve(self, count: int, expected: int | None = None) -> int:
        """Bytes of the page budget the first page of a query takes before it comes."""
        return self._ctx.rows.reserve(self.resource, count, expected)

    def _key(self, part: Partition, window: Window) -> StateKey:
        start, end = window.key
        return StateKey(
            self._ctx.connection_key,
            self.company_id,
            self.resource.name,
            start,
            end,
            self._fields_hash,
            part.name,
        )

    def _fresh(self, state: WindowState | None) -> bool:
        """Completed by the interrupted run this one resumes: no need to ask again."""
        since = self._ctx.fresh_since
        if since is None or state is None or not state.complete or not state.updated_at:
            return False
        return datetime.fromisoformat(state.updated_at) >= since

    def _now(self) -> str:
        return self._ctx.clock.now().isoformat()


class _IdOnly(msgspec.Struct, gc=False):
    id: int


def _scan_id() -> str:
    return secrets.token_hex(8)


def _slot(key: StateKey, nights: int) -> int:
    """Which night of a ``nights``-long period a window is read whole on: a stable hash
    of its key, so the windows spread evenly over the period."""
    text = "|".join(
        (key.connection, str(key.company_id), key.resource, key.window_from, key.partition)
    )
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") % nights
