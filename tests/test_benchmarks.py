"""The portfolio and resume benchmarks run end to end in their quick modes and write their
JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "portfolio.py"
RESUME = SCRIPT.with_name("resume.py")


def run_quick(scenario: str, out: Path) -> dict[str, object]:
    """``portfolio.py --quick --scenario <scenario> --out <out>``; its JSON file."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--scenario", scenario, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads((out / f"portfolio_{scenario}.json").read_text())
    return result


@pytest.mark.timeout(90)
def test_quick_backfill_writes_results(tmp_path: Path) -> None:
    """--quick --scenario backfill exits 0 and writes runs with every record stored."""
    result = run_quick("backfill", tmp_path)
    runs = result["runs"]
    assert isinstance(runs, list)
    assert runs
    assert all(run["records"] == run["expected"] for run in runs)


@pytest.mark.timeout(90)
def test_quick_resync_writes_results(tmp_path: Path) -> None:
    """--quick --scenario resync exits 0 and writes a backfill and a re-sync run."""
    result = run_quick("resync", tmp_path)
    runs = result["runs"]
    assert isinstance(runs, list)
    assert {run["variant"] for run in runs} == {"backfill", "resync"}


@pytest.mark.timeout(60)
def test_quick_resume_writes_results(tmp_path: Path) -> None:
    """resume.py --quick: per kill fraction a run SIGKILLed at its request count and a
    resume to the end, whose file holds exactly the reference run's rows."""
    fractions = [0.3, 0.7]
    done = subprocess.run(
        [sys.executable, str(RESUME), "--quick", "--out", str(tmp_path), "--kill-at"]
        + [str(f) for f in fractions],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "resume.json").read_text())
    reference = result["reference"]
    assert reference["exit_code"] == 0
    assert reference["records"] > 0
    runs = result["runs"]
    assert [(r["kind"], r["kill_at"]) for r in runs] == [
        ("reference", None),
        ("killed", 0.3),
        ("resumed", 0.3),
        ("killed", 0.7),
        ("resumed", 0.7),
    ]
    for killed, resumed in zip(runs[1::2], runs[2::2], strict=True):
        assert killed["exit_code"] == -9, killed["errors"]
        assert killed["requests"] >= killed["kill_threshold"] > 0
        assert resumed["exit_code"] == 0, resumed["errors"]
        assert resumed["records"] == reference["records"]
    rows = result["rows"]
    assert [r["kill_at"] for r in rows] == fractions
    for row in rows:
        assert row["errors"] == []
        assert row["mismatches"] == []
        assert row["data_matched"] is True
        assert row["reference"] == reference["requests"]
        assert row["undone"] == row["reference"] - row["killed"]
        assert row["resumed"] > 0
    # Named per fraction; whether the ratio target passes is the benchmark's to say.
    names = [t["name"] for t in result["targets"]]
    assert len(names) == 2 * len(fractions)
    assert all(t["passed"] for t in result["targets"] if "reference file" in t["name"])


@pytest.mark.timeout(90)
def test_quick_field_writes_results(tmp_path: Path) -> None:
    """--quick --scenario field stores every counted record with the engine, its rerun and
    the naive loop, at both per-row costs, and reports a lower bound and four targets each."""
    result = run_quick("field", tmp_path)
    runs = result["runs"]
    assert isinstance(runs, list)
    assert {(run["variant"], run["contender"]) for run in runs} == {
        (variant, contender)
        for variant in ("0 us/row", "50 us/row")
        for contender in ("engine-sqlite", "engine-rerun", "naive")
    }
    extra = result["extra"]
    assert isinstance(extra, dict)
    records = extra["lower_bound"]["records"]
    assert records > 0
    assert all(run["records"] == records and not run["errors"] for run in runs)
    targets = result["targets"]
    assert isinstance(targets, list)
    assert len(targets) == 8
