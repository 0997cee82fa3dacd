"""Usage and configuration errors: one ``error:`` line (or argparse's usage), exit 2, and
no request sent."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tripletex_async.cli._args import build_parser, parse_args
from tripletex_async.cli._main import main
from tripletex_async.client._clock import OSLO
from tripletex_async.engine._registry import group_of
from tripletex_async.engine._resources import DEFAULT_RESOURCES, RESOURCES
from tripletex_async.engine._sync import default_date_range

from .conftest import Run, Served


@pytest.mark.usefixtures("tokens_env")
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--date-from", "2025-13-01"], "not a date"),
        (["--date-from", "2025-02-01", "--date-to", "2025-01-01"], "must be after --date-from"),
        (["--resources", "customer,bogus"], "unknown resource(s) bogus"),
        (["--resources", "bank/statemnt"], "unknown resource(s) bank/statemnt"),
        (["--resources", "ledger/postingByDate"], "never synced: the postings of /ledger"),
        (["--resources", "customer", "--exclude-resources", "invoicing"], "leaves no resources"),
        (["--company", "abc"], "a company id is a whole number"),
        (["--company", "1,,2"], "a company id is a whole number"),
        (["--all-companies", "--company", "1"], "not allowed with argument"),
        (["--page-size", "0"], "1..10000"),
        (["--report-json", "/no/such/dir/r.json"], "no such directory"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2(run: Run, served: Served, flags: list[str], message: str) -> None:
    """A bad flag or value is one line saying what is wrong and exit 2, before any request."""
    result = run("sync", "--base-url", served.api_url, *flags)
    assert result.code == 2
    assert message in result.err
    assert result.err.startswith("error: ")
    assert len(result.err.splitlines()) == 1, result.err
    assert served.requests == []


def test_missing_token_exits_2(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """No employee token: one error line naming the variable, exit 2."""
    monkeypatch.setenv("TRIPLETEX_CONSUMER_TOKEN", "test-consumer")
    monkeypatch.delenv("TRIPLETEX_EMPLOYEE_TOKEN", raising=False)
    result = run("sync", "--base-url", "http://127.0.0.1:1/v2", "--sink", "memory:")
    assert result.code == 2
    assert result.err == ("error: no employee token: set TRIPLETEX_EMPLOYEE_TOKEN\n")


def test_bad_token_exits_2(run: Run, served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens Tripletex refuses end the run at session creation: exit 2, token not shown."""
    monkeypatch.setenv("TRIPLETEX_CONSUMER_TOKEN", served.fake.credentials.consumer_token)
    monkeypatch.setenv("TRIPLETEX_EMPLOYEE_TOKEN", "test-not-a-real-token")
    result = run("sync", "--base-url", served.api_url, "--sink", "memory:")
    assert result.code == 2
    assert result.err.startswith("error: Tripletex refused the tokens")
    assert "test-not-a-real-token" not in result.err
    assert "Traceback" not in result.err


@pytest.mark.usefixtures("tokens_env")
def test_test_token_against_prod_exits_2(run: Run, served: Served) -> None:
    """The simulator's ``test-`` tokens are refused for --env prod before any request."""
    assert served.fake.credentials.consumer_token.startswith("test-")
    result = run("sync", "--env", "prod", "--sink", "memory:")
    assert result.code == 2
    assert "refusing to send a test token" in result.err
    assert served.requests == []


@pytest.mark.usefixtures("tokens_env")
def test_token_flags_warn_about_shell_history(run: Run, served: Served) -> None:
    """Tokens given as flags work, with a warning on stderr that never repeats them."""
    token = served.fake.credentials.employee_token
    result = run("companies", "--base-url", served.api_url, "--employee-token", token)
    assert result.code == 0, result.err
    assert "warning: --employee-token puts the token in your shell history" in result.err
    assert token not in result.err + result.out


def test_no_command_exits_2(run: Run) -> None:
    """Without a command: argparse's usage and exit 2."""
    result = run()
    assert result.code == 2
    assert "usage: tripletex-async" in result.err


def test_help_shows_the_default_resources_and_dates(run: Run) -> None:
    """sync --help names every default resource and today's default date range."""
    result = run("sync", "--help")
    assert result.code == 0
    start, end = default_date_range(datetime.now(OSLO).date())
    text = " ".join(result.out.split())
    assert f"default: {start}" in text
    assert f"default: {end}" in text
    assert all(f" {name}," in text or f" {name})" in text for name in DEFAULT_RESOURCES)
    assert "default: sqlite:///tripletex.db" in text


def test_parser_defaults_follow_the_given_day() -> None:
    """The date defaults are computed from the day the parser is built for."""
    args = build_parser(date(2030, 6, 1)).parse_args(["sync"])
    assert (args.date_from, args.date_to) == (date(2029, 1, 1), date(2031, 1, 1))
    assert args.company is None
    assert args.all_companies is False


def test_fake_server_is_delegated(capsys: pytest.CaptureFixture[str]) -> None:
    """fake-server hands its flags to the simulator's command line."""
    assert main(["fake-server", "--summary", "--companies", "2", "--scale", "0.05"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["id", "name"]


@pytest.mark.parametrize(
    ("flags", "resources"),
    [
        (["--resources", "default", "--exclude-resources", "group:ledger,group:project"],
         ["customer", "supplier", "contact", "employee", "department", "product",
          "ledger/vatType", "currency", "order", "invoice", "supplierInvoice"]),
        (["--resources", "project"], ["project"]),
        (["--resources", "/customer/,customer"], ["customer"]),
    ],
)  # fmt: skip
def test_resources_are_chosen_by_name_group_or_all(flags: list[str], resources: list[str]) -> None:
    """Groups stand for the synced resources in them (``tripletex-async resources``),
    ``all`` for every synced one; ``--exclude-resources`` takes names or groups out."""
    args = parse_args(["sync", *flags], date(2026, 12, 7))
    assert list(args.resources) == resources


def test_a_group_is_every_resource_in_it() -> None:
    """``--resources invoicing`` is each resource of that group, default set or not."""
    args = parse_args(["sync", "--resources", "invoicing,ledger/posting"], date(2026, 12, 7))
    chosen = list(args.resources)
    assert {"customer", "order", "invoice", "order/orderGroup", "reminder"} <= set(chosen)
    assert chosen[-1] == "ledger/posting"
    assert all(group_of(name) == "invoicing" for name in chosen[:-1])


def test_all_is_every_resource_and_default_the_core() -> None:
    """``all`` is every synced resource; ``default`` the set a run takes unasked."""
    day = date(2026, 12, 7)
    assert list(parse_args(["sync", "--resources", "all"], day).resources) == list(RESOURCES)
    assert parse_args(["sync", "--resources", "default"], day).resources == DEFAULT_RESOURCES
