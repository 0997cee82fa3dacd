"""The field regime of ``portfolio.py --scenario field``: the portfolio, its lower bound
and the figures each contender is measured by (its naive loop: ``_field_naive.py``).

The field is not the backfill's uniform portfolio: one accountant token reaches a hundred
client companies of every size (most small, a few with over 10,000 postings a year, some
empty), every one of the 17 synced resources is read, and Tripletex's rate budget (100
calls per 6 s) rather than the CPU limits how fast. The simulator serves the portfolio its
own command line describes (`FieldWorkload.portfolio_flags`); this module generates the
same one in-process to count the rows of every unit, a (company, resource, date window,
partition) query as the engine plans them, and from them the least any client could do:

    requests = 1 session + 1 company list + sum over units of max(1, ceil(rows / 10,000))
    seconds  = requests / (limit / period)
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
import msgspec
from _runner import Bench, Run, Target
from _simulator import basic, today
from _workload import FieldWorkload

from tripletex_async import RESOURCES, Resource, default_date_range
from tripletex_async.engine._resources import Partition
from tripletex_async.testing import (
    FakeRequest,
    FakeTripletex,
    Faults,
    FullResultSize,
    PortfolioConfig,
    generate_portfolio,
)
from tripletex_async.testing import _cli as cli

__all__ = [
    "FieldRow",
    "LowerBound",
    "UnitRows",
    "count_units",
    "field_lines",
    "field_round",
    "field_rows",
    "field_targets",
    "field_workload",
    "lower_bound",
]

#: Tripletex's largest ``count`` and its result-set cap: one request reads at most this.
MAX_PAGE = 10_000
ENGINE = "engine-sqlite"
#: The engine again, on its own file, with nothing changed: a nightly run.
RERUN = "engine-rerun"


#: (company id, name, records per resource) of every client, as `Portfolio.summary` has it.
Summary = list[tuple[int, str, dict[str, int]]]


def portfolio_config(workload: FieldWorkload) -> PortfolioConfig:
    """The portfolio the simulator generates from the workload's flags (its own reading)."""
    return cli.portfolio_config(cli.build_parser().parse_args(workload.portfolio_flags()))


@dataclass(frozen=True, slots=True)
class UnitRows:
    """One unit of work and the rows the simulator serves for it."""

    company: int
    resource: str
    #: ``2025-01-01..2026-01-01``, or ``all`` for an undated resource.
    window: str
    #: ``isInactive=true``, or ``""`` for a resource read in one query.
    partition: str
    rows: int

    @property
    def requests(self) -> int:
        """The fewest requests that read it: whole pages of 10,000."""
        return max(1, math.ceil(self.rows / MAX_PAGE))


@dataclass(frozen=True, slots=True)
class LowerBound:
    """The least any client could do against the field portfolio."""

    units: int
    records: int
    requests: int
    seconds: float


def unit_queries(
    res: Resource, day: date, parents: Sequence[int] = ()
) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(window, partition, path, params but ``from``/``count``) of a resource's units:
    for a child list, one per parent id (``parents``)."""
    windows = res.windows(*default_date_range(day), day)
    parts = res.partitions
    if res.parent is not None:
        param = res.parent.param
        parts = tuple(Partition(f"{param}={i}", {param: str(i)}) for i in parents)
    for part in parts:
        for window in windows:
            path, params = res.locate(res.query(part, window, 1))
            yield str(window), part.name, path, params


def count_units(workload: FieldWorkload, day: date | None = None) -> tuple[Summary, list[UnitRows]]:
    """Every unit's rows, counted by an in-process simulator answering each unit's query
    on the portfolio generated here as the simulator process does; and that portfolio's
    summary, to check the simulator process against (the records are let go)."""
    portfolio = generate_portfolio(portfolio_config(workload))
    # The served config, minus what would slow or refuse a count: latency, the budget,
    # an inexact fullResultSize and the 10,000-row cap.
    served = cli.fake_config(cli.build_parser().parse_args(workload.portfolio_flags()))
    config = replace(
        served,
        rate_limit=None,
        faults=Faults(),
        full_result_size=FullResultSize.EXACT,
        result_cap=2**62,
    )
    fake = FakeTripletex(portfolio, config)
    return portfolio.summary(), anyio.run(_count, fake, day or today(), workload.synced)


async def _count(fake: FakeTripletex, day: date, resources: Sequence[str]) -> list[UnitRows]:
    tokens = fake.credentials
    body = {
        "consumerToken": tokens.consumer_token,
        "employeeToken": tokens.employee_token,
        "expirationDate": (day + timedelta(days=2)).isoformat(),
    }
    created = await fake.handle(
        FakeRequest("POST", "/v2/token/session/:create", body=msgspec.json.encode(body))
    )
    token = msgspec.json.decode(created.body)["value"]["token"]
    out = []
    for company in fake.portfolio.company_ids():
        auth = {"authorization": basic(company, token)}

        async def ask(
            path: str, params: dict[str, Any], what: str, auth: dict[str, str] = auth
        ) -> Any:
            answer = await fake.handle(FakeRequest("GET", f"/v2{path}", urlencode(params), auth))
            if answer.status != 200:
                raise RuntimeError(f"counting {what}: {answer.body[:200]!r}")
            return msgspec.json.decode(answer.body)

        for name in resources:
            res, parents = RESOURCES[name], []
            if res.parent is not None:
                # The parents' ids, read as the engine reads them: one unit per partition.
                parent = RESOURCES[res.parent.resource]
                for part in parent.partitions:
                    query = parent.ids_query(part, MAX_PAGE)
                    found = await ask(parent.path, query, f"{name} parents")
                    parents += [v["id"] for v in found["values"]]
                    # One request for the ids (no records stored): 0 rows, 1 request.
                    out.append(UnitRows(company, name, "parents", part.name, 0))
            for window, partition, path, params in unit_queries(res, day, parents):
                fields = "id" if res.key == "id" else res.key.split(".")[0]
                found = await ask(
                    path, {**params, "fields": fields, "count": 0}, f"{name} {window}"
                )
                rows = int(found["fullResultSize"])
                out.append(UnitRows(company, name, window, partition, rows))
    return out


def lower_bound(units: list[UnitRows], limit: int, period: float) -> LowerBound:
    """1 session + 1 company list + each unit in whole pages of 10,000, at the budget."""
    requests = 2 + sum(u.requests for u in units)
    records = sum(u.rows for u in units)
    return LowerBound(len(units), records, requests, requests / (limit / period))


# -- runs ------------------------------------------------------------------------------


def field_workload(
    quick: bool, companies: int | None, scale: float | None, latency_ms: float, limit: str | None
) -> FieldWorkload:
    """The scenario's portfolio: 100 companies, a tenth empty, one in 25 heavy; with
    ``quick`` three (one empty, one heavy) of a fiftieth the size, and a wider budget."""
    if quick:
        return FieldWorkload(
            companies=companies or 3,
            empty_companies=1,
            heavy_companies=1,
            scale=0.02 if scale is None else scale,
            latency_ms=latency_ms,
            rate_limit=limit or "50/0.25",
        )
    companies = companies or 100
    return FieldWorkload(
        companies=companies,
        empty_companies=companies // 10,
        heavy_companies=max(1, companies // 25),
        scale=1.0 if scale is None else scale,
        latency_ms=latency_ms,
        rate_limit=limit or "100/6",
    )


def field_round(
    bench: Bench, contenders: list[str], variant: str, round_no: int, expected: int
) -> list[Run]:
    """Each contender from a fresh rate window; the engine's file is kept for its
    unchanged rerun (contender ``engine-rerun``), then dropped."""
    workload = bench.workload
    assert isinstance(workload, FieldWorkload)
    runs = []
    for contender in contenders:
        target = bench.target(contender)
        for name in [contender, RERUN] if contender == ENGINE else [contender]:
            time.sleep(workload.fresh_window)
            run = bench.run(
                contender,
                variant=variant,
                round_no=round_no,
                target=target,
                keep=True,
                expected=expected,
            )
            if run is None:
                break
            run.contender = name
            runs.append(run)
            print(
                f"  {variant} {name}: {run.wall_seconds:.1f} s, {run.records:,} records,"
                f" {run.requests:,} requests, {run.rate_limited} 429s, errors: {run.errors[:2]}",
                file=sys.stderr,
            )
        bench.drop(*target)
    return runs


# -- figures ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One contender's figures in one variant (medians over its rounds)."""

    variant: str
    contender: str
    wall_seconds: float
    records: int
    requests: int
    rate_limited: int
    #: Calls let through (429s spend no budget) over what the budget allowed in the wall
    #: time: requests / (wall / period * limit).
    budget: float
    records_per_second: float
    #: Requests and wall time over the lower bound's.
    requests_vs_bound: float
    wall_vs_bound: float
    errors: int


def field_rows(runs: Sequence[Run], bound: LowerBound, limit: int, period: float) -> list[FieldRow]:
    """The figures of each (variant, contender), in first-seen order."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.variant, run.contender), []).append(run)
    out = []
    for (variant, contender), group in groups.items():
        good = [r for r in group if r.wall_seconds > 0] or group
        wall = statistics.median(max(r.wall_seconds, 1e-9) for r in good)
        requests = int(statistics.median(r.requests for r in good))
        limited = int(statistics.median(r.rate_limited for r in good))
        records = int(statistics.median(r.records for r in good))
        out.append(
            FieldRow(
                variant=variant,
                contender=contender,
                wall_seconds=wall,
                records=records,
                requests=requests,
                rate_limited=limited,
                budget=(requests - limited) / (wall / period * limit),
                records_per_second=records / wall,
                requests_vs_bound=requests / bound.requests,
                wall_vs_bound=wall / bound.seconds,
                errors=sum(len(r.errors) for r in group),
            )
        )
    return out


def field_lines(workload: FieldWorkload, bound: LowerBound, rows: list[FieldRow]) -> list[str]:
    """The report: the portfolio, the lower bound, the figures, the unchanged reruns."""
    w = workload
    limit, period = w.limit
    lines = [
        f"\n== field: {w.companies} companies ({w.empty_companies} empty, {w.heavy_companies}"
        f" heavy, scale {w.scale:g}), {len(w.synced)} resources, {bound.records:,}"
        f" records in {bound.units:,} units; {limit} calls / {period:g} s;"
        f" {w.latency_ms:g} ms per request plus the variant's cost per row",
        f"lower bound: {bound.requests:,} requests (1 session, 1 company list, each unit in"
        f" pages of 10,000), {bound.seconds:.1f} s at the budget",
        *_table(rows),
    ]
    at_budget = bound.units / (limit / period)
    for r in rows:
        if r.contender == RERUN:
            lines.append(
                f"unchanged rerun ({r.variant}): {r.requests:,} requests for {bound.units:,}"
                f" units ({r.requests / bound.units:.2f} per unit), {r.wall_seconds:.1f} s"
                f" ({r.wall_seconds / at_budget:.2f}x one request per unit at the budget)"
            )
    return lines


def _table(rows: list[FieldRow]) -> list[str]:
    lines = [
        f"{'variant':<12} {'contender':<13} {'wall s':>8} {'records':>9} {'requests':>8}"
        f" {'429s':>5} {'budget':>7} {'records/s':>9} {'req/LB':>7} {'wall/LB':>7}"
        f" {'errors':>6}"
    ]
    for r in rows:
        # A rerun stores nothing new: records are what its file holds, at no rate.
        speed = "-" if r.contender == RERUN else f"{r.records_per_second:,.0f}"
        lines.append(
            f"{r.variant:<12} {r.contender:<13} {r.wall_seconds:>8.1f} {r.records:>9,}"
            f" {r.requests:>8,} {r.rate_limited:>5} {r.budget:>7.1%}"
            f" {speed:>9} {r.requests_vs_bound:>6.2f}x"
            f" {r.wall_vs_bound:>6.2f}x {r.errors:>6}"
        )
    return lines


def field_targets(rows: list[FieldRow], variant: str, units: int) -> list[Target]:
    """What the engine is held to in one variant: its backfill against the lower bound,
    its unchanged rerun against one request per unit (``units``)."""
    by = {r.contender: r for r in rows if r.variant == variant}
    engine, naive, rerun = by.get(ENGINE), by.get("naive"), by.get(RERUN)
    again = []
    if rerun is not None:
        per_unit = (rerun.requests - 2) / max(units, 1)
        again.append(
            Target(
                f"{variant}: rerun requests per unit (1: one checksum each)",
                f"{per_unit:.2f}",
                "<= 1.05",
                rerun.errors == 0 and per_unit <= 1.05,
            )
        )
    if engine is None:
        return [Target(f"{variant}: engine", "not run", "-", None)]
    ok = engine.errors == 0
    ratio = None
    if naive is not None and naive.records_per_second > 0:
        ratio = engine.records_per_second / naive.records_per_second
    return [
        Target(
            f"{variant}: engine requests / lower bound",
            f"{engine.requests_vs_bound:.2f}x",
            "<= 1.1x",
            ok and engine.requests_vs_bound <= 1.1,
        ),
        Target(
            f"{variant}: engine wall / lower-bound time",
            f"{engine.wall_vs_bound:.2f}x",
            "<= 1.15x",
            ok and engine.wall_vs_bound <= 1.15,
        ),
        Target(
            f"{variant}: engine vs naive records/s",
            "not run" if ratio is None else f"{ratio:.2f}x",
            ">= 3x",
            None if ratio is None else ok and ratio >= 3,
        ),
        Target(f"{variant}: engine 429s", str(engine.rate_limited), "0", engine.rate_limited == 0),
        *again,
    ]
