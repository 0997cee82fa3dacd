"""Before anything is stored: a sync that cannot work says what to fix in one line, exits
2, and leaves no file behind (credentials, base URL, companies, report path, a lease)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tripletex_async import LeaseHeldError, LeaseLostError, SyncOptions
from tripletex_async.cli import _sync_cmd

from .conftest import DATES, Run, Served, expected_counts, table_counts

pytestmark = pytest.mark.usefixtures("tokens_env")

#: Requests that ask for no company data: the session, whoAmI and the company list.
NO_DATA = {"token/session/:create", "token/session/>whoAmI", "company/>withLoginAccess"}


def sync_args(base_url: str, db: Path, *more: str) -> list[str]:
    return ["sync", "--base-url", base_url, "--sink", f"sqlite:///{db}", *DATES, *more]


def closed_port() -> int:
    """A loopback port nobody listens on (just released by the OS)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def use_company_token(served: Served, company: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sync with the employee token of one company (no client companies)."""
    token = served.fake.company_credentials(company).employee_token
    monkeypatch.setenv("TRIPLETEX_EMPLOYEE_TOKEN", token)


def asked_no_data(served: Served) -> bool:
    """Whether only the session, whoAmI and the company list were asked (and the session
    deleted)."""
    return {p for p in served.paths() if not p.startswith("token/session/")} <= NO_DATA


def test_refused_tokens_leave_no_file(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens Tripletex refuses: exit 2 and the SQLite file is never created."""
    monkeypatch.setenv("TRIPLETEX_EMPLOYEE_TOKEN", "test-not-a-real-token")
    db = tmp_path / "refused.db"
    result = run(*sync_args(served.api_url, db))
    assert result.code == 2
    assert result.err.startswith("error: Tripletex refused the tokens")
    assert not db.exists()


def test_unreachable_host_is_one_line_exit_2_and_no_file(run: Run, tmp_path: Path) -> None:
    """Nobody listening at the base URL: what to check, exit 2, nothing created."""
    root = f"http://127.0.0.1:{closed_port()}/v2"
    db = tmp_path / "unreachable.db"
    result = run(*sync_args(root, db))
    assert result.code == 2
    assert result.err == f"error: cannot reach {root}: connection refused; check --base-url/--env\n"
    assert not db.exists()


def test_base_url_without_v2_is_one_line_exit_2_and_no_file(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """A base URL that is not the API root: the 404 comes with the hint about /v2."""
    root = served.api_url.removesuffix("/v2")
    db = tmp_path / "no-v2.db"
    result = run(*sync_args(root, db))
    assert result.code == 2
    assert result.err == (
        f"error: {root}/token/session/:create answered 404: is the base URL the API root, "
        "ending in /v2?\n"
    )
    assert not db.exists()


def test_accountant_token_without_a_choice_names_the_flags(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """An accountant's token and no --company/--all-companies: one line, no data asked."""
    db = tmp_path / "accountant.db"
    result = run(*sync_args(served.api_url, db))
    assert result.code == 2
    clients = len(served.fake.portfolio.clients)
    assert result.err == (
        f"error: this token reaches {clients} client companies; "
        "use --all-companies or --company ID\n"
    )
    assert not db.exists()
    assert asked_no_data(served)


def test_accountants_own_company_is_one_line_exit_2_and_no_file(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """``--company 0`` with an accountant's token: its own company lets it read nothing,
    so the run stops before any data is asked or any file is made."""
    db = tmp_path / "own.db"
    result = run(*sync_args(served.api_url, db), "--company", "0")
    assert result.code == 2
    assert result.err.startswith("error: company ")
    assert result.err.endswith(
        "is this accountant token's own company, which lets it read no data; "
        "choose client companies: --all-companies or --company ID,...\n"
    )
    assert not db.exists()
    assert asked_no_data(served)


def test_unknown_company_is_named_and_nothing_is_stored(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """--company outside the portfolio: one line naming it, exit 2, no file, no data asked."""
    db = tmp_path / "unknown.db"
    good = served.fake.portfolio.company_ids()[0]
    result = run(*sync_args(served.api_url, db, "--company", f"{good},12345", "--company", "54321"))
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: this token does not reach companies 12345, 54321 ")
    assert "tripletex-async companies" in lines[0]
    assert "committed" not in result.err
    assert not db.exists()
    assert asked_no_data(served)


def test_company_lists_are_comma_separated_and_repeatable(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """--company a,b --company c syncs exactly those three companies."""
    db = tmp_path / "list.db"
    ids = served.fake.portfolio.company_ids()
    args = ["--company", f"{ids[0]},{ids[1]}", "--company", str(ids[2]), "--resources", "customer"]
    result = run(*sync_args(served.api_url, db, *args))
    assert result.code == 0, result.err
    assert table_counts(db, "customer") == expected_counts(served.fake, "customer")


def test_company_zero_is_the_token_owners_company(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--company 0 syncs the company that owns the employee token."""
    company = served.fake.portfolio.company_ids()[1]
    use_company_token(served, company, monkeypatch)
    db = tmp_path / "own.db"
    result = run(*sync_args(served.api_url, db, "--company", "0", "--resources", "customer"))
    assert result.code == 0, result.err
    assert table_counts(db, "customer") == {company: len(served.fake.records(company, "customer"))}


def test_all_companies_of_an_empty_portfolio_exits_2(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--all-companies with a token that reaches no client company says so: exit 2."""
    use_company_token(served, served.fake.portfolio.company_ids()[0], monkeypatch)
    db = tmp_path / "empty.db"
    result = run(*sync_args(served.api_url, db, "--all-companies"))
    assert result.code == 2
    assert result.err.startswith("error: the token reaches no client companies; ")
    assert "--all-companies" in result.err
    assert len(result.err.splitlines()) == 1
    assert not db.exists()


def test_report_json_to_a_directory_exits_2_before_any_request(
    run: Run, served: Served, tmp_path: Path
) -> None:
    """A --report-json that names a directory is refused before anything is asked."""
    db = tmp_path / "r.db"
    result = run(*sync_args(served.api_url, db, "--all-companies", "--report-json", str(tmp_path)))
    assert result.code == 2
    assert "--report-json" in result.err
    assert served.requests == []
    assert not db.exists()


def test_report_json_in_an_unwritable_directory_exits_2_before_any_request(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --report-json where the report cannot be written is refused up front."""
    import os

    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        return False if Path(path) == tmp_path else real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    report = tmp_path / "report.json"
    result = run(*sync_args(served.api_url, tmp_path / "r.db", "--report-json", str(report)))
    assert result.code == 2
    assert "not writable" in result.err
    assert served.requests == []


def test_all_companies_failing_does_not_claim_the_others_are_committed(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When every company failed, the error line does not speak of "the others"."""
    company = served.fake.portfolio.company_ids()[0]
    served.refuse(monkeypatch, company, "customer")
    args = ["--company", str(company), "--resources", "customer"]
    result = run(*sync_args(served.api_url, tmp_path / "f.db", *args))
    assert result.code == 1
    assert f"error: 1 of 1 company failed ({company})" in result.err
    assert "others" not in result.err


def test_wait_is_handed_to_the_sync_as_lease_wait(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--wait SECONDS becomes SyncOptions(lease_wait=SECONDS); the default is 0."""
    seen: list[SyncOptions] = []

    async def fake_sync(*args: Any, options: SyncOptions, **kwargs: Any) -> Any:
        seen.append(options)
        raise LeaseHeldError("held")

    monkeypatch.setattr(_sync_cmd, "sync", fake_sync)
    run(*sync_args(served.api_url, tmp_path / "w.db", "--all-companies", "--wait", "2.5"))
    run(*sync_args(served.api_url, tmp_path / "w.db", "--all-companies"))
    assert [o.lease_wait for o in seen] == [2.5, 0.0]


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_wait_must_be_seconds_not_negative(run: Run, served: Served, value: str) -> None:
    """--wait takes a number of seconds >= 0."""
    result = run("sync", "--base-url", served.api_url, "--wait", value)
    assert result.code == 2
    assert "--wait" in result.err
    assert served.requests == []


@pytest.mark.parametrize(
    "error",
    [
        LeaseHeldError("company 5 is being synced into this sink by pid 42 on host-a"),
        LeaseLostError("another run took the lease of company 5 over; nothing more was written"),
    ],
)
def test_lease_errors_exit_2_with_their_message_and_no_rerun_hint(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """Another run holding (or taking) the lease: its message as the one line, exit 2."""

    async def fake_sync(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(_sync_cmd, "sync", fake_sync)
    result = run(*sync_args(served.api_url, tmp_path / "l.db", "--all-companies"))
    assert result.code == 2
    assert result.err == f"error: {error}\n"
    assert "rerun" not in result.err


def test_a_lease_lost_by_every_task_at_once_is_one_line_exit_2(
    run: Run, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several tasks failing with the lost lease report it once, not "several errors"."""
    lost = LeaseLostError("this run's lease was taken over by another run")

    async def fake_sync(*args: Any, **kwargs: Any) -> Any:
        raise ExceptionGroup("tasks", [lost, LeaseLostError("again"), ValueError("other")])

    monkeypatch.setattr(_sync_cmd, "sync", fake_sync)
    result = run(*sync_args(served.api_url, tmp_path / "l.db", "--all-companies"))
    assert result.code == 2
    assert result.err == f"error: {lost}\n"
