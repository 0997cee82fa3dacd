"""What an analyst pays for our table layout: three queries on the synced tables, against
the same queries on fully materialized typed tables without the JSON.

What it measures: a portfolio of about 1,000,000 postings (100 client companies, 10
empty, 4 heavy, ``scale`` 2.5: 964,626 ``ledger/posting``, with the 67,500 accounts,
52,152 customers and 66,722 invoices they reference; ``--quick``: the simulator's
default 5 companies, 19,402 postings) synced the way a user would, `tripletex_async.sync`
of ``ledger/posting``, ``ledger/account``, ``customer`` and ``invoice`` of every company,
against the simulator in-process (`FakeTripletex` + `FakeTransport`: the sync's time
includes the simulator's serving, the same for every database; the records are generated
once before any sync, timed apart), into:

* SQLite (`SQLiteSink`);
* PostgreSQL (`PostgresSink`, a fresh schema dropped at the end) when
  ``postgresql://postgres@127.0.0.1:5432/test`` answers;
* DuckDB (``DuckDBSink``) when it can be imported; skipped with the reason otherwise.

Then, per database, the reference: each table copied without ``data`` (every other
column with its type and NOT NULL, the same primary key and indexes, rows in key order)
into a second file or schema under the same names, and three queries, written as an
analyst would, the same text on ours and on the reference:

(a) posting amounts summed by ``account_id`` and month of ``date``;
(b) the 20 customers with the largest invoiced amount (``invoice`` joined to
    ``customer``);
(c) one customer's invoices, looked up by the customer's name (a name only one customer
    has, the one with the most invoices).

Money is ``SUM(amount_minor)`` in SQLite, ``SUM(amount)`` elsewhere; the month is
``substr(date, 1, 7)`` in SQLite, ``date_trunc('month', date)`` in PostgreSQL and DuckDB.
Each query is run once (warm) and then ``--runs`` times (default 5; 3 for a query whose
warm run took over 10 s), ``execute`` + ``fetchall``; the median is reported. SQLite is
timed as the sync leaves it and again after ``ANALYZE`` (on both table sets);
PostgreSQL after ``VACUUM ANALYZE`` of both (what autovacuum would soon do; timing
before it races autovacuum). Every answer is compared, normalized, between ours and the
reference and across databases.

Target: each query on our tables takes at most 2.0x its time on the reference (PASS/MISS
per query, database and state). Reported also: sync time per database, the reference's
build time, and the bytes of each table on both sides.

Prints a table and writes ``results/analyst.json`` (``--out``).
Run: ``python benchmarks/analyst.py [--quick] [--only sqlite postgres duckdb]
[--companies 100] [--scale 2.5] [--runs 5] [--keep] [--out DIR]`` (~7 min with SQLite and
PostgreSQL, each sync ~2.5 min; ``--quick``:
~15 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import anyio
from _analyst import (
    QUERIES,
    RESOURCES,
    Database,
    DuckDatabase,
    Measured,
    PostgresDatabase,
    Query,
    SQLiteDatabase,
    choose_name,
    duckdb_sink_class,
    run_sync,
    time_query,
)
from _runner import PG_URL, Target, source_commit
from _simulator import machine

from tripletex_async.testing import Portfolio, PortfolioConfig, generate_portfolio

RESULTS = Path(__file__).parent / "results"
DATABASES = ("sqlite", "postgres", "duckdb")
#: Ours over the reference, per query: at most this.
GOAL = 2.0
MB = 1024 * 1024


@dataclass
class SyncRun:
    """One database's sync and reference build."""

    database: str
    seconds: float = 0.0
    records: int = 0
    expected: int = 0
    requests: int = 0
    reference_seconds: float = 0.0
    #: Bytes per table (indexes, TOAST included), ours and the reference.
    ours_bytes: dict[str, int] = field(default_factory=dict)
    reference_bytes: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class QueryRow:
    """One query on one database in one state, ours and the reference."""

    database: str
    state: str
    query: str
    title: str
    sql: str
    ours_ms: float
    reference_ms: float
    ratio: float
    rows: int
    #: Ours and the reference gave the same answer; the answer's digest.
    same: bool
    digest: str
    ours: dict[str, Any]
    reference: dict[str, Any]
    plans_differ: bool
    prepare_seconds: float = 0.0


def postgres_reachable() -> bool:
    """Whether PostgreSQL answers at `PG_URL`."""
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=2):
            return True
    except Exception:  # any failure means "not here"
        return False


def config_for(args: argparse.Namespace) -> PortfolioConfig:
    """The portfolio: ~1M postings, or the simulator's default office with ``--quick``."""
    if args.quick:
        return PortfolioConfig(seed=1, companies=args.companies or 5, scale=args.scale or 1.0)
    return PortfolioConfig(
        seed=1,
        companies=args.companies or 100,
        scale=args.scale or 2.5,
        heavy_companies=4,
        empty_companies=10,
    )


def generate(portfolio: Portfolio) -> tuple[dict[str, int], float]:
    """Every record of `RESOURCES`, generated before any sync; counts and seconds."""
    began = time.perf_counter()
    counts = dict.fromkeys(RESOURCES, 0)
    for company in portfolio.company_ids():
        for resource in RESOURCES:
            counts[resource] += len(portfolio.records(company, resource))
    return counts, time.perf_counter() - began


def databases(args: argparse.Namespace, scratch: Path) -> tuple[list[Database], list[str]]:
    """The databases this run can reach, and why the others are skipped."""
    chosen = args.only or list(DATABASES)
    out: list[Database] = []
    skipped: list[str] = []
    if "sqlite" in chosen:
        (scratch / "sqlite").mkdir()
        out.append(SQLiteDatabase(scratch / "sqlite"))
    if "postgres" in chosen:
        if postgres_reachable():
            out.append(PostgresDatabase(PG_URL, f"analyst_{os.getpid()}"))
        else:
            skipped.append(f"postgres: no server at {PG_URL}")
    if "duckdb" in chosen:
        sink_class, why = duckdb_sink_class()
        if sink_class is None:
            skipped.append(f"duckdb: {why}")
        else:
            (scratch / "duckdb").mkdir()
            out.append(DuckDatabase(scratch / "duckdb", sink_class))
    return out, skipped


def sync_and_copy(
    db: Database, portfolio: Portfolio, expected: int, dates: tuple[date, date]
) -> SyncRun:
    """Sync into ``db``, then build its reference tables; sizes of both."""
    run = SyncRun(db.kind, expected=expected)
    began = time.perf_counter()
    try:
        run.seconds, run.records, run.requests, run.errors = anyio.run(
            run_sync, portfolio, db.sink(), *dates
        )
    except Exception as error:  # a sink that fails is reported, the others still run
        run.seconds = time.perf_counter() - began
        run.errors.append(_first_cause(error))
        say(f"  {db.kind}: the sync failed after {run.seconds:.1f} s: {run.errors[0]}")
        return run
    say(
        f"  {db.kind}: synced {run.records:,} records in {run.seconds:.1f} s"
        f" ({run.requests:,} requests){' ERRORS' if run.errors else ''}"
    )
    began = time.perf_counter()
    db.build_reference()
    run.reference_seconds = time.perf_counter() - began
    run.ours_bytes = db.table_bytes(False)
    run.reference_bytes = db.table_bytes(True)
    run.details = {"ours": db.details(False), "reference": db.details(True)}
    say(f"  {db.kind}: reference built in {run.reference_seconds:.1f} s")
    return run


def _first_cause(error: BaseException) -> str:
    """The first leaf of an exception group, as ``Type: message``."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return f"{type(error).__name__}: {str(error)[:400]}"


def time_queries(db: Database, name: str, runs: int) -> list[QueryRow]:
    """Every query, in every state of ``db``, on ours and on the reference."""
    out = []
    for state in db.states:
        began = time.perf_counter()
        db.prepare(state)
        prepared = time.perf_counter() - began
        ours, reference = db.connect(False), db.connect(True)
        try:
            for query in QUERIES:
                out.append(one_query(db, state, query, name, runs, ours, reference))
                out[-1].prepare_seconds = round(prepared, 2)
                row = out[-1]
                say(
                    f"  {db.kind} {state} ({query.key}): ours {row.ours_ms:,.1f} ms,"
                    f" reference {row.reference_ms:,.1f} ms, {row.ratio:.2f}x"
                )
        finally:
            ours.close()
            reference.close()
    return out


def one_query(
    db: Database, state: str, query: Query, name: str, runs: int, ours: Any, reference: Any
) -> QueryRow:
    """``query`` on ours, then on the reference."""
    sql = db.sql(query)
    params: tuple[object, ...] = (name,) if query.by_name else ()
    measured: list[Measured] = []
    for connection in (ours, reference):
        m = time_query(connection, sql, params, query.kinds, runs)
        m.plan = db.explain(connection, sql, params)
        measured.append(m)
    mine, ref = measured
    return QueryRow(
        database=db.kind,
        state=state,
        query=query.key,
        title=query.title,
        sql=sql,
        ours_ms=mine.median * 1e3,
        reference_ms=ref.median * 1e3,
        ratio=mine.median / max(ref.median, 1e-9),
        rows=mine.rows,
        same=mine.digest == ref.digest and mine.rows == ref.rows,
        digest=mine.digest,
        ours=asdict(mine),
        reference=asdict(ref),
        plans_differ=db.shape(mine.plan) != db.shape(ref.plan),
    )


def targets(rows: list[QueryRow], skipped: list[str]) -> list[Target]:
    """Per database, state and query: ours / reference <= `GOAL`, answers equal."""
    out = [
        Target(
            f"{r.database} ({r.state}) {r.query}: {r.title}, ours / reference",
            f"{r.ratio:.2f}x ({r.ours_ms:,.1f} / {r.reference_ms:,.1f} ms)"
            + ("" if r.same else ", ANSWERS DIFFER"),
            f"<= {GOAL:g}x",
            r.ratio <= GOAL and r.same,
        )
        for r in rows
    ]
    out += [
        Target(f"{why.split(':')[0]}: every query", why, f"<= {GOAL:g}x", None) for why in skipped
    ]
    return out


def agreement(rows: list[QueryRow]) -> list[str]:
    """Whether every database gave the same answer to each query."""
    out = []
    for query in QUERIES:
        digests = {r.database: r.digest for r in rows if r.query == query.key}
        if len(digests) > 1:
            same = len(set(digests.values())) == 1
            out.append(
                f"({query.key}) answers across {', '.join(digests)}:"
                f" {'identical' if same else 'DIFFERENT'}"
            )
    return out


def notes_for(
    rows: list[QueryRow],
    syncs: dict[str, SyncRun],
    q: dict[str, Query],
    shapes: dict[str, Database],
) -> list[str]:
    """Facts beside each miss: bytes of the tables it reads, and the plans."""
    out = []
    for r in rows:
        if r.ratio <= GOAL and r.same:
            continue
        s = syncs[r.database]
        tables = q[r.query].tables
        mine = sum(s.ours_bytes.get(t, 0) for t in tables)
        ref = sum(s.reference_bytes.get(t, 0) for t in tables)
        size = (
            f"reads {', '.join(tables)}: ours {mine / MB:,.1f} MB, reference {ref / MB:,.1f} MB"
            f" ({mine / max(ref, 1):.1f}x the bytes)"
            if r.database != "duckdb"
            else f"database files: ours {mine / MB:,.1f} MB, reference {ref / MB:,.1f} MB"
        )
        db = shapes[r.database]
        our_plan, ref_plan = db.shape(r.ours["plan"]), db.shape(r.reference["plan"])
        plan = (
            f"plans differ: ours {' / '.join(x.strip() for x in our_plan)};"
            f" reference {' / '.join(x.strip() for x in ref_plan)}"
            if r.plans_differ
            else f"same plan: {' / '.join(x.strip() for x in our_plan[:8])}"
        )
        out.append(f"{r.database} ({r.state}) {r.query} {r.ratio:.2f}x: {size}; {plan}")
    return out


def lines(
    config: PortfolioConfig,
    counts: dict[str, int],
    generated: float,
    syncs: list[SyncRun],
    rows: list[QueryRow],
    name: str,
    runs: int,
) -> list[str]:
    """The report's tables."""
    out = [
        f"\n== analyst: {counts['ledger/posting']:,} postings, {counts['ledger/account']:,}"
        f" accounts, {counts['customer']:,} customers, {counts['invoice']:,} invoices"
        f" ({config.companies} companies, scale {config.scale:g}); generated in"
        f" {generated:.1f} s before any sync",
        "sync (in-process simulator, its serving included):",
        f"{'database':<9} {'records':>10} {'requests':>8} {'sync s':>8} {'records/s':>10}"
        f" {'ref build s':>11} {'ours MB':>9} {'ref MB':>8} {'size':>6}",
    ]
    for s in syncs:
        mine, ref = sum(s.ours_bytes.values()), sum(s.reference_bytes.values())
        out.append(
            f"{s.database:<9} {s.records:>10,} {s.requests:>8,} {s.seconds:>8.1f}"
            f" {s.records / max(s.seconds, 1e-9):>10,.0f} {s.reference_seconds:>11.1f}"
            f" {mine / MB:>9,.1f} {ref / MB:>8,.1f} {mine / max(ref, 1):>5.1f}x"
        )
    out.append("table sizes (MB, indexes and TOAST included), ours / reference:")
    for s in syncs:
        if s.database == "duckdb" or not s.ours_bytes:
            continue
        cells = [
            f"{t} {s.ours_bytes[t] / MB:,.1f} / {s.reference_bytes[t] / MB:,.1f}"
            for t in s.ours_bytes
        ]
        out.append(f"  {s.database}: " + "; ".join(cells))
    out += [
        f"queries (warm, median of {runs}; (c) looks up {name!r}):",
        f"{'database':<9} {'state':<15} {'query':<36} {'ours ms':>10} {'ref ms':>9}"
        f" {'ours/ref':>8} {'rows':>7} {'same':>5} {'plan':>6} {'target':>6}",
    ]
    for r in rows:
        verdict = "PASS" if r.ratio <= GOAL and r.same else "MISS"
        out.append(
            f"{r.database:<9} {r.state:<15} {r.query + ' ' + r.title:<36} {r.ours_ms:>10,.1f}"
            f" {r.reference_ms:>9,.1f} {r.ratio:>7.2f}x {r.rows:>7,}"
            f" {'yes' if r.same else 'NO':>5} {'differ' if r.plans_differ else 'same':>6}"
            f" {verdict:>6}"
        )
    return out


def say(text: str) -> None:
    """Progress, on stderr."""
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    """Parse flags, sync, copy, query, report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 companies, ~20,000 postings")
    parser.add_argument("--only", nargs="+", choices=DATABASES, help="these databases only")
    parser.add_argument("--companies", type=int, help="default 100 (5 with --quick)")
    parser.add_argument("--scale", type=float, help="record counts x this (default 2.5; 1 quick)")
    parser.add_argument("--runs", type=int, help="timed runs per query (default 5; 3 quick)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the files and schemas")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    began = time.perf_counter()
    config = config_for(args)
    portfolio = generate_portfolio(config)
    counts, generated = generate(portfolio)
    say(f"generated {sum(counts.values()):,} records in {generated:.1f} s: {counts}")
    # The portfolio's year, with a year of margin each side, in one window range.
    dates = (date(config.year - 1, 1, 1), date(config.year + 2, 1, 1))
    scratch = Path(tempfile.mkdtemp(prefix="tripletex-analyst-"))
    found, skipped = databases(args, scratch)
    for why in skipped:
        say(f"  skipped {why}")
    syncs: list[SyncRun] = []
    rows: list[QueryRow] = []
    name = ""
    try:
        for db in found:
            try:
                run = sync_and_copy(db, portfolio, sum(counts.values()), dates)
                syncs.append(run)
                if run.errors:
                    continue
                if not name:
                    connection = db.connect(True)
                    try:
                        name = choose_name(connection)
                    finally:
                        connection.close()
                rows += time_queries(db, name, runs)
            finally:
                db.close(args.keep)
    finally:
        if args.keep:
            say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    by_key = {q.key: q for q in QUERIES}
    found_targets = targets(rows, skipped)
    found_targets += [
        Target(
            f"{s.database}: sync stored every record",
            f"{s.records:,} of {s.expected:,}",
            "all, no errors",
            s.records == s.expected and not s.errors,
        )
        for s in syncs
    ]
    notes = [f"skipped {why}" for why in skipped]
    notes += [f"{s.database}: the sync failed: {e}" for s in syncs for e in s.errors]
    notes += agreement(rows)
    notes += notes_for(rows, {s.database: s for s in syncs}, by_key, {d.kind: d for d in found})
    print("\n".join(lines(config, counts, generated, syncs, rows, name, runs)))
    for t in found_targets:
        print(t.line())
    for note in notes:
        print(f"note: {note}")
    meta = machine(
        quick=args.quick,
        runs=runs,
        date_range=[d.isoformat() for d in dates],
        commit=source_commit(),
        seconds=round(time.perf_counter() - began, 1),
    )
    payload = {
        "meta": meta,
        "scenario": "analyst",
        "portfolio": {
            "seed": config.seed,
            "companies": config.companies,
            "scale": config.scale,
            "heavy_companies": config.heavy_companies,
            "empty_companies": config.empty_companies,
            "year": config.year,
            "records": counts,
            "generate_seconds": round(generated, 2),
        },
        "customer_name": name,
        "skipped": skipped,
        "syncs": [asdict(s) for s in syncs],
        "queries": [asdict(r) for r in rows],
        "targets": [asdict(t) for t in found_targets],
        "notes": notes,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "analyst.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
