"""The runs of ``resume.py``: ``tripletex-async sync`` processes against the field
simulator, one of them SIGKILLed at a request count, and what their files hold.

Requests are counted by the server (``/_bench/stamps``: every ``/v2/`` request it
answered, the session, the company list and any 429 included), never by the client: a
killed client cannot say what it sent. A run's files hold what it committed; two files
are compared table by table and company by company (row count, then a SHA-256 over the
``(id, data)`` pairs in id order, then which ids differ), read-only, so that a killed
run's file is left exactly as the kill left it for the run that resumes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from _simulator import Stamp, read_stamps

__all__ = [
    "Attribution",
    "CliSync",
    "Contents",
    "KilledState",
    "Leg",
    "ServerCount",
    "attribute",
    "compare",
    "contents",
    "killed_state",
    "run_killed",
    "run_to_end",
]

#: (table, company id) -> (rows, SHA-256 of its (id, data) pairs in id order).
Contents = dict[tuple[str, int], tuple[int, str]]


@dataclass(frozen=True, slots=True)
class CliSync:
    """The command every run is: ``python -m tripletex_async.cli sync --all-companies``
    into a SQLite file, tokens in the environment, one fixed date range."""

    api: str
    consumer_token: str
    employee_token: str
    date_from: date
    date_to: date

    def command(self, db: Path, report: Path | None = None) -> list[str]:
        """The sync of every client company into ``db``; its report into ``report``."""
        return [
            sys.executable, "-m", "tripletex_async.cli", "sync", "--all-companies",
            "--sink", f"sqlite:///{db}", "--base-url", self.api, "--progress", "off",
            "--date-from", self.date_from.isoformat(), "--date-to", self.date_to.isoformat(),
            *(["--report-json", str(report)] if report is not None else []),
        ]  # fmt: skip

    def environ(self) -> dict[str, str]:
        """This process's environment with the tokens, and no other Tripletex setting."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPLETEX_")}
        env["TRIPLETEX_CONSUMER_TOKEN"] = self.consumer_token
        env["TRIPLETEX_EMPLOYEE_TOKEN"] = self.employee_token
        return env


class ServerCount:
    """The simulator's request stamps, read from a mark on."""

    def __init__(self, api: str) -> None:
        self.api = api

    def mark(self) -> int:
        """The index the next request will have."""
        return read_stamps(self.api, sys.maxsize)[1]

    def since(self, mark: int) -> list[Stamp]:
        """Every request answered since ``mark``."""
        return read_stamps(self.api, mark)[0]


@dataclass
class Leg:
    """One CLI run as the server saw it, and what its file held after it."""

    #: ``reference``, ``killed`` or ``resumed``.
    kind: str
    #: The kill fraction of the pair this run belongs to (none for the reference).
    kill_at: float | None
    #: Requests the server answered during the run (for a killed run: until no more
    #: came, answers to requests in flight at the kill included).
    requests: int = 0
    rate_limited: int = 0
    #: From starting the process to its exit (to the SIGKILL for a killed run).
    wall_seconds: float = 0.0
    #: ``-9`` for a killed run.
    exit_code: int | None = None
    #: Killed run: the request count the kill waited for, the count when it was sent,
    #: and the answers the server sent after it (requests in flight at the kill).
    kill_threshold: int | None = None
    requests_at_kill: int | None = None
    answered_after_kill: int | None = None
    #: Rows in the file's data tables after the run.
    records: int = 0
    #: Data requests the run's ``--report-json`` counts (none for a killed run): the
    #: server's count less these is the run's own overhead (session, who-am-I, company
    #: list).
    data_requests: int | None = None
    #: The report's totals (windows, skipped, pages, splits, ...), for a run that ended.
    totals: dict[str, Any] = field(default_factory=dict)
    #: Requests per "company/resource", from the report.
    per_unit: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@contextmanager
def _started(sync: CliSync, db: Path, report: Path | None) -> Iterator[subprocess.Popen[bytes]]:
    """The sync process, its output in files beside ``db``; killed if left running."""
    out, err = db.with_suffix(".out"), db.with_suffix(".err")
    with out.open("ab") as stdout, err.open("ab") as stderr:
        process = subprocess.Popen(
            sync.command(db, report), env=sync.environ(), stdout=stdout, stderr=stderr
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_to_end(
    sync: CliSync,
    server: ServerCount,
    db: Path,
    kind: str,
    kill_at: float | None = None,
    *,
    timeout: float = 3600,
) -> Leg:
    """One sync into ``db`` to its end; its requests counted by the server."""
    leg = Leg(kind, kill_at)
    report = db.with_name(f"{db.stem}-{kind}.json")
    report.unlink(missing_ok=True)
    mark = server.mark()
    began = time.perf_counter()
    with _started(sync, db, report) as process:
        try:
            leg.exit_code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            leg.errors.append(f"still running after {timeout:g} s")
    leg.wall_seconds = time.perf_counter() - began
    _count(leg, server.since(mark))
    if leg.exit_code != 0:
        tail = db.with_suffix(".err").read_text(errors="replace").strip().splitlines()[-3:]
        leg.errors.append(f"exit {leg.exit_code}: " + " | ".join(tail))
    if report.exists():
        _read_report(leg, json.loads(report.read_text()))
    leg.records = records(db)
    return leg


def run_killed(
    sync: CliSync,
    server: ServerCount,
    db: Path,
    kill_at: float,
    threshold: int,
    *,
    poll: float,
    settle: float,
    timeout: float = 3600,
) -> Leg:
    """One sync into ``db``, SIGKILLed once the server has answered ``threshold`` of its
    requests; then, ``settle`` seconds later (longer than any request takes), counted
    again with the answers to what was in flight."""
    leg = Leg("killed", kill_at, kill_threshold=threshold)
    mark = server.mark()
    seen = 0
    began = time.perf_counter()
    killed_at: float | None = None
    with _started(sync, db, None) as process:
        cursor = mark
        while process.poll() is None and time.perf_counter() - began < timeout:
            stamps, cursor = read_stamps(server.api, cursor)
            seen += len(stamps)
            if seen >= threshold:
                killed_at = time.monotonic()
                process.kill()
                leg.wall_seconds = time.perf_counter() - began
                break
            time.sleep(poll)
        if killed_at is None:
            leg.wall_seconds = time.perf_counter() - began
            if process.poll() is None:
                process.kill()
                leg.errors.append(f"still running after {timeout:g} s, {seen} requests")
            else:
                leg.errors.append(
                    f"not killed: it exited {process.returncode} after {seen} requests,"
                    f" before {threshold}"
                )
        leg.exit_code = process.wait()
    time.sleep(settle)
    stamps = server.since(mark)
    _count(leg, stamps)
    if killed_at is not None:
        leg.requests_at_kill = seen
        # The server stamps an answer when it sends it, on the same monotonic clock.
        leg.answered_after_kill = sum(at > killed_at for at, _ in stamps)
    leg.records = records(db)
    return leg


def _count(leg: Leg, stamps: list[Stamp]) -> None:
    leg.requests = len(stamps)
    leg.rate_limited = sum(status == 429 for _, status in stamps)


def _read_report(leg: Leg, report: dict[str, Any]) -> None:
    total = report["total"]
    leg.data_requests = int(total["requests"])
    leg.totals = {
        k: total[k]
        for k in ("records", "pages", "windows", "unchanged", "skipped", "splits", "reread")
    }
    units = report["resources"]
    leg.per_unit = {f"{r['company_id']}/{r['resource']}": int(r["requests"]) for r in units}
    failed = [r for r in units if r["status"] != "done"]
    leg.errors += [f"{r['company_id']}/{r['resource']}: {r['status']}" for r in failed][:5]


# -- what a file holds -----------------------------------------------------------------


def _connect(db: Path) -> sqlite3.Connection:
    """Read-only: a read-only connection never checkpoints the WAL a killed run left."""
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def _data_tables(conn: sqlite3.Connection) -> list[str]:
    names = [
        str(name)
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(name).startswith("_")
    ]
    out = []
    for name in names:
        columns = {str(row[1]) for row in conn.execute(f'PRAGMA table_info("{name}")')}
        if {"company_id", "id", "data"} <= columns:
            out.append(name)
    return sorted(out)


def records(db: Path) -> int:
    """Rows in the file's data tables (0 for a file not created yet)."""
    if not db.exists():
        return 0
    with closing(_connect(db)) as conn:
        return sum(
            int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
            for t in _data_tables(conn)
        )


def contents(db: Path) -> Contents:
    """Per data table and company: rows, and a SHA-256 over ``(id, data)`` in id order."""
    out: Contents = {}
    with closing(_connect(db)) as conn:
        for table in _data_tables(conn):
            rows = conn.execute(f'SELECT company_id, id, data FROM "{table}" ORDER BY 1, 2')
            company, count, digest = None, 0, hashlib.sha256()
            for company_id, id_, data in rows:
                if company_id != company:
                    if company is not None:
                        out[table, company] = (count, digest.hexdigest())
                    company, count, digest = company_id, 0, hashlib.sha256()
                count += 1
                digest.update(f"{id_}\t{data}\n".encode())
            if company is not None:
                out[table, company] = (count, digest.hexdigest())
    return out


def _ids(db: Path, table: str, company: int) -> set[int]:
    with closing(_connect(db)) as conn:
        try:
            query = f'SELECT id FROM "{table}" WHERE company_id = ?'
            return {int(i) for (i,) in conn.execute(query, (company,))}
        except sqlite3.OperationalError:  # no such table
            return set()


def compare(reference: Contents, reference_db: Path, got: Contents, got_db: Path) -> list[str]:
    """Every (table, company) whose rows differ from the reference's, said in one line."""
    out = []
    for key in sorted(set(reference) | set(got)):
        want, have = reference.get(key, (0, "")), got.get(key, (0, ""))
        if want == have:
            continue
        table, company = key
        if want[0] == have[0] and _ids(reference_db, *key) == _ids(got_db, *key):
            out.append(f"{table} of {company}: the same {want[0]:,} ids, other data")
            continue
        missing = _ids(reference_db, *key) - _ids(got_db, *key)
        extra = _ids(got_db, *key) - _ids(reference_db, *key)
        out.append(
            f"{table} of {company}: {have[0]:,} rows, the reference {want[0]:,}"
            f" ({len(missing):,} missing, {len(extra):,} not in it)"
        )
    return out


@dataclass(frozen=True, slots=True)
class KilledState:
    """What a killed run's file says it committed (its window states)."""

    #: Windows completed; scans cut off after at least one page (resumed from there).
    complete_windows: int
    partial_windows: int
    #: Rows the states count as stored, in complete and in partial windows.
    rows_in_complete: int
    rows_in_partial: int


def killed_state(db: Path) -> KilledState:
    """The window states of a killed run's file (all zero if it committed none)."""
    if not db.exists():
        return KilledState(0, 0, 0, 0)
    with closing(_connect(db)) as conn:
        try:
            rows = conn.execute(
                "SELECT complete, count(*), coalesce(sum(records), 0) FROM _tripletex_state"
                " WHERE resource != '_run' GROUP BY complete"
            ).fetchall()
        except sqlite3.OperationalError:  # no schema yet
            return KilledState(0, 0, 0, 0)
    by = {bool(complete): (int(n), int(r)) for complete, n, r in rows}
    done, partial = by.get(True, (0, 0)), by.get(False, (0, 0))
    return KilledState(done[0], partial[0], done[1], partial[1])


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where a resume's requests beyond what the killed run left undone come from:
    estimates from the reference's and the resume's requests per company and resource.

    ``excess = resumed - (reference - killed) = overhead + lost + resume_extra`` exactly,
    ``lost`` taking the killed run's own overhead to be the reference's (which counts the
    DELETE of its session at the end, a request a killed run never sends: ``lost`` is one
    short of the truth).
    """

    #: The resume's requests for no company and resource: session, who-am-I, companies.
    overhead: int
    #: Data requests of the killed run whose work the resume did not do again: per
    #: company and resource, what the reference spent there less what the resume spent
    #: (where less).
    kept: int
    #: Requests of the killed run the resume got nothing from: killed - the reference's
    #: overhead - kept; of them ``in_flight`` answered after the kill, the rest answered
    #: before it but not committed (queued for the writer, pages of a window not yet
    #: stored, a window's work done again).
    lost: int
    in_flight: int
    #: What the resume spent per company and resource beyond the reference there.
    resume_extra: int
    excess: int
    #: Companies the resume asked nothing of, asked some of, asked all the reference did.
    companies_done: int
    companies_partly: int
    companies_redone: int


def attribute(reference: Leg, killed: Leg, resumed: Leg) -> Attribution | None:
    """The excess of a resume, split as `Attribution` says (``None`` without reports)."""
    if reference.data_requests is None or resumed.data_requests is None:
        return None
    kept = extra = 0
    companies: dict[str, list[int]] = {}
    for unit in set(reference.per_unit) | set(resumed.per_unit):
        before, after = reference.per_unit.get(unit, 0), resumed.per_unit.get(unit, 0)
        kept += max(before - after, 0)
        extra += max(after - before, 0)
        sums = companies.setdefault(unit.partition("/")[0], [0, 0])
        sums[0] += before
        sums[1] += after
    lost = killed.requests - (reference.requests - reference.data_requests) - kept
    overhead = resumed.requests - resumed.data_requests
    excess = resumed.requests - (reference.requests - killed.requests)
    done = sum(after == 0 for _, after in companies.values())
    redone = sum(after >= before > 0 for before, after in companies.values())
    return Attribution(
        overhead=overhead,
        kept=kept,
        lost=lost,
        in_flight=killed.answered_after_kill or 0,
        resume_extra=extra,
        excess=excess,
        companies_done=done,
        companies_partly=len(companies) - done - redone,
        companies_redone=redone,
    )
