"""``demo``: the simulator in-process, synced into SQLite; a second run is incremental."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from .conftest import Run

SMALL = ["--companies", "2", "--scale", "0.05", "--latency-ms", "0", "--progress", "off"]


def test_demo_first_run_and_incremental_rerun(run: Run, tmp_path: Path) -> None:
    """The first run stores the office's data; the rerun fetches nothing (304s)."""
    db, report = tmp_path / "demo.db", tmp_path / "demo.json"
    first = run("demo", "--db", str(db), *SMALL)
    assert first.code == 0, first.err
    assert "2 companies, all synced" in first.out
    assert f'sqlite3 {db} "SELECT company_id, count(*) FROM customer' in first.out
    assert "Run the same command again" in first.out
    with sqlite3.connect(db) as conn:
        customers = conn.execute("SELECT count(*) FROM customer").fetchone()[0]
    assert customers > 0

    again = run("demo", "--db", str(db), *SMALL, "--report-json", str(report))
    assert again.code == 0, again.err
    assert "That was an incremental rerun" in again.out
    total = json.loads(report.read_text())["total"]
    assert total["records"] == 0
    assert total["not_modified"] == total["unchanged"] == total["windows"] > 0


def test_demo_needs_no_token(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No TRIPLETEX_* variable is read: the demo runs on the simulator's own tokens."""
    for name in ("TRIPLETEX_CONSUMER_TOKEN", "TRIPLETEX_EMPLOYEE_TOKEN", "TRIPLETEX_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRIPLETEX_ENV", "prod")
    result = run("demo", "--db", str(tmp_path / "d.db"), *SMALL, "--companies", "1")
    assert result.code == 0, result.err
