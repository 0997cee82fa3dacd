"""``tripletex-async sync`` against the simulator on loopback: data, reports, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tripletex_async.engine._resources import DEFAULT_RESOURCES

from .conftest import DATES, Run, Served, expected_counts, table_counts

pytestmark = pytest.mark.usefixtures("tokens_env")


def sync_args(served: Served, db: Path, *more: str) -> list[str]:
    return ["sync", "--base-url", served.api_url, "--sink", f"sqlite:///{db}", *DATES, *more]


def test_all_companies_into_sqlite_stores_exact_row_counts(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """Every table holds, per company, exactly the simulator's records (dated: in range)."""
    db = tmp_path / "all.db"
    result = run(*sync_args(served, db, "--all-companies"))
    assert result.code == 0, result.err
    for resource in DEFAULT_RESOURCES:
        assert table_counts(db, resource) == expected_counts(served.fake, resource), resource


def test_summary_table_goes_to_stdout(run: Run, served: Served, tmp_path: Path) -> None:
    """The summary lists every resource and a total line; stdout has no log lines."""
    result = run(*sync_args(served, tmp_path / "s.db", "--all-companies"))
    assert result.code == 0, result.err
    assert "by resource" in result.out
    for resource in DEFAULT_RESOURCES:
        assert resource in result.out
    assert "3 companies, all synced" in result.out
    assert '"event"' not in result.out


def test_a_bounded_run_exits_0_says_what_is_left_and_the_next_completes(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """--max-requests: the run stops at its bound (exit 0, one line saying windows are
    left), and a plain rerun brings every table to the simulator's counts."""
    db, report = tmp_path / "bounded.db", tmp_path / "bounded.json"
    args = sync_args(served, db, "--all-companies")
    result = run(*args, "--max-requests", "20", "--report-json", str(report))
    assert result.code == 0, result.err
    assert "windows left for the next run (--max-requests or --deadline was" in result.out
    total = json.loads(report.read_text())["total"]
    assert total["deferred"] > 0
    assert total["requests"] <= 20
    assert run(*args).code == 0
    for resource in DEFAULT_RESOURCES:
        assert table_counts(db, resource) == expected_counts(served.fake, resource), resource


def test_a_bounded_run_does_not_call_itself_all_synced(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """The summary's headline and the company table say which companies were left in
    part for the next run."""
    args = sync_args(served, tmp_path / "part.db", "--all-companies", "--max-requests", "20")
    result = run(*args)
    assert result.code == 0, result.err
    assert "all synced" not in result.out
    assert " in part:" in result.out
    assert "deferred" in result.out


def test_a_deadline_that_has_passed_exits_2_and_creates_nothing(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """--deadline in the past: one line naming it, exit 2, no database file."""
    db = tmp_path / "late.db"
    result = run(*sync_args(served, db, "--all-companies", "--deadline", "2020-01-01T06:00"))
    assert result.code == 2
    assert "deadline" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not db.exists()


def test_rerun_is_incremental(run: Run, served: Served, tmp_path: Path) -> None:
    """A second run fetches nothing: every window answers 304."""
    db, report = tmp_path / "inc.db", tmp_path / "inc.json"
    assert run(*sync_args(served, db, "--all-companies")).code == 0
    result = run(*sync_args(served, db, "--all-companies", "--report-json", str(report)))
    assert result.code == 0, result.err
    total = json.loads(report.read_text())["total"]
    assert total["records"] == 0
    assert total["unchanged"] == total["windows"] > 0


def test_full_rescans_despite_saved_state(run: Run, served: Served, tmp_path: Path) -> None:
    """--full ignores saved digests: records are fetched again, no 304."""
    db, report = tmp_path / "full.db", tmp_path / "full.json"
    assert run(*sync_args(served, db, "--all-companies")).code == 0
    result = run(*sync_args(served, db, "--all-companies", "--full", "--report-json", str(report)))
    assert result.code == 0, result.err
    total = json.loads(report.read_text())["total"]
    assert total["records"] > 0
    assert total["unchanged"] == 0


def test_report_json_holds_report_request_and_statistics(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """--report-json writes report.to_dict() plus the request, statistics and exit code."""
    report = tmp_path / "report.json"
    args = ["--all-companies", "--resources", "customer,invoice", "--report-json", str(report)]
    assert run(*sync_args(served, tmp_path / "r.db", *args)).code == 0
    data = json.loads(report.read_text())
    assert data["ok"] is True
    assert data["exit_code"] == 0
    assert {r["resource"] for r in data["resources"]} == {"customer", "invoice"}
    assert data["request"]["resources"] == ["customer", "invoice"]
    assert data["request"]["base_url"] == served.api_url
    assert data["statistics"]["requests"] >= data["total"]["requests"] > 0
    assert "budget" in data["statistics"]


def test_one_failing_company_exits_1_and_commits_the_rest(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A company refused the only resource asked for (403 on everything: the token
    cannot read it) fails alone: exit 1, the other one is stored."""
    db, report = tmp_path / "partial.db", tmp_path / "partial.json"
    bad, good = served.fake.portfolio.company_ids()[:2]
    served.refuse(monkeypatch, bad, "customer")
    args = ["--company", f"{good},{bad}", "--resources", "customer"]
    result = run(*sync_args(served, db, *args, "--report-json", str(report)))
    assert result.code == 1
    assert f"1 of 2 companies failed ({bad}); the others are committed" in result.err
    assert json.loads(report.read_text())["failed_companies"] == [bad]
    assert table_counts(db, "customer") == {good: len(served.fake.records(good, "customer"))}


def test_a_module_a_company_lacks_is_reported_not_enabled_and_exits_0(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """403 on one resource of one company (a module it has not enabled) is one line
    naming the group, the resource and the company; not an error: exit 0."""
    db = tmp_path / "modules.db"
    company = served.fake.portfolio.company_ids()[0]
    served.refuse(monkeypatch, company, "project")
    result = run(*sync_args(served, db, "--all-companies", "--resources", "customer,project"))
    assert result.code == 0, result.err
    assert f"not enabled (403, not an error): project (project) in 1 company ({company})" in (
        result.out + result.err
    )
    assert "failed" not in result.err


def test_progress_lines_when_not_a_terminal(run: Run, served: Served, tmp_path: Path) -> None:
    """Off a terminal, progress comes as JSON log lines at the given interval."""
    args = ["--all-companies", "--progress-interval", "0.01"]
    result = run(*sync_args(served, tmp_path / "p.db", *args))
    assert result.code == 0
    lines = [json.loads(line) for line in result.err.splitlines() if "sync_progress" in line]
    assert lines, result.err
    assert {"records", "requests", "not_modified", "rate_limited", "budget"} <= set(lines[-1])


def test_unreachable_sink_exits_2(run: Run, served: Served) -> None:
    """A PostgreSQL sink nobody listens on is one error line and exit 2, found once the
    tokens and companies proved right and before any company's data is asked for."""
    sink = "postgresql://postgres@127.0.0.1:1/x"
    result = run("sync", "--base-url", served.api_url, "--sink", sink, "--all-companies")
    assert result.code == 2
    assert result.err.startswith("error: could not ")
    assert "PostgreSQL database postgres@127.0.0.1:1/x" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
    asked = {p for p in served.paths() if not p.startswith("token/session/")}
    assert asked == {"company/>withLoginAccess"}


def test_bad_sink_url_exits_2_before_any_request(run: Run, served: Served) -> None:
    """A sink URL that cannot be parsed is refused before anything is asked."""
    result = run("sync", "--base-url", served.api_url, "--sink", "sqlite:/no-slashes.db")
    assert result.code == 2
    assert result.err.startswith("error: a sqlite URL is")
    assert served.requests == []


def test_debug_shows_the_traceback(run: Run, served: Served) -> None:
    """--debug prints the traceback before the error line."""
    sink = "postgresql://postgres@127.0.0.1:1/x"
    result = run("sync", "--base-url", served.api_url, "--sink", sink, "--debug", "--all-companies")
    assert result.code == 2
    assert "Traceback" in result.err
    assert result.err.strip().splitlines()[-1].startswith("error: ")
