"""The engine on procrastinate: one job drives one budget for one time slice.

``make_app(settings)`` is a `procrastinate.App` with two tasks on the ``tripletex``
queue (install the ``workers`` extra: ``pip install "tripletex-async[workers]"``):

- ``tripletex_async.sync_budget(budget_id)``: `run_budget_slice` for one slice
  (``settings.slice``), locked by the budget id (procrastinate starts no second job of a
  budget while one runs) and queueing-locked by it (a budget waits in the queue once,
  however often it is asked for). A slice that leaves work defers its continuation, run
  before budgets not yet started, in the transaction that records the slice's end (on
  the slice's own connection); a budget another live job holds is tried again a
  lease-lifetime later; one whose tokens are missing or refused waits for an operator.
  Webhooks queue the same job (`tripletex_async.workers.trigger`).
- ``tripletex_async.plan``: every minute, defers every budget due (its last complete
  chain ended before today's 00:05 in Oslo: sessions expire at midnight there), longest
  first, and notes the estimated makespan.

Beside its procrastinate worker, every worker process runs `watch_stalled`: every
``stall_after`` seconds it puts back in the queue the jobs of workers that stopped sending
heartbeats (killed, frozen), which procrastinate does not do on its own. Not a task: a
task waits for a free slot, and with every slot busy on a slice (minutes) a dead worker's
budgets would wait as long.

Exclusivity does not rest on procrastinate's lock alone: a frozen worker that wakes can
still finish the job id another worker re-ran, which frees the lock. The budget's lease
(`run_budget_slice`) is what keeps a second job from driving a budget, and the fence on
every write is what keeps a woken zombie from writing anything.

Job arguments, lock names and procrastinate's log lines carry the budget id (an HMAC of
the tokens), never a token. Distributed mode stores rows, checkpoints and leases in
PostgreSQL, the same database as the queue: SQLite is one process's.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Self

import anyio
import procrastinate
from procrastinate import exceptions as procrastinate_errors

from ..client._clock import OSLO
from ..client._errors import ConfigurationError, LeaseLostError
from ..engine._sync import SyncOptions
from ..sinks._postgres import PostgresSink
from ._budget import Budget
from ._plan import estimate, longest_first
from ._secrets import Secrets, SecretsProvider
from ._slice import ClientFactory, SliceResult, run_budget_slice
from ._store import DEFAULT_SCHEMA, BudgetStore, PlanRow

if TYPE_CHECKING:
    from psycopg import AsyncConnection

__all__ = [
    "SinkPool",
    "WorkerSettings",
    "defer_due",
    "make_app",
    "retry_stalled",
    "watch_stalled",
]

QUEUE = "tripletex"
SYNC_TASK = "tripletex_async.sync_budget"
#: Continuations go before budgets not started: a started chain finishes first (LPT).
CONTINUATION_PRIORITY = 10
#: The planner and the stalled-job recovery go before any budget: procrastinate takes
#: jobs by priority, then in order, and these would otherwise wait behind every budget
#: queued before them (a night's plan: thousands), while a dead worker's budgets wait.
MAINTENANCE_PRIORITY = 100

_log = logging.getLogger("tripletex_async.workers")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How workers run budgets; the same on every worker of a fleet."""

    #: The PostgreSQL database of the queue, the budgets, the rows and the checkpoints.
    database_url: str
    #: The sink's schema (the rows and checkpoints), and the budgets' schema.
    sink_schema: str = "public"
    store_schema: str = DEFAULT_SCHEMA
    #: How long one job drives a budget before it hands over to its continuation.
    slice: timedelta = timedelta(minutes=5)
    #: Seconds a budget's lease survives without renewal (a frozen job's reach).
    lease_ttl: float = 30.0
    #: Seconds without a heartbeat after which a worker's jobs are put back in the queue
    #: (procrastinate's ``stalled_worker_timeout``); heartbeats go every third of it.
    stall_after: float = 30.0
    #: When, in Oslo, a day's runs may begin (Tripletex sessions expire at midnight there).
    day_starts: time = time(0, 5)
    #: The sync's options (the deadline is the slice's).
    options: SyncOptions = field(default_factory=SyncOptions)
    #: Workers expected (the makespan estimate's; more are counted when seen running).
    workers: int = 1
    #: Cron of the planner (procrastinate's: 5 fields, or 6 with the seconds last).
    plan_cron: str = "* * * * *"

    def __post_init__(self) -> None:
        if not self.database_url.startswith(("postgresql:", "postgres:")):
            raise ConfigurationError(
                "workers need a PostgreSQL database (postgresql://...): the queue, the "
                "leases and every worker's rows must be in one place; SQLite is for one "
                "process (tripletex-async sync)"
            )
        if self.slice <= timedelta(0) or not self.lease_ttl > 0 or not self.stall_after > 0:
            raise ConfigurationError("slice, lease_ttl and stall_after must be positive")

    def worker_options(self) -> dict[str, Any]:
        """procrastinate's worker options that follow from these settings."""
        return {
            "queues": [QUEUE],
            "stalled_worker_timeout": self.stall_after,
            "update_heartbeat_interval": self.stall_after / 3,
        }


def make_app(
    settings: WorkerSettings,
    *,
    connector: Any = None,
    secrets: SecretsProvider | None = None,
    client: ClientFactory | None = None,
    stop: anyio.Event | None = None,
    sinks: SinkPool | None = None,
) -> procrastinate.App:
    """A procrastinate app running budgets (see the module's text). ``connector``:
    procrastinate's (default: a `procrastinate.PsycopgConnector` on
    ``settings.database_url``); ``secrets``: where tokens are found (default: `Secrets`,
    ``env:`` and ``file:`` references); ``client``: builds a budget's client; ``stop``:
    once set, running slices wind down (a worker shutting down: what they fetched is
    stored, their continuations deferred); ``sinks``: the worker's `SinkPool` (default:
    a sink, and a connection, per job)."""
    if connector is None:
        connector = procrastinate.PsycopgConnector(conninfo=settings.database_url)
    app = procrastinate.App(connector=connector, worker_defaults=settings.worker_options())  # type: ignore[arg-type]
    found = secrets or Secrets()
    pool = sinks or SinkPool(settings, size=0)

    @app.task(name=SYNC_TASK, queue=QUEUE, pass_context=True)
    async def sync_budget(context: procrastinate.JobContext, budget_id: str) -> str:
        async with pool.sink() as sink:
            return await _drive(app, settings, found, client, budget_id, stop, sink)

    @app.periodic(cron=settings.plan_cron, periodic_id="plan")
    @app.task(
        name="tripletex_async.plan",
        queue=QUEUE,
        queueing_lock="tripletex_async.plan",
        priority=MAINTENANCE_PRIORITY,
    )
    async def plan(timestamp: int) -> int:
        return await defer_due(app, settings)

    return app


async def watch_stalled(app: procrastinate.App, settings: WorkerSettings) -> None:
    """Every ``stall_after`` seconds, `retry_stalled`; until cancelled. Run it beside
    the worker (``tripletex-async workers run`` does): any number of workers may."""
    while True:
        try:
            await retry_stalled(app, settings)
        except procrastinate_errors.ConnectorException as exc:  # the database restarting
            _log.warning("stalled_jobs_unchecked error=%s", type(exc).__name__)
        await anyio.sleep(settings.stall_after)


#: An index of ours on procrastinate's jobs, for its fetch query: that query skips every
#: waiting job whose lock another job holds or waits for ahead of it, and finds those by
#: lock, which none of procrastinate's own indexes leads with (procrastinate issues #393
#: and #1242). With one lock per budget, a queue of 100,000 budgets drained at 121 jobs
#: a second without it, and at 909 with it (benchmarks/scaleout.py).
FETCH_INDEX = "tripletex_async_jobs_lock_idx"
_FETCH_INDEX_DDL = (
    f"CREATE INDEX IF NOT EXISTS {FETCH_INDEX} ON procrastinate_jobs (lock, priority, id) "
    "WHERE status IN ('todo', 'doing')"
)


async def ensure_schema(settings: WorkerSettings) -> None:
    """Create procrastinate's tables, and our index on them (`FETCH_INDEX`), unless
    they exist: on a connection of its own, in one transaction holding a
    transaction-scoped advisory lock, so workers starting together create them once (a
    session lock taken through procrastinate's pool could be released on another of its
    connections, that is, never). A database where they exist takes no lock on them."""
    import psycopg

    from ..sinks._postgres import _conninfo, _describe

    try:
        conn = await psycopg.AsyncConnection.connect(
            settings.database_url, connect_timeout=10, autocommit=True
        )
    except psycopg.OperationalError:
        # psycopg's text may quote the connection string: only where, never a password.
        where = _describe(_conninfo(settings.database_url))
        raise ConfigurationError(f"cannot connect to the workers' database {where}") from None
    # pg_class read with the statement's snapshot, not `to_regclass`: that looks in the
    # session's catalog cache, which a transaction waiting on an advisory lock does not
    # refresh, so it would not see the tables another worker just committed.
    check = (
        "SELECT count(*) FILTER (WHERE relname = 'procrastinate_jobs') > 0, "
        f"count(*) FILTER (WHERE relname = '{FETCH_INDEX}') > 0 FROM pg_class "
        "WHERE relnamespace = ANY (current_schemas(false)::regnamespace[])"
    )
    async with conn:
        cursor = await conn.execute(check)
        if (await cursor.fetchone() or (False, False)) == (True, True):
            return
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('tripletex_async.procrastinate_schema'))"
            )
            cursor = await conn.execute(check)
            tables, index = await cursor.fetchone() or (False, False)
            if not tables:
                await conn.execute(procrastinate.schema.SchemaManager.get_schema())
            if not index:
                # A moment's SHARE lock on the jobs (inserts wait); once per database.
                await conn.execute(_FETCH_INDEX_DDL)


class SinkPool:
    """The PostgreSQL sinks of one worker process, reused job after job: a connection per
    job slot rather than per budget, and with it the server's warm caches and the
    tables the sink has opened already (a night of thousands of small budgets would
    otherwise pay a connection and the schema's checks for each). ``async with
    SinkPool(settings, size=concurrency) as sinks``, then ``make_app(..., sinks=sinks)``.

    A job that raised closes its sink rather than returning it: its connection may hold
    what the job left behind (a lease's session lock, a transaction)."""

    def __init__(self, settings: WorkerSettings, *, size: int) -> None:
        self._settings = settings
        self._size = size
        self._idle: list[PostgresSink] = []
        self._closed = False

    def __repr__(self) -> str:
        return f"<SinkPool {len(self._idle)} idle of {self._size}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for sink in idle:
            await sink.aclose()

    def _make(self) -> PostgresSink:
        # A frozen job's open transaction ends at the server once its lease could be
        # taken over, so the jobs taking over are not held up by its locks.
        idle = max(5.0, 2 * self._settings.lease_ttl)
        return PostgresSink(
            self._settings.database_url,
            schema=self._settings.sink_schema,
            idle_in_transaction=idle,
        )

    @asynccontextmanager
    async def sink(self) -> AsyncIterator[PostgresSink]:
        """An idle sink (its connection checked: the server may have dropped it while
        idle), or a new one; back in the pool after, unless the job raised."""
        if self._idle:
            sink = self._idle.pop()
            await sink.ping()
        else:
            sink = self._make()
        try:
            yield sink
        except BaseException:
            with anyio.CancelScope(shield=True):
                await sink.aclose()
            raise
        if self._closed or len(self._idle) >= self._size:
            await sink.aclose()
        else:
            self._idle.append(sink)


async def _drive(
    app: procrastinate.App,
    settings: WorkerSettings,
    secrets: SecretsProvider,
    client: ClientFactory | None,
    budget_id: str,
    stop: anyio.Event | None,
    sink: PostgresSink,
) -> str:
    """One slice of ``budget_id``, its record kept on the sink's own connection (one
    connection per job): begun, then closed in one transaction with what it defers."""
    schema = settings.store_schema

    async def begin(conn: AsyncConnection[Any]) -> tuple[Budget, str] | None:
        store = BudgetStore.borrowing(conn, schema=schema)
        budget = await store.get(budget_id)
        return None if budget is None else (budget, await store.started(budget_id))

    begun = await sink.run_in_transaction(begin, "record a slice's start in")
    if begun is None:
        _log.warning("budget_unknown budget_id=%s", budget_id)
        return "unknown"
    budget, token = begun
    try:
        result = await run_budget_slice(
            budget,
            sink,
            secrets=secrets,
            deadline=datetime.now(OSLO) + settings.slice,
            client=client,
            options=settings.options,
            lease_ttl=settings.lease_ttl,
            stop=stop,
        )
    except LeaseLostError:
        # Taken over while this worker was stopped: the new holder owns the budget and
        # its record; nothing of this slice was written after the takeover.
        _log.warning("budget_taken_over budget_id=%s", budget.id)
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"

        async def fail(conn: AsyncConnection[Any]) -> None:
            await BudgetStore.borrowing(conn, schema=schema).failed(budget_id, token, message)

        await sink.run_in_transaction(fail, "record a slice's failure in")
        raise

    async def close(conn: AsyncConnection[Any]) -> None:
        # The record and what follows commit together: a worker dying in between
        # leaves neither (its job, stalled, is run again), and a slice whose budget a
        # later slice began meanwhile (its worker frozen) records and defers nothing.
        if await BudgetStore.borrowing(conn, schema=schema).finished(budget_id, token, result):
            await _follow_up(app, settings, budget_id, result, conn)

    await sink.run_in_transaction(close, "record a slice's end in")
    return result.status


async def _follow_up(
    app: procrastinate.App,
    settings: WorkerSettings,
    budget_id: str,
    result: SliceResult,
    connection: AsyncConnection[Any],
) -> None:
    """Defer what a slice's result calls for, on ``connection`` (in its transaction):
    its continuation, or a later try."""
    if result.status == "more":
        await _defer(app, [budget_id], priority=CONTINUATION_PRIORITY, connection=connection)
    elif result.status == "busy":
        later = timedelta(seconds=settings.lease_ttl)
        await _defer(app, [budget_id], schedule_in=later, connection=connection)


async def _defer(
    app: procrastinate.App,
    budget_ids: Iterable[str],
    *,
    priority: int = 0,
    schedule_in: timedelta | None = None,
    connection: AsyncConnection[Any] | None = None,
) -> int:
    """Defer a job per budget (in this order); one already waiting is left as it is.
    On ``connection``, inside the transaction it has open (each insert under a
    savepoint: a budget already waiting must not abort the caller's transaction), or
    else on procrastinate's pool. How many were deferred."""
    count = 0
    task = app.tasks[SYNC_TASK]
    for budget_id in budget_ids:
        options: dict[str, Any] = {
            "lock": budget_id,
            "queueing_lock": budget_id,
            "priority": priority,
        }
        if schedule_in is not None:
            options["schedule_in"] = {"seconds": schedule_in.total_seconds()}
        try:
            if connection is None:
                await task.configure(**options).defer_async(budget_id=budget_id)
            else:
                async with connection.transaction():
                    deferrer = task.configure(**options, connection=connection)
                    await deferrer.defer_async(budget_id=budget_id)
        except procrastinate_errors.AlreadyEnqueued:
            continue
        count += 1
    return count


def day_start(now: datetime, starts: time) -> datetime:
    """The latest ``starts`` in Oslo at or before ``now``: runs that ended before it are
    due again."""
    local = now.astimezone(OSLO)
    today = datetime.combine(local.date(), starts, tzinfo=OSLO)
    return today if local >= today else today - timedelta(days=1)


async def defer_due(app: procrastinate.App, settings: WorkerSettings) -> int:
    """Defer every due budget that has no job waiting or running, longest first; note
    the estimated makespan. How many were deferred."""
    now = datetime.now(OSLO)
    # The jobs first, then the budgets: a budget whose job ends in between is then
    # either still listed as queued or already marked done, never planned twice.
    queued, running = await _jobs(app)
    async with BudgetStore(settings.database_url, schema=settings.store_schema) as store:
        due = await store.due(day_start(now, settings.day_starts))
        if not due:
            return 0
        ordered = [r for r in longest_first(due) if r.budget.id not in queued]
        count = await _defer(app, [r.budget.id for r in ordered])
        guess = estimate(due, max(settings.workers, running))
        finish = now + timedelta(seconds=guess.makespan_seconds)
        await store.save_plan(PlanRow(now, len(due), guess.makespan_seconds, finish))
    return count


async def _jobs(app: procrastinate.App) -> tuple[set[str], int]:
    """Budget ids with a job waiting or running, and how many workers run one."""
    manager, budgets, workers = app.job_manager, set(), set()
    for status in ("todo", "doing"):
        for job in await manager.list_jobs_async(task=SYNC_TASK, status=status):
            budgets.add(str(job.lock))
            if job.worker_id is not None:
                workers.add(job.worker_id)
    return budgets, len(workers)


async def retry_stalled(app: procrastinate.App, settings: WorkerSettings) -> int:
    """Put stalled jobs back in the queue; how many. A stalled budget job whose
    continuation is already waiting is closed as failed instead (the continuation does
    its work; retrying it would collide with the continuation's queueing lock). Another
    worker doing the same at the same moment is harmless: a job already put back is
    left alone."""
    manager = app.job_manager
    count = 0
    failed = procrastinate.jobs.Status.FAILED
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=settings.stall_after):
        waiting = job.queueing_lock is not None and any(
            await manager.list_jobs_async(queueing_lock=job.queueing_lock, status="todo")
        )
        try:
            if waiting:
                await manager.finish_job(job, status=failed, delete_job=False)
                continue
            await manager.retry_job(job)
        except procrastinate_errors.UniqueViolation:  # its budget was queued meanwhile
            await manager.finish_job(job, status=failed, delete_job=False)
            continue
        except procrastinate_errors.ConnectorException:  # another worker was first
            continue
        _log.warning("stalled_job_requeued job_id=%s task=%s", job.id, job.task_name)
        count += 1
    return count
