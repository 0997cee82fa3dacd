"""Ctrl-C: the CLI as a subprocess gets SIGINT mid-run, exits 130 with a hint, and a rerun
ends with exactly the simulator's data."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tripletex_async.testing import FakeConfig, Faults, RateLimit

from ..expectations import expected
from .conftest import DATES, Run, Served

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery is POSIX-only here"),
    pytest.mark.usefixtures("tokens_env"),
]
RESOURCES = ["customer", "ledger/posting", "timesheet/entry"]


@pytest.fixture
def fake_config() -> FakeConfig:
    """Paced by a rate limit, so the run lasts long enough to be interrupted."""
    return FakeConfig(rate_limit=RateLimit(limit=30, period=1), faults=Faults(latency=0.005))


def stored_rows(db: Path, table: str) -> int:
    """Rows committed so far (0 until the table exists)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    except sqlite3.Error:
        return 0


def stored(db: Path, table: str, company: int) -> dict[int, object]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f'SELECT id, data FROM "{table}" WHERE company_id = ?', (company,))
        return {int(i): json.loads(data) for i, data in rows}


def interrupt_after_first_commit(
    args: list[str], db: Path, signum: int = signal.SIGINT
) -> tuple[int, str]:
    """Run the CLI, signal it once postings are committed to ``db``: exit code, stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tripletex_async.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while stored_rows(db, "ledger_posting") == 0 and process.poll() is None:
            assert time.monotonic() < deadline, "nothing was committed"
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signum)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, err


def test_sigint_exits_130_and_a_rerun_completes_exactly(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """SIGINT after the first commit: exit 130 and a hint; the rerun exits 0, exact."""
    db = tmp_path / "interrupted.db"
    args = [
        "sync", "--base-url", served.api_url, "--sink", f"sqlite:///{db}", "--all-companies",
        "--resources", ",".join(RESOURCES), "--page-size", "10", "--progress", "off", *DATES,
    ]  # fmt: skip
    code, err = interrupt_after_first_commit(args, db)
    assert code == 130, err
    assert "rerun the same command to continue where it stopped" in err
    assert "Traceback" not in err
    companies = served.fake.portfolio.company_ids()
    total = sum(len(expected(served.fake, c, "ledger/posting")) for c in companies)
    assert 0 < stored_rows(db, "ledger_posting") < total

    result = run(*args)
    assert result.code == 0, result.err
    for resource in RESOURCES:
        table = resource.replace("/", "_")
        for company in companies:
            assert stored(db, table, company) == expected(served.fake, company, resource)


def test_sigterm_exits_143_and_says_what_it_got(served: Served, tmp_path: Path) -> None:
    """SIGTERM (a scheduler stopping the job): the same clean stop, exit 143, and the
    message names the signal instead of telling a service manager to press Ctrl-C."""
    db = tmp_path / "terminated.db"
    args = [
        "sync", "--base-url", served.api_url, "--sink", f"sqlite:///{db}", "--all-companies",
        "--resources", ",".join(RESOURCES), "--page-size", "10", "--progress", "off", *DATES,
    ]  # fmt: skip
    code, err = interrupt_after_first_commit(args, db, signal.SIGTERM)
    assert code == 143, err
    assert "SIGTERM" in err
    assert "Ctrl-C" not in err
    assert "rerun the same command to continue where it stopped" in err


def test_sigint_still_writes_the_report_of_what_was_done(served: Served, tmp_path: Path) -> None:
    """Interrupted, --report-json holds the work so far, marked interrupted, exit 130."""
    db, report = tmp_path / "interrupted.db", tmp_path / "report.json"
    args = [
        "sync", "--base-url", served.api_url, "--sink", f"sqlite:///{db}", "--all-companies",
        "--resources", ",".join(RESOURCES), "--page-size", "10", "--progress", "off",
        "--report-json", str(report), *DATES,
    ]  # fmt: skip
    code, err = interrupt_after_first_commit(args, db)
    assert code == 130, err
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert data["ok"] is False
    assert data["exit_code"] == 130
    assert data["total"]["records"] > 0
    assert "interrupted" in {r["status"] for r in data["resources"]}
    assert data["request"]["resources"] == RESOURCES
