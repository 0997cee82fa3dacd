"""Scale-out: one fleet of budgets synced by 1, 2 and 4 worker processes, and a deep queue.

What it measures (tripletex-async issue 17). A simulated fleet, time-compressed: 2,000
single-company budgets (``--standalone-companies``) and 5 accountant budgets of 100
client companies each (the simulator's ``--accountants 5`` splitting 500 clients among
five accounting-office tokens), seeded, at ``--scale 0.02`` with no heavy client
(``--heavy-companies 0``); the budgets registered by reference (``tripletex-async workers
register``), queued (``workers plan``), and synced (``customer`` and ``ledger/posting``)
by N = 1, 2, 4 ``tripletex-async workers run --concurrency 14 --slice 30 --stall-after 2``
processes, each N on a fresh PostgreSQL database and a fresh simulator (same seed).

The compression keeps the field's shape, not its clock: a budget gets 10 calls per
3-second window (Tripletex: on the order of 100 a minute), so a single company's ~7
calls fit in one window, as its nightly sync does in the field, while an accountant's
~420 calls need some 40 windows, as 100 clients' thousands of calls need many minutes:
the night is as long as the largest accountant budget, if the scheduler starts it first
and keeps its windows full while thousands of small budgets go by beside it. (One-second
windows would compress time 60-fold but not the CPU each budget costs, and measure the
2-core machine instead: at 10 calls a second the same fleet took 62 s at N = 1 against a
rate bound of 41 s, CPU-bound.) A slice of 30 s is 10 windows (the field's 5 minutes are
5 windows of 100 calls).

Per N:

- makespan: the first job's start to the last budget's end (PostgreSQL's clock:
  procrastinate's ``started`` events, the budgets' ``last_done_at``);
- its lower bound, LB(N) = max(the largest budget's time, the sum of all budgets'
  times / (N x slots)), a budget's time being the whole windows its calls must wait
  through at its rate: (ceil(calls / limit) - 1) x period, its calls those the
  simulator let through (429s not counted). Overheads (sessions, the database, the
  queue) are not in it: a ratio near 1 means the scheduler wastes nothing;
- job pickup latency p50/p99: a job's ``deferred`` (or, if scheduled, its
  ``scheduled_at``) to its ``started`` event in ``procrastinate_events``, for all
  budget jobs (counted from the first start: the plan queues all before any worker
  runs, so this is mostly the wait in a queue of thousands) and for continuations
  alone (priority 10: they go before every waiting budget, so theirs is the pickup);
- 429s; budget use in active windows (the simulator's calls let through / the calls
  the windows in which each budget sent allowed); ownership overlaps (requests on a
  superseded session of a budget: two holders; must be 0);
- rows exact: every (company, resource) of the sink's tables against an in-process
  `FakeTripletex` of the same seed and portfolio (ids and every field);
- peak RSS per worker (``VmHWM`` of ``/proc/<pid>/status``, read until it exits);
  peak PostgreSQL connections to the run's database (``pg_stat_activity``, sampled
  every 0.25 s; the sampler's own left out).

Then a deep queue: 100,000 waiting jobs of a no-op task on a fresh database prepared as
a worker prepares it (`ensure_schema`: procrastinate's tables and our index for its
fetch), inserted by SQL as ``defer`` would, each with its own lock and queueing lock as
a budget's job has, drained by one procrastinate worker in this process (the same
concurrency): jobs per second overall, and while the queue was deepest (the first 10%)
against shallowest (the last 10%): the fetch query is not the bottleneck if those are
alike.

Targets (PASS/MISS): makespan <= 1.2 x LB at N = 1 and 2; 0 overlaps; 0 rows lost,
duplicated or different; the deep queue drains at >= 200 jobs/s. A 2-core shared VM
that also runs the simulator and PostgreSQL: more workers share the same two cores.

Run: ``python benchmarks/scaleout.py [--workers 1 2 4] [--concurrency 14] [--slice 30]
[--limit 10] [--period 3] [--standalone 2000] [--clients 500] [--accountants 5]
[--queue 100000] [--out DIR]`` (here: ~2.5 min per N, 2 min for the deep queue);
``--quick``: 2 x 5 clients and 60 single-company budgets, N = 1 and 2, 2,000 queued jobs,
about 40 s. Prints a table and writes ``results/scaleout.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg

RESULTS = Path(__file__).parent / "results"
ADMIN_URL = os.environ.get("SCALEOUT_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CLI = [sys.executable, "-m", "tripletex_async.cli"]
SYNCED = ("customer", "ledger/posting")
SEED = 7
KEY = "a-server-key-for-the-scaleout-benchmark"
#: Dated records the engine syncs by default lie in these years (the simulator's: 2025).
FROM, TO = date(2024, 1, 1).isoformat(), date(2027, 1, 1).isoformat()
TARGET_RATIO = 1.2
#: Jobs at once per worker process. A worker holds 6 PostgreSQL connections and one per
#: slot (README: 20 at 14), and this server allows 100: 4 workers of 14 take 80.
CONCURRENCY = 14
TARGET_FETCH_PER_S = 200.0


@dataclass(frozen=True, slots=True)
class Fleet:
    """The simulated fleet: its budgets and their rate."""

    clients: int
    accountants: int
    standalone: int
    scale: float
    limit: int
    period: float

    @property
    def budgets(self) -> int:
        return self.accountants + self.standalone

    def simulator_flags(self) -> list[str]:
        return [
            "--seed", str(SEED), "--companies", str(self.clients), "--accountants",
            str(self.accountants), "--standalone-companies", str(self.standalone),
            "--scale", str(self.scale), "--heavy-companies", "0",
            "--rate-limit", f"{self.limit}/{self.period:g}",
        ]  # fmt: skip


FULL = Fleet(clients=500, accountants=5, standalone=2000, scale=0.02, limit=10, period=3.0)
QUICK = Fleet(clients=10, accountants=2, standalone=60, scale=0.02, limit=10, period=3.0)
QUICK_QUEUE = 2_000


@dataclass
class Run:
    """One N: what the database, the simulator and /proc said."""

    workers: int
    budgets: int
    makespan_s: float
    requests: int
    largest_budget_requests: int
    #: Each budget's calls the simulator let through (its rate windows' count).
    budget_calls: list[int]
    requests_per_s: float
    steady_requests_per_s: float
    rate_limited: int
    budget_window_use: float | None
    overlaps: int
    budgets_active: int
    budgets_done: int
    jobs: int
    continuations: int
    pickup_p50_ms: float
    pickup_p99_ms: float
    continuation_pickup_p50_ms: float | None
    continuation_pickup_p99_ms: float | None
    rows_expected: int
    rows_stored: int
    rows_lost: int
    rows_unexpected: int
    rows_different: int
    peak_rss_mb: list[float]
    peak_connections: int
    worker_exit_codes: list[int | None]
    lower_bound_s: float = 0.0
    lower_bound_by: str = ""
    ratio: float = 0.0
    samples: list[tuple[float, int]] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class Drain:
    """The deep queue."""

    jobs: int
    concurrency: int
    seconds: float
    jobs_per_s: float
    first_tenth_per_s: float
    last_tenth_per_s: float


# -- databases and processes ------------------------------------------------------------------


@contextmanager
def database(prefix: str) -> Iterator[str]:
    """A fresh database, dropped (its sessions ended first) on the way out."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            admin.execute(f"DROP DATABASE IF EXISTS {name}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, limit: float = 30) -> None:
    """Signal a child we started and reap it; SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def simulator(fleet: Fleet, tmp: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The simulator on loopback: its API url and the budgets of its tokens file."""
    tokens, out = tmp / "tokens.json", tmp / "simulator.out"
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "tripletex_async.testing", "--port", "0", "--tokens-file",
             str(tokens), *fleet.simulator_flags()],
            stdout=stdout, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "\n" not in out.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)
        api = out.read_text().splitlines()[0].removeprefix("listening on ").strip()
        yield api, json.loads(tokens.read_text())
    finally:
        stop(process)


def workers_cli(environ: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [*CLI, "workers", *args], env=environ, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"workers {args[0]}: {done.stderr[-2000:]}")


def register(environ: dict[str, str], budgets: list[dict[str, Any]], tmp: Path) -> None:
    """Tokens into a file of secrets (mode 600), budgets by reference; then queue them."""
    vault, values, entries = tmp / "secrets.json", {}, []
    for budget in budgets:
        label = budget["label"]
        key = label.replace("#", "-")  # a reference's key ends at its file's "#"
        values[f"{key}/c"] = budget["consumer_token"]
        values[f"{key}/e"] = budget["employee_token"]
        entries.append({
            "consumer_token": f"file:{vault}#{key}/c",
            "employee_token": f"file:{vault}#{key}/e",
            "companies": "all" if budget["kind"] == "accountant" else "own",
            "resources": list(SYNCED),
            "label": label,
        })  # fmt: skip
    vault.write_text(json.dumps(values))
    vault.chmod(0o600)
    (tmp / "budgets.json").write_text(json.dumps(entries))
    workers_cli(environ, "register", str(tmp / "budgets.json"))
    workers_cli(environ, "plan")


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM`` of a live process in MB; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


# -- one N ------------------------------------------------------------------------------------


@dataclass
class Watch:
    """What is sampled while the workers run."""

    rss: list[float]
    connections: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)


def served(api: str) -> tuple[int, dict[str, Any]]:
    """Requests the simulator let through to budgets (429s left out), and its statistics."""
    stats: dict[str, Any] = httpx.get(api.removesuffix("/v2") + "/_fake/statistics").json()
    budgets = stats["by_budget"].values()
    return sum(b["requests"] - b["rate_limited"] for b in budgets), stats


def watch(
    url: str, api: str, processes: list[subprocess.Popen[bytes]], budgets: int, limit: float
) -> Watch:
    """Sample until every budget is done: connections, RSS, the simulator's count."""
    seen = Watch([0.0] * len(processes))
    deadline, next_sample = time.monotonic() + limit, 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            for i, process in enumerate(processes):
                rss = peak_rss_mb(process.pid)
                seen.rss[i] = max(seen.rss[i], rss or 0.0)
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchone()
            seen.connections = max(seen.connections, int(found[0]) if found else 0)
            now = time.monotonic()
            if now >= next_sample:
                seen.samples.append((now, served(api)[0]))
                next_sample = now + 1.0
                done = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE "
                    "state IN ('failed', 'needs_reauth')) FROM tripletex_workers.budgets"
                ).fetchone()
                if done and done[0] >= budgets:
                    return seen
                if done and done[1]:
                    failed = conn.execute(
                        "SELECT label, state, message FROM tripletex_workers.budgets "
                        "WHERE state IN ('failed', 'needs_reauth') LIMIT 5"
                    ).fetchall()
                    raise RuntimeError(f"{done[1]} budget(s) failed: {failed}")
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError("a worker exited before the fleet was done")
                if now > deadline:
                    raise RuntimeError(f"{done[0] if done else 0} of {budgets} budgets done")
            time.sleep(0.25)


def steady_rate(samples: list[tuple[float, int]]) -> float:
    """Requests per second over the middle 80% of the requests: from the sample where
    10% were served to the one where 90% were."""
    total = samples[-1][1]
    low = next(s for s in samples if s[1] >= 0.1 * total)
    high = next(s for s in samples if s[1] >= 0.9 * total)
    return (high[1] - low[1]) / (high[0] - low[0]) if high[0] > low[0] else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def job_figures(url: str) -> dict[str, Any]:
    """Makespan and pickup latencies from procrastinate's tables and the budgets'."""
    with psycopg.connect(url) as conn:
        first, last = conn.execute(
            "SELECT (SELECT min(e.at) FROM procrastinate_events e JOIN procrastinate_jobs j "
            "ON j.id = e.job_id WHERE e.type = 'started' AND j.task_name = "
            "'tripletex_async.sync_budget'), (SELECT max(last_done_at) FROM "
            "tripletex_workers.budgets)"
        ).fetchone() or (None, None)
        rows = conn.execute(
            """SELECT j.priority,
                   extract(epoch FROM s.at - GREATEST(d.at, j.scheduled_at, %s))
               FROM procrastinate_jobs j
               JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events
                             WHERE job_id = j.id AND type IN ('deferred', 'scheduled')) d ON true
               JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events
                             WHERE job_id = j.id AND type = 'started') s ON true
               WHERE j.task_name = 'tripletex_async.sync_budget' AND s.at IS NOT NULL""",
            (first,),
        ).fetchall()
    if first is None or last is None:
        raise RuntimeError("no job started or no budget done")
    waits = [float(w) * 1000 for _, w in rows]
    continued = [float(w) * 1000 for p, w in rows if p > 0]
    return {
        "makespan_s": (last - first).total_seconds(),
        "jobs": len(rows),
        "continuations": len(continued),
        "pickup_p50_ms": statistics.median(waits),
        "pickup_p99_ms": percentile(waits, 0.99),
        "continuation_pickup_p50_ms": statistics.median(continued) if continued else None,
        "continuation_pickup_p99_ms": percentile(continued, 0.99) if continued else None,
    }


def run_one(fleet: Fleet, n: int, concurrency: int, slice_s: float, limit: float) -> Run:
    with tempfile.TemporaryDirectory() as tmp_name, database("scaleout") as url:
        tmp = Path(tmp_name)
        environ = {**os.environ, "TRIPLETEX_WORKERS_KEY": KEY, "TRIPLETEX_WORKERS_DATABASE": url}
        for name in ("TRIPLETEX_CONSUMER_TOKEN", "TRIPLETEX_EMPLOYEE_TOKEN"):
            environ.pop(name, None)
        with simulator(fleet, tmp) as (api, budgets):
            register(environ, budgets, tmp)
            processes = []
            try:
                for i in range(n):
                    with (tmp / f"worker-{i}.log").open("wb") as log:
                        processes.append(subprocess.Popen(
                            [*CLI, "workers", "run", "--base-url", api, "--concurrency",
                             str(concurrency), "--slice", f"{slice_s:g}", "--stall-after", "2"],
                            env=environ, stdout=log, stderr=log,
                        ))  # fmt: skip
                seen = watch(url, api, processes, fleet.budgets, limit)
                for i, process in enumerate(processes):  # the last reading before it exits
                    seen.rss[i] = max(seen.rss[i], peak_rss_mb(process.pid) or 0.0)
            finally:
                for process in processes:
                    stop(process)
            total, stats = served(api)
        figures = job_figures(url)
        rows = compare_rows(url, fleet)
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "SELECT count(*) FROM tripletex_workers.budgets WHERE state = 'done'"
            ).fetchone()
    by_budget = stats["by_budget"].values()
    return Run(
        workers=n,
        budgets=fleet.budgets,
        requests=total,
        largest_budget_requests=max(b["requests"] - b["rate_limited"] for b in by_budget),
        budget_calls=sorted(b["requests"] - b["rate_limited"] for b in by_budget),
        requests_per_s=total / figures["makespan_s"],
        steady_requests_per_s=steady_rate(seen.samples),
        rate_limited=stats["rate_limited"],
        budget_window_use=stats["budget_window_use"],
        overlaps=stats["budget_overlaps"],
        budgets_active=stats["budgets_active"],
        budgets_done=int(found[0]) if found else 0,
        peak_rss_mb=[round(r, 1) for r in seen.rss],
        peak_connections=seen.connections,
        worker_exit_codes=[p.returncode for p in processes],
        samples=seen.samples,
        **figures,
        **rows,
    )


# -- rows exact -------------------------------------------------------------------------------


def compare_rows(url: str, fleet: Fleet) -> dict[str, int]:
    """Every (company, resource) of the sink against the simulator's own records, built
    in this process from the same seed and portfolio: ids, and every field the engine's
    Struct asks for (``changes`` excepted)."""
    from tripletex_async import RESOURCES
    from tripletex_async.testing import FakeTripletex, PortfolioConfig, generate_portfolio

    config = PortfolioConfig(
        seed=SEED,
        companies=fleet.clients,
        standalone=fleet.standalone,
        scale=fleet.scale,
        heavy_companies=0,
    )
    sim = FakeTripletex(generate_portfolio(config))
    companies = [*sim.portfolio.company_ids(), *sim.portfolio.standalone_ids()]
    counts = {"rows_expected": 0, "rows_stored": 0, "rows_lost": 0}
    counts |= {"rows_unexpected": 0, "rows_different": 0}
    with psycopg.connect(url) as conn:
        for resource in SYNCED:
            info = RESOURCES[resource]
            assert info.model is not None
            names = [f.encode_name for f in msgspec.structs.fields(info.model)]
            table = info.table().name
            stored: dict[tuple[int, int], Any] = {}
            for company, rid, data in conn.execute(
                f'SELECT company_id, id, data::text FROM "{table}"'
            ):
                if (company, rid) in stored:  # the primary key forbids it; counted anyway
                    counts["rows_unexpected"] += 1
                stored[(company, rid)] = msgspec.json.decode(data)
            counts["rows_stored"] += len(stored)
            for company in companies:
                for record in sim.records(company, resource):
                    day = record.get(info.date_field) if info.date_field else None
                    if info.date_field is not None and not FROM <= (day or "") < TO:
                        continue
                    counts["rows_expected"] += 1
                    got = stored.pop((company, record["id"]), None)
                    if got is None:
                        counts["rows_lost"] += 1
                    elif got != {k: record.get(k) for k in names}:
                        counts["rows_different"] += 1
            counts["rows_unexpected"] += len(stored)
    return counts


# -- the deep queue ---------------------------------------------------------------------------


def drain(jobs: int, concurrency: int) -> Drain:
    """``jobs`` waiting no-op jobs, each with its own lock and queueing lock, drained by
    one procrastinate worker; rates from the jobs' ``started`` events."""
    import procrastinate

    from tripletex_async.workers.jobs import WorkerSettings, ensure_schema

    with database("scaleout_queue") as url:
        # What a worker starts with: procrastinate's tables and our index for its fetch.
        asyncio.run(ensure_schema(WorkerSettings(url)))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, "
                "args) SELECT 'tripletex', 'tripletex_async.sync_budget', 'budget-' || n, "
                "'budget-' || n, jsonb_build_object('budget_id', 'budget-' || n) "
                "FROM generate_series(1, %s) AS n",
                (jobs,),
            )
            conn.execute("VACUUM ANALYZE procrastinate_jobs")
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

        @app.task(name="tripletex_async.sync_budget", queue="tripletex")
        async def sync_budget(budget_id: str) -> str:
            return budget_id

        async def work() -> float:
            async with app.open_async():
                began = time.perf_counter()
                await app.run_worker_async(
                    queues=["tripletex"], concurrency=concurrency, wait=False,
                    install_signal_handlers=False, listen_notify=False,
                )  # fmt: skip
                return time.perf_counter() - began

        seconds = asyncio.run(work())
        with psycopg.connect(url) as conn:
            starts = [
                row[0]
                for row in conn.execute(
                    "SELECT extract(epoch FROM at) FROM procrastinate_events "
                    "WHERE type = 'started' ORDER BY at"
                )
            ]
            left = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'"
            ).fetchone()
    if len(starts) != jobs or (left and left[0]):
        raise RuntimeError(f"{len(starts)} of {jobs} jobs started, {left} not succeeded")
    tenth = jobs // 10

    def rate(part: list[Any]) -> float:
        return (len(part) - 1) / float(part[-1] - part[0])

    return Drain(
        jobs=jobs,
        concurrency=concurrency,
        seconds=seconds,
        jobs_per_s=jobs / seconds,
        first_tenth_per_s=rate(starts[:tenth]),
        last_tenth_per_s=rate(starts[-tenth:]),
    )


# -- report -----------------------------------------------------------------------------------


def budget_seconds(calls: int, fleet: Fleet) -> float:
    """The least time a budget of ``calls`` takes at its rate: a window opens with its
    first call, so all but the last window's worth wait a whole window each."""
    return max(0, math.ceil(calls / fleet.limit) - 1) * fleet.period


def bound(runs: list[Run], fleet: Fleet, concurrency: int) -> None:
    """Fill each run's lower bound and ratio: the rate windows alone, no overhead."""
    for run in runs:
        seconds = [budget_seconds(c, fleet) for c in run.budget_calls]
        by_budget = max(seconds, default=0.0)
        by_slots = sum(seconds) / (run.workers * concurrency)
        run.lower_bound_s = max(by_budget, by_slots)
        run.lower_bound_by = "largest budget" if by_budget >= by_slots else "job slots"
        run.ratio = run.makespan_s / run.lower_bound_s if run.lower_bound_s else 0.0


def targets(runs: list[Run], queue: Drain) -> list[dict[str, Any]]:
    checks: list[tuple[str, float, bool]] = []
    for run in runs:
        if run.workers in (1, 2):
            name = f"N={run.workers}: makespan <= 1.2x lower bound"
            checks.append((name, run.ratio, run.ratio <= TARGET_RATIO))
    overlaps = sum(r.overlaps for r in runs)
    checks.append(("ownership overlaps == 0 (all N)", float(overlaps), overlaps == 0))
    wrong = sum(r.rows_lost + r.rows_unexpected + r.rows_different for r in runs)
    checks.append(("rows lost, duplicated or different == 0 (all N)", float(wrong), wrong == 0))
    name = f"queue of {queue.jobs:,}: jobs fetched/s >= 200"
    checks.append((name, queue.jobs_per_s, queue.jobs_per_s >= TARGET_FETCH_PER_S))
    return [
        {"target": n, "value": round(v, 3), "verdict": "PASS" if ok else "MISS"}
        for n, v, ok in checks
    ]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def report(fleet: Fleet, runs: list[Run], queue: Drain, checks: list[dict[str, Any]]) -> None:
    print(
        f"\nscaleout: {fleet.standalone:,} single-company budgets + {fleet.accountants} "
        f"accountants of {fleet.clients // fleet.accountants} clients, "
        f"{fleet.limit}/{fleet.period:g}s per budget"
    )
    print(
        "| N | makespan s | LB s (by) | ratio | req/s (steady) | pickup p50/p99 ms "
        "| cont. p50/p99 ms | 429s | window use | overlaps | rows exp/stored, lost/dup/diff "
        "| peak RSS MB | PG conns |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        use = "-" if r.budget_window_use is None else f"{r.budget_window_use:.1%}"
        print(
            f"| {r.workers} | {r.makespan_s:.1f} | {r.lower_bound_s:.1f} ({r.lower_bound_by}) "
            f"| {r.ratio:.2f}x | {r.requests_per_s:,.0f} ({r.steady_requests_per_s:,.0f}) "
            f"| {_ms(r.pickup_p50_ms)} / {_ms(r.pickup_p99_ms)} "
            f"| {_ms(r.continuation_pickup_p50_ms)} / {_ms(r.continuation_pickup_p99_ms)} "
            f"| {r.rate_limited} | {use} | {r.overlaps} "
            f"| {r.rows_expected:,}/{r.rows_stored:,}, {r.rows_lost}/{r.rows_unexpected}/"
            f"{r.rows_different} | {', '.join(f'{m:.0f}' for m in r.peak_rss_mb)} "
            f"| {r.peak_connections} |"
        )
    print(
        f"\nqueue of {queue.jobs:,} no-op jobs, concurrency {queue.concurrency}: "
        f"{queue.jobs_per_s:,.0f} jobs/s ({queue.seconds:.1f} s); first tenth "
        f"{queue.first_tenth_per_s:,.0f}/s, last tenth {queue.last_tenth_per_s:,.0f}/s"
    )
    for check in checks:
        print(f"{check['verdict']}  {check['target']}: {check['value']:,.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--slice", type=float, default=30.0, help="seconds per job")
    parser.add_argument("--queue", type=int, default=100_000, help="jobs in the deep queue")
    parser.add_argument("--standalone", type=int, default=FULL.standalone, metavar="N")
    parser.add_argument("--clients", type=int, default=FULL.clients, metavar="N")
    parser.add_argument("--accountants", type=int, default=FULL.accountants, metavar="N")
    parser.add_argument("--limit", type=int, default=FULL.limit, help="calls per window")
    parser.add_argument("--period", type=float, default=FULL.period, help="window seconds")
    parser.add_argument("--quick", action="store_true", help="a small fleet, N = 1 and 2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C: children stopped, databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    fleet = replace(
        QUICK
        if args.quick
        else replace(
            FULL, standalone=args.standalone, clients=args.clients, accountants=args.accountants
        ),
        limit=args.limit,
        period=args.period,
    )
    counts = [1, 2] if args.quick else sorted(set(args.workers))
    if 1 not in counts:
        parser.error("--workers must include 1: the lower bound is measured there")
    limit = 60.0 if args.quick else 1800.0
    runs = []
    for n in counts:
        runs.append(run_one(fleet, n, args.concurrency, args.slice, limit))
        print(f"N={n}: {runs[-1].makespan_s:.1f} s", file=sys.stderr, flush=True)
    bound(runs, fleet, args.concurrency)
    queue = drain(QUICK_QUEUE if args.quick else args.queue, args.concurrency)
    checks = targets(runs, queue)
    report(fleet, runs, queue, checks)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "fleet": asdict(fleet),
        "concurrency": args.concurrency,
        "slice_s": args.slice,
        "lower_bound": "max(the largest budget's time, the sum of budgets' times / "
        "(N x concurrency)); a budget's time = (ceil(calls / limit) - 1) x period; calls = "
        "let through by the simulator (429s not counted)",
        "runs": [
            {k: v for k, v in asdict(r).items() if k not in ("samples", "budget_calls")}
            for r in runs
        ],
        "queue": asdict(queue),
        "targets": checks,
    }
    (args.out / "scaleout.json").write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
