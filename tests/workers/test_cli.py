"""``tripletex-async workers``: bad input is one clear line and exit 2, before anything
is stored or waited for."""

from __future__ import annotations

import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "tripletex_async.cli", "workers"]


def _run(*args: str, stdin: str = "", **environ: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **environ}
    return subprocess.run(
        [*CLI, *args], input=stdin, env=env, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "environ", "stdin", "says"),
    [
        (("status",), {}, "", "give --database URL"),
        (("status", "--database", "sqlite:///x.db"), {}, "", "workers need a PostgreSQL"),
        (
            ("status", "--database", "postgresql://sync:hunter2@127.0.0.1:1/fleet"),
            {}, "", "cannot connect to the workers' database sync@127.0.0.1:1/fleet",
        ),
        (
            ("register", "-", "--database", "postgresql://postgres@127.0.0.1:1/x"),
            {"TRIPLETEX_WORKERS_KEY": "0123456789abcdefXYZ"},
            '[{"consumer_token": "a-token", "employee_token": "env:E"}]',
            "must be a reference",
        ),
        (
            ("register", "-", "--database", "postgresql://postgres@127.0.0.1:1/x"),
            {"TRIPLETEX_WORKERS_KEY": "short"},
            '[{"consumer_token": "env:C", "employee_token": "env:E"}]',
            "TRIPLETEX_WORKERS_KEY must be set",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    args: tuple[str, ...], environ: dict[str, str], stdin: str, says: str
) -> None:
    done = _run(*args, stdin=stdin, **environ)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_register_prints_each_budgets_id_for_its_webhook_url(fresh_database: str) -> None:
    """The id (an HMAC, not a secret) is what a budget's webhook URL ends with."""
    from tripletex_async.workers import budget_id

    key = "a-server-key-for-the-cli-test"
    done = _run(
        "register", "-", "--database", fresh_database,
        stdin='[{"consumer_token": "env:C", "employee_token": "env:E", "label": "acme"}]',
        TRIPLETEX_WORKERS_KEY=key, C="consumer-token-1", E="employee-token-1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = budget_id("consumer-token-1", "employee-token-1", key.encode())
    assert done.stdout.splitlines()[1:] == [f"{expected}\tacme"]
    assert "token-1" not in done.stdout + done.stderr
