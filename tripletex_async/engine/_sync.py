"""`sync`: many companies' resources into a sink, exactly, incrementally and resumably.

Data flow::

    companies x resources -> Unit (windows, digests, paging ahead; _unit.py)
        -> Connection.request (session, slots, rate budget, retries; _connection.py)
        -> CompanyView.get_list: ListPage of raw records -> rows (msgspec Struct, typed columns)
        -> Writer (bounded stream, one transaction per batch of pages; _writer.py)
        -> Sink.write(rows + window state)                  (sinks/)

Memory is bounded by `SyncOptions.max_bytes_in_memory`: a page takes its share of that
budget before its request and gives it back once stored. A slow sink fills the writer's
queue and fetching waits. Work is keyed by (connection, company, resource, window) and
its state lives in the sink, which is what lets a killed run continue and a rerun skip
what did not change.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

import anyio

from ..client._client import CompanyView, TripletexClient
from ..client._clock import OSLO, Clock
from ..client._errors import ConfigurationError, LeaseHeldError
from ..client._log import Log
from ..client._ratelimit import RateLimiter, give_up_unsent
from ..sinks._base import Batch, IndexingSink, Sink, StateKey, Table, WindowState
from ..sinks._lease import Fence, Lease, LeaseStore
from ._groups import sole_exception
from ._pages import PageBudget
from ._report import ResourceReport, SyncReport
from ._resources import DEFAULT_RESOURCES, Resource, resolve_resources
from ._sizing import RowsPerRequest
from ._targets import resolve_targets
from ._unit import Allowance, RunContext, Unit
from ._writer import Writer

__all__ = ["SyncOptions", "default_date_range", "sync"]

#: The state "resource" under which a run notes that it began and whether it ended.
RUN_MARKER = "_run"
#: The largest ``count`` Tripletex is known to accept, and its result-set cap.
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """How hard and how wide a sync works. The defaults suit one process and a few
    hundred companies; memory is bounded by ``max_bytes_in_memory``."""

    #: Records per request (``count``), 1 to 10,000; ``None``: chosen per query, as many
    #: as Tripletex allows where its rate budget binds, pages of 1000 in parallel where
    #: it does not, as many as 4 (or 16) such pages fit in ``max_bytes_in_memory``
    #: (engine/_sizing.py).
    page_size: int | None = None
    #: Pages of one query fetched ahead of need (after a full page).
    ahead: int = 4
    #: Bytes of fetched records held at once across the whole run (pages in flight,
    #: queued, being written), counted as fetched JSON; as rows they take about twice
    #: that. A page takes all it may hold before it is requested (its rows asked for times
    #: the bytes per row seen; the size its window had last run, when known), so pages
    #: of 10,000 rows run few at a time and small pages many. 1000 customers of 46
    #: fields are ~1.3 MB, so the default holds ~18 such pages (benchmarks/portfolio.py:
    #: 130 MB peak RSS for 1M of them), and ~150 of 8 fields, whose requests then run
    #: that much more in parallel.
    max_bytes_in_memory: int = 24 * 1024 * 1024
    #: Companies synced at once (each runs all its resources concurrently).
    companies_at_once: int = 16
    #: Batches waiting for the sink before fetching waits.
    write_queue: int = 16
    #: Rows coalesced into one sink transaction when batches are waiting.
    batch_rows: int = 5000
    #: ``changedSince`` looks back this much further than the last watermark.
    overlap: timedelta = timedelta(hours=1)
    #: Tripletex's result-set cap (422/23000 above it): windows holding more are split.
    result_cap: int = MAX_PAGE
    #: A run that follows an interrupted one (killed, cancelled) skips, without asking,
    #: the windows the interrupted run completed, if it began less than this long ago.
    resume_within: timedelta = timedelta(hours=12)
    #: Seconds to wait for a lease another run holds on the companies to sync (0: fail
    #: at once with `LeaseHeldError`).
    lease_wait: float = 0.0
    #: Seconds a lease survives without renewal (it is renewed every quarter of that):
    #: how long a frozen run keeps others out before they take over.
    lease_ttl: float = 60.0
    #: Every window is read whole again at least this often, on its own night of the
    #: period: a digest, a ``version`` or ``changedSince`` misses child changes
    #: (tripletex-api2#107) and changes to relations expanded through ``fields``. ``None``
    #: trusts them forever.
    reread_every: timedelta | None = timedelta(days=7)
    #: Requests this run may make for data (besides logging in and listing companies);
    #: once spent, the windows not done are left for the next run, most recent ones done
    #: first (the report counts them as ``deferred``). ``None``: no bound.
    max_requests: int | None = None
    #: When this run stops asking for data (timezone-aware): requests already sent are
    #: stored, the windows not done are left for the next run like ``max_requests``'s.
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        if self.page_size is not None and not 1 <= self.page_size <= MAX_PAGE:
            raise ConfigurationError(f"page_size must be 1..{MAX_PAGE}, not {self.page_size}")
        for name in ("ahead", "max_bytes_in_memory", "companies_at_once", "write_queue"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
        if self.reread_every is not None and self.reread_every <= timedelta(0):
            raise ConfigurationError("reread_every must be positive (or None: never)")
        if not self.lease_ttl > 0 or not self.lease_wait >= 0:
            raise ConfigurationError("lease_ttl must be positive and lease_wait not negative")
        if self.max_requests is not None and self.max_requests < 1:
            raise ConfigurationError("max_requests must be at least 1 (or None: no bound)")
        if self.deadline is not None and self.deadline.utcoffset() is None:
            raise ConfigurationError("deadline must be timezone-aware (say which zone)")
        if self.page_size is not None and self.result_cap < self.page_size:
            raise ConfigurationError("result_cap must be at least page_size")


def default_date_range(today: date) -> tuple[date, date]:
    """From 1 January last year to 1 January next year: two fiscal years and whatever is
    already dated ahead."""
    return date(today.year - 1, 1, 1), date(today.year + 1, 1, 1)


async def sync(
    source: TripletexClient | CompanyView,
    sink: Sink,
    *,
    resources: Iterable[str | Resource] = DEFAULT_RESOURCES,
    companies: Iterable[int] | Literal["all"] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    full: bool = False,
    options: SyncOptions | None = None,
    clock: Clock | None = None,
    on_progress: Callable[[ResourceReport], None] | None = None,
    stop: anyio.Event | None = None,
) -> SyncReport:
    """Sync ``resources`` of ``companies`` into ``sink`` and report what happened.

    ``companies``: ``None`` is the token owner's own company, ``"all"`` every client
    company an accountant's token reaches, or explicit ids. Dated resources cover
    ``[date_from, date_to)`` (see `default_date_range`). Reruns are incremental;
    ``full`` ignores saved digests and scans everything again. Once ``stop`` is set the
    run winds down as at its deadline: requests sent are stored, no new one goes, the
    windows not done are deferred (a worker shutting down; a service's own stop).

    A company's failure (403 for a missing module, retries exhausted, a decode error) is
    recorded in the report and never stops the others; a sink failure ends the sync.
    """
    options = options or SyncOptions()
    owner = source.company(0)
    clock = clock or owner.connection.clock
    chosen = resolve_resources(resources)
    start, end = _date_range(date_from, date_to, clock)
    if options.deadline is not None and clock.now() >= options.deadline:
        raise ConfigurationError(f"the deadline {options.deadline.isoformat()} has passed")
    who = await owner.who_am_i()
    own = who.owner_company()
    # Everything is checked (tokens, companies) before the sink is touched.
    targets = list(await resolve_targets(owner, companies, own))
    job = _Job(
        owner, sink, chosen, targets, f"{own}:{who.employeeId or 0}",
        start, end, full, options, clock, on_progress, stop,
    )  # fmt: skip
    lease = _lease(sink, targets, options, clock, owner.connection.log)
    fence = None if lease is None else await lease.acquire()
    try:
        return await _leased(job, lease, fence)
    finally:
        if lease is not None:
            await lease.release()


@dataclass(frozen=True, slots=True)
class _Job:
    """One call of `sync`, its arguments resolved and checked."""

    owner: CompanyView
    sink: Sink
    resources: list[Resource]
    companies: list[int]
    connection_key: str
    date_from: date
    date_to: date
    full: bool
    options: SyncOptions
    clock: Clock
    on_progress: Callable[[ResourceReport], None] | None
    stop: anyio.Event | None

    def context(self, writer: Writer, budget: PageBudget, run: _RunMarker) -> RunContext:
        """What the job's units share."""
        options = self.options
        return RunContext(
            connection=self.owner.connection,
            connection_key=self.connection_key,
            sink=self.sink,
            writer=writer,
            budget=budget,
            clock=self.clock,
            date_from=self.date_from,
            date_to=self.date_to,
            full=self.full,
            rows=RowsPerRequest(
                self.owner.connection.budget,
                budget,
                cap=options.result_cap,
                fixed=options.page_size,
            ),
            ahead=options.ahead,
            result_cap=options.result_cap,
            overlap=options.overlap,
            fresh_since=run.resuming_since,
            reread_every=options.reread_every,
            on_progress=self.on_progress,
            allowance=self.allowance(),
            admission=admission(self.owner.connection.budget),
        )

    def allowance(self) -> Allowance | None:
        """The run's bound (`SyncOptions.max_requests`, `SyncOptions.deadline`, the
        ``stop`` event), if any."""
        options = self.options
        if options.max_requests is None and options.deadline is None and self.stop is None:
            return None
        return Allowance(
            options.max_requests, deadline=options.deadline, clock=self.clock, stop=self.stop
        )


async def _leased(job: _Job, lease: Lease | None, fence: Fence | None) -> SyncReport:
    """The sync itself, once the lease is held: open the sink, run every unit with the
    writer, mark the run finished, unless its bound left windows for the next run.

    A run that deferred windows stays unfinished, like one that was killed: the next
    run (within ``resume_within``) resumes it, skipping without a request every window
    completed since it began. Were it marked finished, every bounded run of a chain (a
    worker's time slices; a nightly ``--max-requests``) would first spend its requests
    re-checking the windows the ones before it completed, and a chain whose bound is
    smaller than that would never get further."""
    sink, options, clock = job.sink, job.options, job.clock
    await sink.open([r.table() for r in job.resources])
    first = job.resources[0]
    run = await _RunMarker.begin(
        sink, job.connection_key, first, clock, options, full=job.full, fence=fence,
        scope=_scope(job),
    )  # fmt: skip
    budget = PageBudget(options.max_bytes_in_memory)
    writer = Writer(
        sink,
        buffer=options.write_queue,
        batch_rows=options.batch_rows,
        on_progress=job.on_progress,
        fence=fence,
    )
    context = job.context(writer, budget, run)
    units = [Unit(context, c, r) for c in job.companies for r in job.resources]
    report = SyncReport(job.connection_key, [u.report for u in units])
    began = clock.monotonic()
    try:
        await _run(writer, units, options.companies_at_once, lease, context.allowance)
    finally:
        report.seconds = clock.monotonic() - began
    _denied_everywhere(report)
    # Every page's share came back (a share is an object released on every path; a
    # leak is a bug of ours, which the tests would see here).
    assert budget.held == 0, f"a finished sync still holds page budget: {budget!r}"
    if not any(r.deferred for r in report):
        await run.finish()
    if isinstance(sink, IndexingSink):
        await sink.build_indexes()
    return report


def _denied_everywhere(report: SyncReport) -> None:
    """A company that answered 403 for every resource of several groups has not left
    modules out: the token cannot read it (access revoked, an entitlement missing). Those
    are failures. (A run of one group's resources cannot tell: a company without that
    module answers the same.)"""
    from ._registry import group_of

    by_company: dict[int, list[ResourceReport]] = {}
    for r in report:
        by_company.setdefault(r.company_id, []).append(r)
    for rs in by_company.values():
        spanned = {group_of(r.resource) or r.resource for r in rs}
        if len(spanned) > 1 and all(r.status == "not_enabled" for r in rs):
            for r in rs:
                r.status = "failed"
                r.errors.append(
                    f"403 on every resource: the token cannot read this company ({r.not_enabled})"
                )


def admission(budget: RateLimiter) -> anyio.CapacityLimiter | None:
    """How many windows may be in progress at once: as many as the rate budget lets
    calls through in one of its windows, once its limit is known (the first answer tells
    it, before any unit starts). Work already started (a window's next pages, the halves
    of one over the cap) then queues behind at most one rate window of new work, so a
    heavy company's chain of requests moves on every window instead of waiting behind
    every other company's first requests and finishing alone at the end."""
    limit = budget.snapshot().limit
    return None if limit is None else anyio.CapacityLimiter(max(1, limit))


def _lease(
    sink: Sink, companies: list[int], options: SyncOptions, clock: Clock, log: Log
) -> Lease | None:
    """The lease a sync of ``companies`` into ``sink`` must hold (see `_lease`), or
    ``None`` for a sink that cannot hold one (a user's own; it gets unfenced batches)."""
    if not isinstance(sink, LeaseStore):
        return None

    def waiting(held: LeaseHeldError) -> None:
        log.warning("waiting_for_lease", seconds=options.lease_wait, holder=str(held))

    return Lease(
        sink,
        companies,
        clock=clock,
        ttl=options.lease_ttl,
        wait=options.lease_wait,
        on_wait=waiting,
    )


@dataclass(frozen=True, slots=True)
class _RunMarker:
    """A sink-held note that a run of this connection began and whether it ended.

    When the last run did not end (killed, cancelled) and began recently, the windows it
    completed are fresh: the next run resumes it instead of checking them all again.
    """

    sink: Sink
    table: Table
    state: WindowState
    resuming_since: datetime | None
    fence: Fence | None

    @classmethod
    async def begin(
        cls,
        sink: Sink,
        connection_key: str,
        resource: Resource,
        clock: Clock,
        options: SyncOptions,
        *,
        full: bool,
        fence: Fence | None,
        scope: str,
    ) -> _RunMarker:
        """The run over ``scope`` (its companies) resumed, or begun. One marker per
        scope: runs of one connection over other companies (two budgets of one
        employee: two integrations) must not end each other's, or the one whose run
        another ended would check again, slice after slice, what it had done."""
        table, now = resource.table(), clock.now()
        stored = await sink.load_state(connection_key, 0, RUN_MARKER)
        previous = [s for s in stored if s.key.window_from == scope]
        if previous and not previous[0].complete and not full:
            began = datetime.fromisoformat(previous[0].updated_at)
            if now - began < options.resume_within:
                return cls(sink, table, previous[0], began, fence)
        key = StateKey(connection_key, 0, RUN_MARKER, window_from=scope)
        state = WindowState(key, secrets.token_hex(8), updated_at=now.isoformat())
        await sink.write([Batch(table, 0, (), state, fence=fence)])
        return cls(sink, table, state, None, fence)

    async def finish(self) -> None:
        done = replace(self.state, complete=True)
        await self.sink.write([Batch(self.table, 0, (), done, fence=self.fence)])


def _scope(job: _Job) -> str:
    """A digest of the companies a run covers (not its resources: a rerun that adds one
    still resumes the windows of the others)."""
    text = ",".join(map(str, sorted(job.companies)))
    return "companies:" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


async def _run(
    writer: Writer,
    units: list[Unit],
    companies_at_once: int,
    lease: Lease | None,
    allowance: Allowance | None = None,
) -> None:
    """Run the units with the writer (and the lease renewed beside them). A run that
    stops or has a deadline (``allowance``) gives up, at that moment, its requests
    still waiting for the rate budget (`give_up_unsent`), not a rate window (a minute)
    later: a worker shutting down ends within its grace period."""
    by_company: dict[int, list[Unit]] = {}
    for unit in units:
        by_company.setdefault(unit.company_id, []).append(unit)
    limiter = anyio.CapacityLimiter(companies_at_once)

    async def company(group: list[Unit]) -> None:
        async with limiter, anyio.create_task_group() as tg:
            for unit in group:
                tg.start_soon(unit.run)

    try:
        async with anyio.create_task_group() as outer:
            if lease is not None:
                outer.start_soon(lease.keep_alive)  # a lost lease ends everything
            giving_up: AbstractContextManager[None] = nullcontext()
            if allowance is not None and allowance.has_deadline:
                give_up = anyio.Event()
                outer.start_soon(allowance.expired, give_up)
                giving_up = give_up_unsent(give_up)
            # The tasks started in it (units, their windows) inherit the give-up.
            with giving_up:
                async with anyio.create_task_group() as work:
                    work.start_soon(writer.run)
                    try:
                        async with anyio.create_task_group() as tg:
                            for group in by_company.values():
                                tg.start_soon(company, group)
                    finally:
                        writer.close()
            outer.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None


def _date_range(start: date | None, end: date | None, clock: Clock) -> tuple[date, date]:
    default_start, default_end = default_date_range(clock.now().astimezone(OSLO).date())
    start, end = start or default_start, end or default_end
    if end <= start:
        raise ConfigurationError(f"date_to ({end}) must be after date_from ({start})")
    return start, end
