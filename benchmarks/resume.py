"""A sync resumed after a SIGKILL: how much of the killed run's work it does again.

What it measures: the field portfolio (``portfolio.py --scenario field``: 100 client
companies of every size under one accountant token, all 17 resources; with ``--quick``
3 companies of a fiftieth the size) served by the simulator in its own process at
``--rate-limit`` (default the field's 100 calls per 6 s; 50 per 0.25 s with ``--quick``),
``--latency`` ms per request (default 50; 5 with ``--quick``) and ``--row-cost-us`` per
row (default 0), and ``python -m tripletex_async.cli sync --all-companies --sink
sqlite:///...`` run against it, each run from a fresh rate window, over the engine's
default date range (1 January last year to 1 January next year in Oslo, given as flags so
that every run reads the same windows):

1. a reference run into a fresh file, to its end: R requests;
2. per ``--kill-at`` fraction F (default 0.44), a run into another fresh file, SIGKILLed
   once the server has answered F x R of its requests: K requests (counted once no
   more answers come, so the requests in flight at the kill are in);
3. the same command on the killed run's file, to its end: S requests; then the file must
   hold exactly what the reference's holds (the same ids and data per table and
   company): a resume that loses rows fails whatever it cost.

Requests are every ``/v2/`` request the server answered (``/_bench/stamps``), session,
who-am-I, company list and 429s included. Per fraction: R, K, R - K (left undone),
S, S / (R - K) and S / R, rows the killed run kept, wall seconds of each run (process
start to exit, or to the SIGKILL); and where the excess S - (R - K) comes from, estimated
from the reports (``--report-json``) of the reference and of the resume per company and
resource (`_resume.Attribution`).

Target (the issue "Cheaper resume"): a resume after a kill makes at most 1.15x the
requests the killed run left undone, S / (R - K) <= 1.15, with the data exact.

Prints a table and writes ``results/resume.json`` (``--out``).
Run: ``python benchmarks/resume.py [--quick] [--kill-at 0.25 0.44 0.75] [--companies 100]
[--scale 1] [--rate-limit 100/6] [--latency 50] [--row-cost-us 0] [--keep]`` (~6.5 min
with one fraction, 2 to 3 min more per further fraction; ``--quick``: ~10 s).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from _field import field_workload
from _resume import (
    CliSync,
    KilledState,
    Leg,
    ServerCount,
    attribute,
    compare,
    contents,
    killed_state,
    run_killed,
    run_to_end,
)
from _runner import Bench, Target, source_commit
from _simulator import machine, today
from _workload import FieldWorkload

from tripletex_async import default_date_range

RESULTS = Path(__file__).parent / "results"
#: The issue's target: requests of the resume over what the killed run left undone.
GOAL = 1.15
#: The largest page Tripletex serves: the slowest answer is one of these.
MAX_ROWS = 10_000


@dataclass
class ResumeRow:
    """One kill fraction's figures."""

    kill_at: float
    #: R, K, R - K and S: requests of the reference, the killed run, left undone, resume.
    reference: int
    killed: int
    undone: int
    resumed: int
    #: S / (R - K) (``None`` if nothing was left undone) and S / R; K / R.
    resumed_vs_undone: float | None
    resumed_vs_reference: float
    killed_share: float
    #: Requests counted when the SIGKILL was sent, and answered after it (in flight).
    killed_at_signal: int | None
    answered_after_kill: int | None
    #: Rows the killed run's file held, and their share of the reference's.
    records_kept: int
    records_kept_share: float
    wall_reference: float
    wall_killed: float
    wall_resumed: float
    rate_limited_resumed: int
    #: Whether the resumed file holds exactly the reference's rows; the differences.
    data_matched: bool
    mismatches: list[str] = field(default_factory=list)
    killed_state: dict[str, int] = field(default_factory=dict)
    #: `_resume.Attribution` of the excess S - (R - K), or ``None``.
    attribution: dict[str, int] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Killed, resumed to the end and exact."""
        return self.data_matched and not self.errors


def measure(
    bench: Bench,
    workload: FieldWorkload,
    fractions: list[float],
    dates: tuple[date, date],
    scratch: Path,
) -> tuple[Leg, list[Leg], list[ResumeRow]]:
    """The reference run, then a killed and a resumed run per fraction."""
    limit, period = workload.limit
    gap = workload.fresh_window
    slowest = (workload.latency_ms / 1e3) + workload.latency_per_row_us * MAX_ROWS / 1e6
    settle = max(gap, slowest + 0.5)
    poll = max(0.002, min(0.02, period / limit / 2))
    sync = CliSync(
        bench.api,
        bench.env["TRIPLETEX_CONSUMER_TOKEN"],
        bench.env["TRIPLETEX_EMPLOYEE_TOKEN"],
        *dates,
    )
    server = ServerCount(bench.api)
    (scratch / "reference").mkdir()
    reference_db = scratch / "reference" / "sync.db"
    time.sleep(gap)
    reference = run_to_end(sync, server, reference_db, "reference")
    _say(reference)
    if reference.errors:
        raise SystemExit(f"the reference run failed: {reference.errors}")
    want = contents(reference_db)
    legs, rows = [reference], []
    for number, fraction in enumerate(fractions, 1):
        folder = scratch / f"kill{number}"
        folder.mkdir()
        db = folder / "sync.db"
        threshold = max(1, math.ceil(fraction * reference.requests))
        time.sleep(gap)
        killed = run_killed(sync, server, db, fraction, threshold, poll=poll, settle=settle)
        _say(killed)
        state = killed_state(db)
        # `run_killed` waited `settle` >= a rate window: the resume starts a fresh one.
        resumed = run_to_end(sync, server, db, "resumed", fraction)
        _say(resumed)
        mismatches = compare(want, reference_db, contents(db), db)
        legs += [killed, resumed]
        rows.append(_row(fraction, reference, killed, resumed, state, mismatches))
        shutil.rmtree(folder, ignore_errors=True)
    return reference, legs, rows


def _say(leg: Leg) -> None:
    what = f"  {leg.kind}" + ("" if leg.kill_at is None else f" ({leg.kill_at:g})")
    at = "" if leg.requests_at_kill is None else f", killed at {leg.requests_at_kill:,}"
    errors = f", errors: {leg.errors[:2]}" if leg.errors else ""
    print(
        f"{what}: {leg.wall_seconds:.1f} s, {leg.requests:,} requests{at},"
        f" {leg.records:,} rows{errors}",
        file=sys.stderr,
    )


def _row(
    fraction: float,
    reference: Leg,
    killed: Leg,
    resumed: Leg,
    state: KilledState,
    mismatches: list[str],
) -> ResumeRow:
    undone = reference.requests - killed.requests
    blame = attribute(reference, killed, resumed)
    return ResumeRow(
        kill_at=fraction,
        reference=reference.requests,
        killed=killed.requests,
        undone=undone,
        resumed=resumed.requests,
        resumed_vs_undone=resumed.requests / undone if undone > 0 else None,
        resumed_vs_reference=resumed.requests / reference.requests,
        killed_share=killed.requests / reference.requests,
        killed_at_signal=killed.requests_at_kill,
        answered_after_kill=killed.answered_after_kill,
        records_kept=killed.records,
        records_kept_share=killed.records / max(reference.records, 1),
        wall_reference=reference.wall_seconds,
        wall_killed=killed.wall_seconds,
        wall_resumed=resumed.wall_seconds,
        rate_limited_resumed=resumed.rate_limited,
        data_matched=not mismatches and resumed.records == reference.records,
        mismatches=mismatches[:20],
        killed_state=asdict(state),
        attribution=None if blame is None else asdict(blame),
        errors=killed.errors + resumed.errors,
    )


def targets(rows: list[ResumeRow]) -> list[Target]:
    """Per fraction: the data exact, and the resume's requests over what was left."""
    out = []
    for r in rows:
        name = f"kill at {r.kill_at:.0%}"
        out.append(
            Target(
                f"{name}: resumed file = reference file",
                "same rows" if r.data_matched else f"{len(r.mismatches)} differences",
                "same ids and data",
                r.data_matched,
            )
        )
        ratio = r.resumed_vs_undone
        out.append(
            Target(
                f"{name}: resumed requests / left undone",
                "-" if ratio is None else f"{ratio:.2f}x ({r.resumed:,} / {r.undone:,})",
                f"<= {GOAL:g}x",
                None if ratio is None else r.ok and ratio <= GOAL,
            )
        )
    return out


def lines(workload: FieldWorkload, reference: Leg, rows: list[ResumeRow]) -> list[str]:
    """The report: the portfolio, the reference, the table, where the excess comes from."""
    w = workload
    limit, period = w.limit
    out = [
        f"\n== resume: {w.companies} companies ({w.empty_companies} empty,"
        f" {w.heavy_companies} heavy, scale {w.scale:g}), {limit} calls / {period:g} s,"
        f" {w.latency_ms:g} ms per request + {w.latency_per_row_us:g} us per row",
        f"reference: {reference.requests:,} requests ({reference.data_requests} for data),"
        f" {reference.records:,} rows, {reference.wall_seconds:.1f} s",
        f"{'kill at':>7} {'R':>6} {'K':>6} {'R-K':>6} {'S':>6} {'S/(R-K)':>8} {'S/R':>6}"
        f" {'K/R':>6} {'rows kept':>9} {'wall R':>7} {'wall K':>7} {'wall S':>7}"
        f" {'429s S':>6} {'data':>5}",
    ]
    for r in rows:
        ratio = "-" if r.resumed_vs_undone is None else f"{r.resumed_vs_undone:.2f}x"
        out.append(
            f"{r.kill_at:>7.0%} {r.reference:>6,} {r.killed:>6,} {r.undone:>6,} {r.resumed:>6,}"
            f" {ratio:>8} {r.resumed_vs_reference:>6.1%} {r.killed_share:>6.1%}"
            f" {r.records_kept_share:>9.1%} {r.wall_reference:>7.1f} {r.wall_killed:>7.1f}"
            f" {r.wall_resumed:>7.1f} {r.rate_limited_resumed:>6}"
            f" {'same' if r.data_matched else 'DIFF':>5}"
        )
    for r in rows:
        head = f"kill at {r.kill_at:.0%}:"
        s = r.killed_state
        out.append(
            f"{head} killed at {r.killed_at_signal} requests, {r.answered_after_kill} answered"
            f" after the kill; its file: {s['complete_windows']} windows complete,"
            f" {s['partial_windows']} cut off ({s['rows_in_partial']:,} rows in those)"
        )
        a = r.attribution
        if a is not None:
            out.append(
                f"{head} excess S-(R-K) {a['excess']:+,} = resume overhead {a['overhead']}"
                f" + killed work lost {a['lost']:+,} ({a['in_flight']} in flight at the kill,"
                f" the rest answered but not committed; killed work kept: {a['kept']:,})"
                f" + resume beyond the reference per company/resource {a['resume_extra']:,}"
            )
            out.append(
                f"{head} companies the resume asked nothing: {a['companies_done']}, some:"
                f" {a['companies_partly']}, all the reference did: {a['companies_redone']}"
            )
        out += [f"{head} {m}" for m in r.mismatches]
        out += [f"{head} error: {e}" for e in r.errors]
    return out


def print_targets(found: list[Target]) -> None:
    """PASS/MISS lines, as ``portfolio.py`` prints them."""
    for t in found:
        print(t.line())


def write_json(payload: dict[str, Any], out: Path) -> Path:
    """``out/resume.json``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "resume.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return path


def main() -> int:
    """Parse flags, start the simulator, run, report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 small companies, 50/0.25 s")
    parser.add_argument(
        "--kill-at",
        type=float,
        nargs="+",
        default=[0.44],
        metavar="F",
        help="kill once the server answered F x the reference's requests, one pair of"
        " runs each (default 0.44)",
    )
    parser.add_argument("--companies", type=int, help="default 100 (3 with --quick)")
    parser.add_argument("--scale", type=float, help="record counts x this (default 1)")
    parser.add_argument("--rate-limit", help="LIMIT/SECONDS (default 100/6; 50/0.25 quick)")
    parser.add_argument(
        "--latency", type=float, default=50.0, help="ms per request (default 50; 5 quick)"
    )
    parser.add_argument("--row-cost-us", type=float, default=0.0, help="us per row (default 0)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    args = parser.parse_args()
    if any(not 0 < f < 1 for f in args.kill_at):
        parser.error("--kill-at takes fractions between 0 and 1")
    if args.quick:
        args.latency = min(args.latency, 5.0)
    base = field_workload(args.quick, args.companies, args.scale, args.latency, args.rate_limit)
    workload = replace(base, latency_per_row_us=args.row_cost_us)
    began = time.perf_counter()
    # Every run reads the same windows, whatever the clock does meanwhile.
    dates = default_date_range(today())
    scratch = Path(tempfile.mkdtemp(prefix="tripletex-resume-"))
    bench = Bench(workload)
    try:
        reference, legs, rows = measure(bench, workload, args.kill_at, dates, scratch)
    finally:
        bench.close()
        if args.keep:
            print(f"kept {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    found = targets(rows)
    notes = [
        "requests: every /v2/ request the server answered (session, who-am-I, company"
        " list and 429s included); a killed run's count includes the answers to what it"
        " had in flight",
        "excess S-(R-K) = resume overhead + killed work lost + resume beyond the reference;"
        " kept and lost are estimates per company and resource from the --report-json of"
        " the reference and of the resume",
    ]
    print("\n".join(lines(workload, reference, rows)))
    print_targets(found)
    for note in notes:
        print(f"note: {note}")
    meta = machine(
        quick=args.quick,
        kill_at=args.kill_at,
        latency_ms=workload.latency_ms,
        row_cost_us=workload.latency_per_row_us,
        rate_limit=workload.rate_limit,
        date_range=[d.isoformat() for d in dates],
        commit=source_commit(),
        seconds=round(time.perf_counter() - began, 1),
    )
    payload = {
        "meta": meta,
        "scenario": "resume",
        "workload": asdict(workload),
        "reference": asdict(reference),
        "runs": [asdict(leg) for leg in legs],
        "rows": [asdict(r) for r in rows],
        "targets": [asdict(t) for t in found],
        "notes": notes,
    }
    write_json(payload, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
