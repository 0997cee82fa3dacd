"""A sync process killed with SIGKILL mid-run, then started again, ends exact and does
less work than a full run: state is committed with the rows it covers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES
from tripletex_async.sinks import SQLiteSink
from tripletex_async.testing import (
    FakeConfig,
    FakeTripletex,
    Faults,
    PortfolioConfig,
    ServerThread,
    generate_portfolio,
)

from ..expectations import Served, expected, stored

WORKER = Path(__file__).with_name("sync_worker.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def start_worker(
    fake: FakeTripletex, url: str, db: Path, resources: list[str] | None = None
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TRIPLETEX_CONSUMER_TOKEN": fake.credentials.consumer_token,
        "TRIPLETEX_EMPLOYEE_TOKEN": fake.credentials.employee_token,
    }
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, str(db), *([",".join(resources)] if resources else [])],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def committed_states(db: Path) -> int:
    """Window states committed so far (0 until the schema exists)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM _tripletex_state").fetchone()[0])
    except sqlite3.Error:
        return 0


def run_to_end(fake: FakeTripletex, url: str, db: Path, resources: list[str] | None = None) -> int:
    """Run the worker to completion; the simulator's request count it cost."""
    before = fake.statistics().requests
    worker = start_worker(fake, url, db, resources)
    out, _ = worker.communicate(timeout=50)
    assert worker.returncode == 0, out
    return fake.statistics().requests - before


def test_sigkilled_sync_resumes_to_exact_data_with_less_work(tmp_path: Path) -> None:
    """Kill -9 mid-run, rerun: every record exact, fewer requests than a full run."""
    portfolio = generate_portfolio(
        PortfolioConfig(seed=21, companies=6, scale=0.1, heavy_companies=1, heavy_postings=6000)
    )
    fake = FakeTripletex(portfolio, FakeConfig(faults=Faults(latency=0.004)))
    db = tmp_path / "killed.db"
    with ServerThread(fake.handle) as server:
        worker = start_worker(fake, server.api_url, db)
        deadline = time.monotonic() + 30
        while committed_states(db) < 40 and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker committed nothing"
            time.sleep(0.01)
        assert worker.poll() is None, "the run ended before it could be killed"
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=10)
        assert worker.returncode == -signal.SIGKILL

        resumed = run_to_end(fake, server.api_url, db)
        full = run_to_end(fake, server.api_url, tmp_path / "full.db")

    async def check() -> None:
        sink = SQLiteSink(db)
        await sink.open([RESOURCES[n].table() for n in DEFAULT_RESOURCES])
        try:
            for resource in DEFAULT_RESOURCES:
                records = await sink.read(resource)
                for company in portfolio.company_ids():
                    assert stored(records, company) == expected(fake, company, resource)
        finally:
            await sink.aclose()

    anyio.run(check)
    assert resumed < full, (resumed, full)


def child_states(db: Path) -> int:
    """States of the child list's parents committed so far."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            query = "SELECT count(*) FROM _tripletex_state WHERE resource = ?"
            return int(conn.execute(query, (CHILD,)).fetchone()[0])
    except sqlite3.Error:
        return 0


#: A child list (one query per product) and its parent, killed mid fan-out.
CHILD = "product/productPrice"
CHILD_RUN = ["product", CHILD, "customer"]


def test_sigkilled_child_fan_out_resumes_to_exact_data_with_less_work(tmp_path: Path) -> None:
    """Kill -9 while a child list is read parent by parent, rerun: every price of every
    product exact, and the parents done before the kill are not asked again."""
    portfolio = generate_portfolio(PortfolioConfig(seed=23, companies=3, scale=1.0))
    fake = FakeTripletex(portfolio, FakeConfig(faults=Faults(latency=0.004)))
    db = tmp_path / "killed.db"
    with ServerThread(fake.handle) as server:
        worker = start_worker(fake, server.api_url, db, CHILD_RUN)
        deadline = time.monotonic() + 30
        while child_states(db) < 20 and worker.poll() is None:
            assert time.monotonic() < deadline, "the worker committed no child state"
            time.sleep(0.01)
        assert worker.poll() is None, "the run ended before it could be killed"
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=10)

        resumed = run_to_end(fake, server.api_url, db, CHILD_RUN)
        full = run_to_end(fake, server.api_url, tmp_path / "full.db", CHILD_RUN)

    async def check() -> None:
        served = Served(fake)
        await served.login()
        sink = SQLiteSink(db)
        await sink.open([RESOURCES[n].table() for n in CHILD_RUN])
        try:
            for name in CHILD_RUN:
                records = await sink.read(name)
                for company in portfolio.company_ids():
                    want = await served.expected(company, RESOURCES[name])
                    assert stored(records, company) == want, name
            assert await sink.read(CHILD)
        finally:
            await sink.aclose()

    anyio.run(check)
    assert resumed < full, (resumed, full)
