"""Many workers as real processes: the simulator on loopback (251 budgets: an accountant
token reaching 50 companies and 250 single-company tokens, rate windows of one second),
PostgreSQL, two ``tripletex-async workers run`` processes. One is killed with SIGKILL
mid-run and started again, or frozen with SIGSTOP past the stall timeout and woken:
every budget ends done, every row exact, no budget driven by two workers at once (the
simulator counts requests on a session older than one its budget already used)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tripletex_async import RESOURCES
from tripletex_async.sinks import PostgresSink
from tripletex_async.testing import FakeTripletex, PortfolioConfig, generate_portfolio

from ..expectations import expected, stored

SEED, CLIENTS, STANDALONE, SCALE = 7, 50, 250, 0.02
SYNCED = ("customer", "ledger/posting")
CLI = [sys.executable, "-m", "tripletex_async.cli"]


@dataclass
class Fleet:
    """The simulator, the database and the workers of one test."""

    tmp: Path
    database: str
    environ: dict[str, str]
    standalone: int = STANDALONE
    api: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "workers", *args], env=self.environ, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{name}.log").open("ab") as log:  # the child keeps its copy
            process = subprocess.Popen(
                [
                    *CLI, "workers", "run", "--base-url", self.api, "--concurrency", "8",
                    "--slice", "2", "--stall-after", "2", "-vv", "--log-format", "json",
                ],
                env=self.environ, stdout=log, stderr=log,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database) as connection:
            return connection.execute(sql).fetchall()

    def done(self) -> int:
        return int(
            self.query("SELECT count(*) FROM tripletex_workers.budgets WHERE state = 'done'")[0][0]
        )

    def statistics(self) -> dict[str, Any]:
        return httpx.get(self.api.removesuffix("/v2") + "/_fake/statistics").json()  # type: ignore[no-any-return]


@pytest.fixture
def fleet(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[Fleet]:
    """A fleet of ``STANDALONE`` single-company budgets, or as many as the test asks
    (``parametrize("fleet", [N], indirect=True)``)."""
    standalone = int(getattr(request, "param", STANDALONE))
    name = f"workers_fleet_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    database = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    environ = {
        **os.environ,
        "TRIPLETEX_WORKERS_KEY": "a-server-key-for-the-fleet-test",
        "TRIPLETEX_WORKERS_DATABASE": database,
    }
    environ.pop("TRIPLETEX_CONSUMER_TOKEN", None)
    environ.pop("TRIPLETEX_EMPLOYEE_TOKEN", None)
    found = Fleet(tmp_path, database, environ, standalone)
    try:
        _simulator(found)
        _register(found)
        yield found
    finally:
        for process in found.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
            process.wait(timeout=30)
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            connection.execute(f"DROP DATABASE IF EXISTS {name}")


def _simulator(fleet: Fleet) -> None:
    tokens, out = fleet.tmp / "tokens.json", fleet.tmp / "simulator.out"
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "tripletex_async.testing", "--port", "0",
                "--seed", str(SEED), "--companies", str(CLIENTS), "--standalone-companies",
                str(fleet.standalone), "--scale", str(SCALE), "--rate-limit", "40/1",
                "--tokens-file", str(tokens),
            ],
            stdout=stdout, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    fleet.processes.append(process)
    deadline = time.monotonic() + 60
    while not out.read_text().startswith("listening on ") or "\n" not in out.read_text():
        assert process.poll() is None, "the simulator exited"
        assert time.monotonic() < deadline, "the simulator did not start"
        time.sleep(0.05)
    fleet.api = out.read_text().splitlines()[0].removeprefix("listening on ").strip()


def _register(fleet: Fleet) -> None:
    """Tokens into a file of secrets (mode 600), budgets by reference."""
    found = json.loads((fleet.tmp / "tokens.json").read_text())
    vault = fleet.tmp / "secrets.json"
    values, budgets = {}, []
    for budget in found:
        label = budget["label"]
        values[f"{label}/c"], values[f"{label}/e"] = (
            budget["consumer_token"],
            budget["employee_token"],
        )
        budgets.append({
            "consumer_token": f"file:{vault}#{label}/c",
            "employee_token": f"file:{vault}#{label}/e",
            "companies": "all" if budget["kind"] == "accountant" else "own",
            "resources": list(SYNCED),
            "label": label,
        })  # fmt: skip
    vault.write_text(json.dumps(values))
    vault.chmod(0o600)
    (fleet.tmp / "budgets.json").write_text(json.dumps(budgets))
    registered = fleet.cli("register", str(fleet.tmp / "budgets.json"))
    assert registered.returncode == 0, registered.stderr
    assert fleet.cli("plan").returncode == 0


def _jobs(fleet: Fleet, status: str) -> int:
    found = fleet.query(
        "SELECT count(*) FROM procrastinate_jobs WHERE status = %s "
        "AND task_name = 'tripletex_async.sync_budget'".replace("%s", f"'{status}'")
    )
    return int(found[0][0])


def _assert_no_token_anywhere(fleet: Fleet) -> None:
    """No token in any worker's log (at -vv: procrastinate's, psycopg's, ours), in the
    job tables, or in the budgets table."""
    tokens = {
        t for b in json.loads((fleet.tmp / "tokens.json").read_text())
        for t in (b["consumer_token"], b["employee_token"])
    }  # fmt: skip
    texts = [p.read_text() for p in fleet.tmp.glob("*.log")]
    for table in ("procrastinate_jobs", "procrastinate_events", "tripletex_workers.budgets"):
        texts.append(repr(fleet.query(f"SELECT * FROM {table}")))
    assert len(texts) > 3
    leaked = {t[:12] for t in tokens for text in texts if t in text}
    assert not leaked


def _wait_all_done(fleet: Fleet, budgets: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while fleet.done() < budgets:
        if time.monotonic() > deadline:
            left = fleet.query(
                "SELECT b.label, b.state, b.message, j.status, j.attempts FROM "
                "tripletex_workers.budgets b LEFT JOIN procrastinate_jobs j ON j.lock = b.id "
                "WHERE b.state <> 'done' ORDER BY b.label, j.id"
            )
            pytest.fail(f"{fleet.done()} of {budgets} budgets done; not done: {left}")
        time.sleep(0.5)


def _assert_exact(fleet: Fleet) -> None:
    import anyio

    config = PortfolioConfig(seed=SEED, companies=CLIENTS, standalone=fleet.standalone, scale=SCALE)
    sim = FakeTripletex(generate_portfolio(config))

    async def read() -> dict[str, dict[tuple[int, int], bytes]]:
        sink = PostgresSink(fleet.database)
        try:
            await sink.open([RESOURCES[r].table() for r in SYNCED])
            return {r: await sink.read(r) for r in SYNCED}
        finally:
            await sink.aclose()

    tables = anyio.run(read)
    companies = [*sim.portfolio.company_ids(), *sim.portfolio.standalone_ids()]
    assert len(companies) == CLIENTS + fleet.standalone
    for resource in SYNCED:
        for company in companies:
            assert stored(tables[resource], company) == expected(sim, company, resource), (
                resource,
                company,
            )


@pytest.mark.timeout(180)
def test_a_worker_killed_mid_run_loses_nothing_and_no_budget_has_two_drivers(
    fleet: Fleet,
) -> None:
    budgets = 1 + STANDALONE
    began = time.monotonic()
    first, second = fleet.worker("a"), fleet.worker("b")
    time.sleep(3)
    first.kill()  # SIGKILL: no cleanup, its jobs stay "doing" until found stalled
    first.wait()
    fleet.worker("a-again")
    _wait_all_done(fleet, budgets, 110)
    elapsed = time.monotonic() - began
    stats = fleet.statistics()
    assert stats["budget_overlaps"] == 0
    assert stats["budgets_active"] == budgets
    failed = fleet.query(
        "SELECT count(*) FROM procrastinate_jobs WHERE status NOT IN ('succeeded', 'failed')"
    )
    assert failed[0][0] == 0  # nothing left waiting or running: no job lost
    _assert_exact(fleet)
    assert elapsed < 120
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0
    _assert_no_token_anywhere(fleet)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fleet", [60], indirect=True)
def test_a_frozen_worker_cannot_write_after_its_budgets_were_taken_over(fleet: Fleet) -> None:
    """SIGSTOP past the stall timeout: its budgets are re-run by the other worker, and
    when it wakes, what it still holds is refused (`LeaseLostError`); rows stay exact."""
    budgets = 1 + fleet.standalone
    frozen = fleet.worker("frozen")
    deadline = time.monotonic() + 30
    # Mid-run, as in the field: it has finished budgets (the new database's tables are
    # made), and runs others (its jobs: it runs alone so far).
    while _jobs(fleet, "succeeded") < 4 or _jobs(fleet, "doing") < 4:
        assert time.monotonic() < deadline, "the worker took no job"
        time.sleep(0.05)
    frozen.send_signal(signal.SIGSTOP)
    other = fleet.worker("other")
    time.sleep(10)  # past the stall timeout (2 s), the lease's life (2 s), with margin
    frozen.send_signal(signal.SIGCONT)
    _wait_all_done(fleet, budgets, 110)
    _assert_exact(fleet)
    assert "stalled_job_requeued" in (fleet.tmp / "other.log").read_text()
    # Woken, it was refused: its lease taken over, or its session ended by the server
    # (idle in a transaction past the timeout), its transaction rolled back.
    log = (fleet.tmp / "frozen.log").read_text()
    assert "LeaseLostError" in log or "server closed the connection" in log
    for process in (frozen, other):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
