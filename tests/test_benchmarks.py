"""The portfolio, resume, analyst, webhooks and scale-out benchmarks run end to end in
their quick modes and write their JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "portfolio.py"
RESUME = SCRIPT.with_name("resume.py")
ANALYST = SCRIPT.with_name("analyst.py")
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def run_quick(scenario: str, out: Path, timeout: float = 60) -> dict[str, object]:
    """``portfolio.py --quick --scenario <scenario> --out <out>``; its JSON file."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--scenario", scenario, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
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
    the naive loop, at both per-row costs, and reports a lower bound and five targets each."""
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
    assert len(targets) == 10


@pytest.mark.timeout(120)
def test_quick_every_syncs_every_resource_against_its_lower_bound(tmp_path: Path) -> None:
    """--quick --scenario every: the engine and its rerun store every record of all the
    resources counted (child lists and reports included), with no error."""
    # Four runs of 124 resources over real 0.25 s rate windows: ~55 s on an idle machine.
    result = run_quick("every", tmp_path, timeout=110)
    runs = result["runs"]
    assert isinstance(runs, list)
    assert {run["contender"] for run in runs} == {"engine-sqlite", "engine-rerun"}
    extra = result["extra"]
    assert isinstance(extra, dict)
    units = extra["units"]
    assert {u["resource"] for u in units} >= {"product/productPrice", "balanceSheet"}
    records = extra["lower_bound"]["records"]
    assert all(run["records"] == records and not run["errors"] for run in runs)


def _postgres_here() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=2):
            return True
    except Exception:
        return False


def _duckdb_here() -> bool:
    try:
        import duckdb  # noqa: F401

        from tripletex_async.sinks import DuckDBSink  # type: ignore[attr-defined,unused-ignore] # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.timeout(90)
def test_quick_analyst_writes_results(tmp_path: Path) -> None:
    """analyst.py --quick: every database here (SQLite; PostgreSQL and DuckDB when they
    are) synced completely, its reference built, and each query giving the same answer on
    our tables and on the reference, and across databases."""
    done = subprocess.run(
        [sys.executable, str(ANALYST), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "analyst.json").read_text())
    expected = {"sqlite"}
    if _postgres_here():
        expected.add("postgres")
    if _duckdb_here():
        expected.add("duckdb")
    syncs = {s["database"]: s for s in result["syncs"]}
    assert set(syncs) == expected, result["skipped"]
    for sync in syncs.values():
        assert sync["errors"] == []
        assert sync["records"] == sync["expected"] > 20_000
        assert sum(sync["reference_bytes"].values()) > 0
    queries = result["queries"]
    assert {(q["database"], q["query"]) for q in queries} == {
        (db, key) for db in expected for key in "abc"
    }
    for q in queries:
        assert q["same"], (q["database"], q["state"], q["query"])
        assert q["rows"] > 0
        assert q["ours_ms"] > 0
        assert q["reference_ms"] > 0
    for key in "abc":
        assert len({q["digest"] for q in queries if q["query"] == key}) == 1
    # One target per database, state and query, plus one per sync; pass or miss is the
    # benchmark's to say.
    assert len(result["targets"]) == len(queries) + len(syncs)


@pytest.mark.timeout(60)
def test_quick_webhooks_writes_results(tmp_path: Path) -> None:
    """webhooks.py --quick: every delivery acknowledged and applied, targets stated."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("webhooks.py")), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "webhooks.json").read_text())
    assert result["result"]["errors"] == result["one_at_a_time"]["errors"] == 0
    assert {t["verdict"] for t in result["targets"]} <= {"PASS", "MISS"}


@pytest.mark.timeout(90)
def test_quick_scaleout_writes_results(tmp_path: Path) -> None:
    """scaleout.py --quick: the fleet synced by 1 and 2 worker processes, every row exact,
    no budget driven twice at once, the deep queue drained, targets stated."""
    if not _postgres_here():
        pytest.skip("no PostgreSQL at " + POSTGRES_URL)
    done = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("scaleout.py")), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "scaleout.json").read_text())
    runs = result["runs"]
    assert [r["workers"] for r in runs] == [1, 2]
    for run in runs:
        assert run["budgets_done"] == run["budgets"] == run["budgets_active"]
        assert run["overlaps"] == 0
        assert run["rows_expected"] == run["rows_stored"] > 0
        assert run["rows_lost"] == run["rows_unexpected"] == run["rows_different"] == 0
        assert run["lower_bound_s"] > 0
        assert len(run["peak_rss_mb"]) == run["workers"]
        assert run["peak_connections"] > 0
    assert result["queue"]["jobs_per_s"] > 0
    assert {t["verdict"] for t in result["targets"]} <= {"PASS", "MISS"}
