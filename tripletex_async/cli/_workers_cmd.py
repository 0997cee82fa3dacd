"""``tripletex-async workers``: budgets on many workers (procrastinate on PostgreSQL).

``register`` stores budgets (token references, never tokens; every reference is resolved
first, so a typo is an error before anything is stored), ``plan`` queues the due ones
now, ``run`` is one worker (SIGTERM: its jobs stop asking for data, store what they
fetched, defer their continuations, and it exits 0), ``webhooks`` receives deliveries
and queues their budgets' jobs, ``status`` shows budgets, jobs and the plan. The
database comes from ``--database`` or ``TRIPLETEX_WORKERS_DATABASE``; the budget ids' key
from ``TRIPLETEX_WORKERS_KEY``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from ..client._client import TripletexClient
from ..client._errors import ConfigurationError
from ..engine._resources import resolve_resources
from ..workers import Budget, Secrets, budget_id, server_key
from ._report_table import console_for, simple_table
from ._run import EXIT_OK, Context
from ._workers_args import DATABASE_VARIABLE

__all__ = ["run"]


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``workers`` commands."""
    try:
        from ..workers import jobs
    except ImportError:
        raise ConfigurationError(
            'workers need procrastinate: pip install "tripletex-async[workers]"'
        ) from None
    database = args.database or ctx.environ.get(DATABASE_VARIABLE, "")
    if not database:
        raise ConfigurationError(f"give --database URL or set {DATABASE_VARIABLE}")
    ctx.logs.scrubber.add(_password(database))
    settings = jobs.WorkerSettings(
        database,
        sink_schema=args.schema,
        **_run_settings(args),
    )
    if args.workers_command == "register":
        return await _register(args, ctx, settings)
    stop = anyio.Event()
    # A worker's jobs reuse its sinks (a connection per job slot); the others run none.
    size = args.concurrency if args.workers_command == "run" else 0
    async with jobs.SinkPool(settings, size=size) as sinks:
        app = jobs.make_app(
            settings,
            secrets=Secrets(ctx.environ),
            client=_clients(args, ctx),
            stop=stop,
            sinks=sinks,
        )
        return await _command(args, ctx, app, settings, stop)


async def _command(
    args: argparse.Namespace, ctx: Context, app: Any, settings: Any, stop: anyio.Event
) -> int:
    from ..workers import jobs

    await jobs.ensure_schema(settings)  # first: a clear error, not the pool's 30 s wait
    if args.workers_command == "webhooks":
        return await _webhooks(args, ctx, app, settings)
    async with app.open_async():
        if args.workers_command == "plan":
            count = await jobs.defer_due(app, settings)
            print(f"queued {count} due budget(s)", file=ctx.out)
            return EXIT_OK
        if args.workers_command == "status":
            return await _status(args, ctx, app, settings)
        return await _run_worker(args, ctx, app, settings, stop)


def _run_settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.workers_command != "run":
        return {}
    # A budget's lease lives as long as a worker may stay silent: a frozen worker's
    # budgets are re-run by others as soon as procrastinate gives its jobs up.
    return {
        "slice": timedelta(seconds=args.slice),
        "stall_after": args.stall_after,
        "lease_ttl": args.stall_after,
    }


def _clients(args: argparse.Namespace, ctx: Context) -> Any:
    env, base_url = getattr(args, "env", None), getattr(args, "base_url", None)

    def make(consumer: str, employee: str) -> TripletexClient:
        client = TripletexClient(
            consumer, employee, env=env, base_url=base_url, environ=ctx.environ
        )
        # For as long as the client lives, not for good: a night's thousands of budgets
        # would make every log event scan for all their tokens.
        ctx.logs.scrubber.add_while(client, consumer, employee)
        return client

    return make


def _password(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).password or ""


async def _register(args: argparse.Namespace, ctx: Context, settings: Any) -> int:
    from ..workers._store import BudgetStore

    key = server_key(dict(ctx.environ))
    entries = _read_budgets(args.file)
    secrets = Secrets(ctx.environ)
    budgets = []
    for n, entry in enumerate(entries, 1):
        consumer_ref, employee_ref = (
            _ref(entry, "consumer_token", n),
            _ref(entry, "employee_token", n),
        )
        consumer = await secrets.resolve(consumer_ref)
        employee = await secrets.resolve(employee_ref)
        resources = entry.get("resources") or []
        if resources:
            resolve_resources(resources)  # unknown names: an error now, not at night
        budgets.append(
            Budget(
                budget_id(consumer, employee, key),
                consumer_ref,
                employee_ref,
                _companies(entry.get("companies", "own"), n),
                tuple(resources),
                str(entry.get("label", "")),
            )
        )
    async with BudgetStore(settings.database_url, schema=settings.store_schema) as store:
        new = await store.register(budgets)
    print(f"registered {len(budgets)} budget(s), {new} new", file=ctx.out)
    # The ids (HMACs, not secrets): what a budget's webhook URL ends with.
    for budget in budgets:
        print(f"{budget.id}\t{budget.label}", file=ctx.out)
    return EXIT_OK


def _read_budgets(name: str) -> list[Mapping[str, Any]]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {name}: {exc.strerror}") from None
    try:
        found = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"{name} is not JSON (an array, or one object a line): {exc}"
        ) from None
    if not isinstance(found, list) or not all(isinstance(e, dict) for e in found):
        raise ConfigurationError(f"{name}: expected JSON objects, one per budget")
    if not found:
        raise ConfigurationError(f"{name} holds no budget")
    return found


def _ref(entry: Mapping[str, Any], name: str, n: int) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.startswith(("env:", "file:")):
        raise ConfigurationError(
            f"budget {n}: {name} must be a reference (env:NAME or file:PATH#KEY), never the "
            "token itself"
        )
    return value


def _companies(value: Any, n: int) -> Any:
    if value in ("own", "all"):
        return value
    if isinstance(value, list) and value and all(isinstance(c, int) and c > 0 for c in value):
        return tuple(value)
    raise ConfigurationError(f'budget {n}: companies must be "own", "all" or a list of ids')


async def _run_worker(
    args: argparse.Namespace, ctx: Context, app: Any, settings: Any, stop: anyio.Event
) -> int:
    from procrastinate.worker import Worker

    options = settings.worker_options()
    worker = Worker(app, concurrency=args.concurrency, install_signal_handlers=False, **options)

    def stopping() -> None:
        stop.set()  # running slices stop asking, store what they have, defer the rest
        worker.stop()  # type: ignore[no-untyped-call]  # and no new job is taken

    ctx.stop_handlers.append(stopping)
    print(
        f"worker running up to {args.concurrency} budget(s) at once; SIGTERM or Ctrl-C "
        "winds it down",
        file=ctx.err,
        flush=True,
    )
    from ..workers.jobs import watch_stalled

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_stalled, app, settings)
        await worker.run()  # type: ignore[no-untyped-call]
        tg.cancel_scope.cancel()
    return EXIT_OK


async def _webhooks(args: argparse.Namespace, ctx: Context, app: Any, settings: Any) -> int:
    """Serve `BudgetTrigger` until SIGTERM or Ctrl-C (its lifespan opens the app)."""
    from ..webhooks._serve import require_server, serve
    from ..workers.trigger import BudgetTrigger
    from ._webhooks_auth import auth_from

    auth = auth_from(args, ctx.environ)
    for secret in auth.secrets():
        ctx.logs.scrubber.add(secret)
    require_server()  # before anything is announced
    trigger = BudgetTrigger(app, settings, auth=auth)

    def listening(url: str) -> None:
        print(
            f"queueing budgets' jobs from Tripletex webhooks on {url}BUDGET_ID; Ctrl-C stops",
            file=ctx.err,
            flush=True,
        )

    await serve(trigger, host=args.host, port=args.port, on_listening=listening)
    return EXIT_OK


async def _status(args: argparse.Namespace, ctx: Context, app: Any, settings: Any) -> int:
    from ..workers._store import BudgetStore

    async with BudgetStore(settings.database_url, schema=settings.store_schema) as store:
        rows = await store.rows()
        plan = await store.plan()
    jobs_by_status: Counter[str] = Counter()
    for status in ("todo", "doing", "failed"):
        jobs_by_status[status] = len(
            list(
                await app.job_manager.list_jobs_async(
                    task="tripletex_async.sync_budget", status=status
                )
            )
        )
    states = Counter(r.state for r in rows)
    payload: dict[str, Any] = {
        "budgets": len(rows),
        "states": dict(states),
        "jobs": {
            "waiting": jobs_by_status["todo"],
            "running": jobs_by_status["doing"],
            "failed": jobs_by_status["failed"],
        },
        "plan": None
        if plan is None
        else {
            "planned_at": plan.planned_at.isoformat(),
            "budgets": plan.budgets,
            "makespan_seconds": round(plan.makespan_seconds, 1),
            "estimated_finish": plan.estimated_finish.isoformat(),
        },
        "attention": [
            {"budget": r.budget.id, "label": r.budget.label, "state": r.state, "message": r.message}
            for r in rows
            if r.state in ("needs_reauth", "failed")
        ],
    }
    if args.json:
        print(json.dumps(payload, indent=2), file=ctx.out)
        return EXIT_OK
    console = console_for(ctx.out)
    cells = [[state, str(count)] for state, count in sorted(states.items())]
    console.print(simple_table(f"{len(rows)} budgets", ["state", "budgets"], cells))
    counts = jobs_by_status
    print(
        f"jobs: {counts['doing']} running, {counts['todo']} waiting, {counts['failed']} failed",
        file=ctx.out,
    )
    if plan is not None and plan.makespan_seconds == 0:
        print(
            f"last plan {plan.planned_at.isoformat(timespec='seconds')}: {plan.budgets} "
            "budgets; no estimate until budgets have run once",
            file=ctx.out,
        )
    elif plan is not None:
        left = plan.estimated_finish - datetime.now(UTC)
        print(
            f"last plan {plan.planned_at.isoformat(timespec='seconds')}: {plan.budgets} budgets, "
            f"estimated finish {plan.estimated_finish.isoformat(timespec='seconds')}"
            + (" (passed)" if left.total_seconds() < 0 else ""),
            file=ctx.out,
        )
    for r in payload["attention"]:
        print(
            f"attention: {r['label'] or r['budget'][:12]} {r['state']}: {r['message']}",
            file=ctx.out,
        )
    return EXIT_OK
