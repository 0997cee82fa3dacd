"""The portfolio benchmark runs end to end in its quick mode and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "portfolio.py"


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
