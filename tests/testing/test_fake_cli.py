"""The simulator's command line: flags, --summary, and serving until a signal."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tripletex_async.testing import FakeTripletex, generate_portfolio
from tripletex_async.testing._cli import (
    background,
    build_parser,
    company_token_lines,
    fake_config,
    main,
    portfolio_config,
    write_tokens_file,
)
from tripletex_async.testing._config import FullResultSize, RateLimit

from .fakekit import exports_of, http_get, http_session

pytestmark = pytest.mark.timeout(10)
SMALL = ["--companies", "3", "--scale", "0.05", "--seed", "7"]


def test_summary_prints_table(capsys: pytest.CaptureFixture[str]) -> None:
    """--summary prints a header, one row per company and totals, and exits 0."""
    assert main(["--summary", *SMALL]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, *rows, totals = lines
    assert header.split()[:2] == ["id", "name"]
    assert "customer" in header.split()
    assert len(rows) == 3
    assert all(row.split()[0].isdigit() for row in rows)
    assert totals.split()[0] == "total"
    column = header.split().index("customer") - 1  # totals row has no id cell
    per_company = [
        int(row.split()[-(len(header.split()) - header.split().index("customer"))]) for row in rows
    ]
    assert int(totals.split()[column]) == sum(per_company)


def test_bad_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown flag is argparse's exit 2 with a message."""
    with pytest.raises(SystemExit) as exited:
        main(["--bogus"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate-limit", "ten"], "LIMIT/PERIOD"),
        (["--rate-limit", "100/0"], "LIMIT/PERIOD"),
        (["--drop", "1.5"], "between 0 and 1"),
        (["--host", "0.0.0.0"], "loopback"),
        (["--port", "70000"], "port"),
        (["--full-result-size", "sometimes"], "invalid choice"),
        (["--companies", "-1"], "whole number"),
        (["--latency-per-row-us", "-5"], "must be >= 0"),
        (["--delivery-interval", "0"], "seconds > 0"),
        (["--mutate-every", "soon"], "not a number"),
        (["--companies", "3", "--empty-companies", "2", "--heavy-companies", "2"], "exceed"),
    ],
)
def test_bad_values_exit_2(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value is one clear argparse error and exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(flags)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_flags_become_fake_config() -> None:
    """Fault, latency, rate-limit and list flags land in FakeConfig."""
    args = build_parser().parse_args(
        [
            "--rate-limit", "100/10", "--rate-limit-reset-on-429", "--latency-ms", "20",
            "--latency-per-row-us", "200", "--jitter-ms", "5", "--fail-500", "0.1",
            "--fail-503", "0.2", "--drop", "0.01",
            "--truncate", "0.02", "--session-death", "0.03", "--fault-seed", "9",
            "--full-result-size", "zero", "--env", "prod",
        ]
    )  # fmt: skip
    config = fake_config(args)
    assert config.rate_limit == RateLimit(100, 10.0, reset_header_on_429=True)
    faults = config.faults
    assert (faults.seed, faults.latency, faults.jitter) == (9, 0.02, 0.005)
    assert faults.latency_per_row == pytest.approx(0.0002)
    assert (faults.error_500, faults.error_503) == (0.1, 0.2)
    assert (faults.drop, faults.truncate, faults.session_death) == (0.01, 0.02, 0.03)
    assert config.full_result_size is FullResultSize.ZERO
    assert (config.environment, config.host) == ("prod", "tripletex.no")


def test_per_row_latency_is_off_by_default() -> None:
    """Without --latency-per-row-us a response costs only the fixed latency."""
    assert fake_config(build_parser().parse_args([])).faults.latency_per_row == 0.0


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--companies", "5"], (1, 1)),
        (["--companies", "1"], (0, 1)),
        (["--companies", "100", "--empty-companies", "10", "--heavy-companies", "4"], (10, 4)),
        (["--companies", "3", "--empty-companies", "0", "--heavy-companies", "0"], (0, 0)),
    ],
)
def test_empty_and_heavy_company_flags(flags: list[str], expected: tuple[int, int]) -> None:
    """--empty-companies/--heavy-companies set the portfolio's; unset, one of each fits."""
    config = portfolio_config(build_parser().parse_args(flags))
    assert (config.empty_companies, config.heavy_companies) == expected


@pytest.mark.parametrize(("flags", "expected"), [([], True), (["--no-default-filters"], False)])
def test_no_default_filters_flag_turns_the_list_defaults_off(
    flags: list[str], expected: bool
) -> None:
    """Hidden rows stay hidden by default; --no-default-filters sets default_filters=False."""
    assert fake_config(build_parser().parse_args(flags)).default_filters is expected


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery is POSIX-only here")
def test_serves_until_sigint() -> None:
    """The server prints its URL and tokens, answers, and exits 0 on SIGINT."""
    command = [sys.executable, "-m", "tripletex_async.testing", "--port", "0", *SMALL]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("listening on http://127.0.0.1:")
        exports = exports_of(lines)
        api = exports["TRIPLETEX_BASE_URL"]
        assert lines[0].split()[-1] == api
        token = http_session(
            api, exports["TRIPLETEX_CONSUMER_TOKEN"], exports["TRIPLETEX_EMPLOYEE_TOKEN"]
        )
        assert http_get(api, "/token/session/%3EwhoAmI", token)["value"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=5)
    assert process.returncode == 0
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery is POSIX-only here")
def test_prints_a_company_token_that_works_with_username_0() -> None:
    """After the accountant's lines: comments, TRIPLETEX_COMPANY_ID and a regular
    employee token of that company, which reads its data with Basic username 0."""
    command = [sys.executable, "-m", "tripletex_async.testing", "--port", "0", *SMALL]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(8)]
        assert [line.split("=")[0] for line in lines[1:4]] == [
            "export TRIPLETEX_BASE_URL",
            "export TRIPLETEX_CONSUMER_TOKEN",
            "export TRIPLETEX_EMPLOYEE_TOKEN",
        ]
        assert all(line.startswith("# ") for line in lines[4:6])
        exports = exports_of(lines)
        api, company = exports["TRIPLETEX_BASE_URL"], int(exports["TRIPLETEX_COMPANY_ID"])
        token = http_session(
            api, exports["TRIPLETEX_CONSUMER_TOKEN"], exports["TRIPLETEX_COMPANY_EMPLOYEE_TOKEN"]
        )
        who = http_get(api, "/token/session/%3EwhoAmI", token)
        customers = http_get(api, "/customer?fields=id", token)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=5)
    assert who["value"]["companyId"] == company
    assert customers["values"]


def test_help_says_which_token_is_which(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names the accountant's token and the company's regular employee token."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "TRIPLETEX_EMPLOYEE_TOKEN" in out
    assert "accounting office" in out
    assert "TRIPLETEX_COMPANY_EMPLOYEE_TOKEN" in out
    assert "username 0" in out


def test_company_token_is_of_a_company_with_data() -> None:
    """The printed company token belongs to a client that is not the empty one."""
    portfolio = generate_portfolio(portfolio_config(build_parser().parse_args(SMALL)))
    app = FakeTripletex(portfolio)
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in company_token_lines(app)
        if line.startswith("export ")
    )
    company = int(exports["TRIPLETEX_COMPANY_ID"])
    assert portfolio.role(company) != "empty"
    assert app.company_credentials(company).company_id == company


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], (None, None, 1)),
        (["--delivery-interval", "0.5"], (None, None, 1)),
        (["--deliver-webhooks"], (1.0, None, 1)),
        (["--deliver-webhooks", "--delivery-interval", "0.1"], (0.1, None, 1)),
        (["--mutate-every", "2", "--seed", "9"], (None, 2.0, 9)),
    ],
)
def test_webhook_flags_become_background_work(
    flags: list[str], expected: tuple[float | None, float | None, int]
) -> None:
    """--deliver-webhooks turns --delivery-interval on; --mutate-every is seeded by --seed."""
    work = background(build_parser().parse_args(flags))
    assert (work.deliver_every, work.mutate_every, work.seed) == expected


def test_help_says_plain_http_is_for_loopback_only(capsys: pytest.CaptureFixture[str]) -> None:
    """--help documents the webhook flags, curl, and that http targets must be loopback."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--deliver-webhooks" in out
    assert "--mutate-every" in out
    assert "plain HTTP only to loopback" in out
    assert "curl" in out


@pytest.mark.parametrize(("flags", "expected"), [([], 0), (["--standalone-companies", "4"], 4)])
def test_standalone_companies_flag(flags: list[str], expected: int) -> None:
    """--standalone-companies sets the portfolio's standalone companies; none by default."""
    assert portfolio_config(build_parser().parse_args(flags)).standalone == expected


def test_tokens_file_lists_every_budget(tmp_path: Path) -> None:
    """The tokens file is the JSON of budgets(), readable by its owner only."""
    args = build_parser().parse_args([*SMALL, "--standalone-companies", "2"])
    app = FakeTripletex(generate_portfolio(portfolio_config(args)))
    path = tmp_path / "tokens.json"
    write_tokens_file(app, path)
    entries = json.loads(path.read_text())
    assert entries == [budget.to_dict() for budget in app.budgets()]
    assert [e["kind"] for e in entries] == ["accountant", "company", "company"]
    assert set(entries[0]) == {"label", "kind", "consumer_token", "employee_token", "companies"}
    assert entries[0]["companies"] == app.portfolio.company_ids()
    assert [e["companies"] for e in entries[1:]] == [[c] for c in app.portfolio.standalone_ids()]
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.json"]


def test_unwritable_tokens_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tokens file that cannot be written is exit 1 with a message, before serving."""
    path = tmp_path / "missing" / "tokens.json"
    assert main([*SMALL, "--port", "0", "--tokens-file", str(path)]) == 1
    assert "cannot write --tokens-file" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery is POSIX-only here")
def test_tokens_file_is_there_when_listening(tmp_path: Path) -> None:
    """Once "listening on" is printed the tokens file is complete, and its standalone
    tokens open sessions; they appear on no output line."""
    path = tmp_path / "tokens.json"
    command = [sys.executable, "-m", "tripletex_async.testing", "--port", "0", *SMALL]
    command += ["--standalone-companies", "2", "--tokens-file", str(path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        api = process.stdout.readline().split()[-1]
        entries = json.loads(path.read_text())
        alone = entries[-1]
        token = http_session(api, alone["consumer_token"], alone["employee_token"])
        who = http_get(api, "/token/session/%3EwhoAmI", token)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=5)
    assert len(entries) == 3
    assert who["value"]["companyId"] == alone["companies"][0]
    assert all(e["employee_token"] not in out + err for e in entries[1:])
