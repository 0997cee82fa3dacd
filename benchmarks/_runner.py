"""Running contenders against one simulator: subprocesses, server-side counts, medians.

A `Bench` owns one portfolio simulator (``_simulator.py``, serving a uniform `Workload`
or a `FieldWorkload`) and a scratch directory. Each
`Bench.run` starts ``_contenders.py`` in a fresh subprocess, and reads what the server
saw during it (its request stamps) to count requests and 429s and to measure how much of
each rate-limit window was used. `summarize` reduces the rounds to medians.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import yarl
from _contenders import MISSING
from _simulator import Simulator, Stamp, basic, create_session, read_stamps
from _workload import FieldWorkload, Spec, Workload, resource

__all__ = [
    "PG_URL",
    "Bench",
    "Run",
    "Summary",
    "Target",
    "source_commit",
    "summarize",
    "utilisation",
]

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_CONTENDERS = Path(__file__).parent / "_contenders.py"


@dataclass(frozen=True)
class Target:
    """One figure the engine is held to."""

    name: str
    measured: str
    goal: str
    #: ``None``: not measured in this run (a contender skipped).
    passed: bool | None

    def line(self) -> str:
        """``PASS  name: measured (target goal)``, or MISS, or SKIP."""
        status = "SKIP" if self.passed is None else "PASS" if self.passed else "MISS"
        return f"{status}  {self.name}: {self.measured} (target {self.goal})"


@dataclass
class Run:
    """One contender's run, as its subprocess and the server saw it."""

    contender: str
    variant: str
    round: int
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    records: int = 0
    expected: int = 0
    peak_rss_mb: float = 0.0
    requests: int = 0
    rate_limited: int = 0
    #: Mean share of the rate limit used per window (the run's last window left out).
    utilisation: float | None = None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    """A contender's median over its rounds (429s and errors: totals)."""

    contender: str
    variant: str
    rounds: int
    records_per_second: float
    requests_per_second: float
    cpu_us_per_request: float
    peak_rss_mb: float
    rate_limited: int
    utilisation: float | None
    wall_seconds: float
    records: int
    errors: int


def utilisation(stamps: list[Stamp], limit: int, period: float) -> float | None:
    """Calls let through per fixed window over ``limit``, averaged over the complete
    windows. Windows are replayed as the simulator keeps them: one opens at the first
    call after the previous one ended."""
    used: list[int] = []
    end = float("-inf")
    for at, status in stamps:
        if at >= end:
            end = at + period
            used.append(0)
        used[-1] += status != 429
    complete = used[:-1] or used
    return sum(complete) / (limit * len(complete)) if complete else None


def summarize(runs: list[Run]) -> list[Summary]:
    """Medians per (variant, contender), in first-seen order."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.variant, run.contender), []).append(run)
    out = []
    for (variant, contender), group in groups.items():
        # A run that failed outright has no time to divide by; it counts as errors only.
        good = [r for r in group if r.wall_seconds > 0] or [Run(contender, variant, 0)]
        wall = [max(r.wall_seconds, 1e-9) for r in good]
        util = [r.utilisation for r in good if r.utilisation is not None]
        out.append(
            Summary(
                contender=contender,
                variant=variant,
                rounds=len(group),
                records_per_second=statistics.median(
                    r.records / w for r, w in zip(good, wall, strict=True)
                ),
                requests_per_second=statistics.median(
                    r.requests / w for r, w in zip(good, wall, strict=True)
                ),
                cpu_us_per_request=statistics.median(
                    r.cpu_seconds / max(r.requests, 1) * 1e6 for r in good
                ),
                peak_rss_mb=statistics.median(r.peak_rss_mb for r in good),
                rate_limited=sum(r.rate_limited for r in group),
                utilisation=statistics.median(util) if util else None,
                wall_seconds=statistics.median(r.wall_seconds for r in good),
                records=int(statistics.median(r.records for r in good)),
                errors=sum(len(r.errors) for r in group),
            )
        )
    return out


class Bench:
    """One simulator serving ``workload``, and the contender runs against it."""

    def __init__(
        self, workload: Workload | FieldWorkload, *, variants: Iterable[bool] = (False,)
    ) -> None:
        self.workload = workload
        self.field = isinstance(workload, FieldWorkload)
        self.scratch = Path(tempfile.mkdtemp(prefix="tripletex-portfolio-"))
        self.missing: set[str] = set()
        self._count = 0
        began = time.perf_counter()
        # The field is served as Tripletex serves it: inactive and closed rows hidden
        # unless asked for (every field contender asks for each partition).
        flags = workload.simulator_flags()
        self.simulator = Simulator(flags, portfolio=True, default_filters=self.field)
        self.env = self.simulator.exports
        self.api = self.env["TRIPLETEX_BASE_URL"]
        self.companies = asyncio.run(self._prepare(list(variants)))
        self.startup_seconds = time.perf_counter() - began

    def close(self) -> None:
        """Stop the simulator, remove the scratch directory."""
        self.simulator.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def target(self, contender: str) -> tuple[str, str]:
        """A fresh destination (file or PostgreSQL URL) and schema for one run."""
        self._count += 1
        if contender == "engine-postgres":
            return PG_URL, f"bench_{os.getpid()}_{self._count}"
        suffix = "duckdb" if contender.startswith("dlt") else "db"
        folder = self.scratch / f"run{self._count}"
        folder.mkdir()
        return str(folder / f"{contender}.{suffix}"), ""

    def drop(self, target: str, schema: str) -> None:
        """Remove a run's destination."""
        if schema:
            import psycopg

            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        else:
            shutil.rmtree(Path(target).parent, ignore_errors=True)

    def run(
        self,
        contender: str,
        *,
        variant: str = "full",
        round_no: int = 0,
        companies: list[int] | None = None,
        target: tuple[str, str] | None = None,
        keep: bool = False,
        timeout: float = 3600,
        expected: int | None = None,
    ) -> Run | None:
        """One run in its own subprocess; ``None`` when the contender's package is missing.

        The destination is removed afterwards unless ``keep`` (then the caller drops it).
        ``expected``: records it must store (default: the uniform workload's share).
        """
        if contender in self.missing:
            return None
        chosen = self.companies if companies is None else companies
        where, schema = target or self.target(contender)
        spec = Spec(
            contender=contender,
            api=self.api,
            consumer_token=self.env["TRIPLETEX_CONSUMER_TOKEN"],
            employee_token=self.env["TRIPLETEX_EMPLOYEE_TOKEN"],
            companies=chosen,
            page_size=self.workload.page_size,
            narrow=variant == "narrow",
            target=where,
            schema=schema,
            field=self.field,
            resources=self.workload.synced if isinstance(self.workload, FieldWorkload) else (),
        )
        if expected is None:
            assert isinstance(self.workload, Workload), "a field run says what it expects"
            expected = len(chosen) * self.workload.records_per_company
        run = Run(contender, variant, round_no, expected=expected)
        _, first = read_stamps(self.api, sys.maxsize)
        try:
            done = subprocess.run(
                [sys.executable, str(_CONTENDERS), spec.to_json()],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        finally:
            stamps, _ = read_stamps(self.api, first)
            if not keep:
                self.drop(where, schema)
        if done.returncode == MISSING:
            self.missing.add(contender)
            print(f"  skipped {contender}: {done.stderr.strip()}", file=sys.stderr)
            return None
        self._fill(run, done, stamps)
        return run

    def _fill(self, run: Run, done: subprocess.CompletedProcess[str], stamps: list[Stamp]) -> None:
        run.requests = len(stamps)
        run.rate_limited = sum(status == 429 for _, status in stamps)
        if self.workload.rate_limit:
            limit, _, period = self.workload.rate_limit.partition("/")
            run.utilisation = utilisation(stamps, int(limit), float(period))
        lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            tail = done.stderr.strip().splitlines()[-3:]
            run.errors.append(f"exit {done.returncode}: " + " | ".join(tail))
            return
        result: dict[str, Any] = msgspec.json.decode(lines[-1].removeprefix("RESULT "))
        run.wall_seconds = result["wall_seconds"]
        run.cpu_seconds = result["cpu_seconds"]
        run.records = result["records"]
        run.peak_rss_mb = result["peak_rss_mb"]
        run.errors.extend(result["errors"])
        if run.records != run.expected:
            run.errors.append(f"stored {run.records} of {run.expected} records")

    async def _prepare(self, variants: list[bool]) -> list[int]:
        """The client companies; then every page every contender will ask for, fetched
        once, so that the simulator's page cache holds them before any run is timed
        (a uniform workload without a rate limit only: warming would spend the budget)."""
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as http:
            token = await create_session(http, self.api, self.env)
            url = yarl.URL(f"{self.api}/company/%3EwithLoginAccess", encoded=True)
            params: dict[str, str | int] = {"count": 10000, "fields": "id"}
            headers = {"Authorization": basic(0, token)}
            async with http.get(url, params=params, headers=headers) as response:
                response.raise_for_status()
                ids = [int(c["id"]) for c in (await response.json(content_type=None))["values"]]
            workload = self.workload
            if isinstance(workload, Workload) and not workload.rate_limit:
                await self._warm(http, token, ids, workload, variants)
        return ids

    async def _warm(
        self,
        http: aiohttp.ClientSession,
        token: str,
        ids: list[int],
        workload: Workload,
        variants: list[bool],
    ) -> None:
        size = workload.page_size
        last = workload.records_per_company + size
        # The baselines' one query, and the engine's one per partition (it asks for the
        # inactive customers Tripletex hides by default on their own): unwarmed, they
        # cost the simulator ~4 s of a core during whichever engine run came first.
        filters = [{}, *(dict(p.params) for p in resource(False).partitions if p.params)]
        jobs = [
            (company, fields, where, offset, offset == 0 and first)
            for company in ids
            for fields in {resource(narrow).fields() for narrow in variants}
            for where in filters
            for offset in range(0, last + 1, size)
            for first in (False, True)
            if offset == 0 or not first
        ]
        limit = asyncio.Semaphore(32)

        async def warm(
            company: int, fields: str, where: dict[str, str], offset: int, ask_digest: bool
        ) -> None:
            query: dict[str, str | int] = {
                **where,
                "fields": fields,
                "sorting": "id",
                "from": offset,
                "count": size,
            }
            headers = {"Authorization": basic(company, token)}
            if ask_digest:
                headers["If-None-Match"] = "0"
            async with (
                limit,
                http.get(f"{self.api}/customer", params=query, headers=headers) as response,
            ):
                await response.read()

        await asyncio.gather(*(warm(*job) for job in jobs))


def source_commit() -> str | None:
    """The commit the benchmark ran (``git describe --always --dirty``), for its JSON;
    ``None`` outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None
