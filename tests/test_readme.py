"""Every command and code block of the README runs, against the simulator."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tripletex_async.testing import (
    FakeTripletex,
    PortfolioConfig,
    ServerThread,
    generate_portfolio,
)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
SH = [line for kind, body in BLOCKS if kind == "sh" for line in body.splitlines() if line]
CLI = [line for line in SH if line.startswith("tripletex-async ")]
SCRIPT = str(Path(sys.executable).with_name("tripletex-async"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIPLETEX_")}
    return {**env, **extra}


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def simulator() -> tuple[FakeTripletex, str]:
    fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=3, scale=0.05)))
    with ServerThread(fake.handle) as server:
        yield fake, server.api_url


def test_install_and_test_commands_are_what_ci_runs() -> None:
    """The README's install and test commands are the ones .ci/run executes."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install -e ".[dev]"' in SH[0]
    assert 'pip install --quiet -e ".[dev]"' in ci
    assert "python -m pytest" in SH
    assert re.search(r"^\s*python -m pytest\s*$", ci, flags=re.M)


def test_demo_command_runs_twice(tmp_path: Path) -> None:
    """`tripletex-async demo` syncs, and a second run is incremental."""
    command = SH[0].split("&&")[-1].strip()
    assert command == "tripletex-async demo"
    first = run([SCRIPT, "demo"], tmp_path, clean_env())
    assert first.returncode == 0, first.stderr
    second = run([SCRIPT, "demo"], tmp_path, clean_env())
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "tripletex-demo.db").exists()


@pytest.mark.parametrize("line", CLI, ids=[line.split()[1] for line in CLI])
def test_cli_commands_without_tokens_fail_cleanly(line: str, tmp_path: Path) -> None:
    """As written (real account), each command without tokens says so and exits 2."""
    result = run([SCRIPT, *shlex.split(line)[1:]], tmp_path, clean_env())
    assert result.returncode == 2
    assert "token" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("line", CLI, ids=[line.split()[1] for line in CLI])
def test_cli_commands_run_against_the_simulator(
    line: str, tmp_path: Path, simulator: tuple[FakeTripletex, str]
) -> None:
    """Each command, with --env test pointed at the simulator, succeeds."""
    fake, url = simulator
    argv = shlex.split(line.replace("--env test", f"--base-url {url}"))
    env = clean_env(
        TRIPLETEX_CONSUMER_TOKEN=fake.credentials.consumer_token,
        TRIPLETEX_EMPLOYEE_TOKEN=fake.credentials.employee_token,
    )
    result = run([SCRIPT, *argv[1:]], tmp_path, env)
    assert result.returncode == 0, result.stderr


def test_python_example_runs(tmp_path: Path, simulator: tuple[FakeTripletex, str]) -> None:
    """The "Sync from Python" block runs as a script and fills tripletex.db, printing
    only what it prints itself: a library nobody configured logging for stays quiet."""
    fake, url = simulator
    code = next(body for kind, body in BLOCKS if kind == "python")
    env = clean_env(
        TRIPLETEX_BASE_URL=url,
        TRIPLETEX_CONSUMER_TOKEN=fake.credentials.consumer_token,
        TRIPLETEX_EMPLOYEE_TOKEN=fake.credentials.employee_token,
    )
    result = run([sys.executable, "-c", code], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tripletex.db").stat().st_size > 0
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert result.stderr == ""


def test_simulator_command_serves_until_interrupted(tmp_path: Path) -> None:
    """`python -m tripletex_async.testing ...` serves (on a free port here) until SIGINT."""
    line = next(line for line in SH if line.startswith("python -m tripletex_async.testing"))
    argv = shlex.split(line.replace("--port 8080", "--port 0"))
    argv[0] = sys.executable
    with subprocess.Popen(
        argv, cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout is not None
        banner = "".join(server.stdout.readline() for _ in range(3))
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=20)
    assert "http://127.0.0.1:" in banner
    assert server.returncode == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rows(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(sys.platform == "win32", reason="signals are POSIX-only here")
def test_webhook_example_receives_what_the_simulator_delivers(tmp_path: Path) -> None:
    """The README's webhook block, run as written against the simulator delivering on its
    own (--deliver-webhooks, --mutate-every): changed customers land in tripletex.db."""
    code = next(
        body for kind, body in BLOCKS if kind == "python" and "ensure_subscriptions" in body
    )
    flags = ["--port", "0", "--companies", "2", "--scale", "0.05", "--deliver-webhooks",
             "--delivery-interval", "0.2", "--mutate-every", "0.2"]  # fmt: skip
    simulator = subprocess.Popen(
        [sys.executable, "-m", "tripletex_async.testing", *flags],
        cwd=tmp_path,
        env=clean_env(PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    receiver = None
    try:
        assert simulator.stdout is not None
        lines = [simulator.stdout.readline() for _ in range(4)]
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        port = _free_port()
        env = clean_env(
            **exports,
            TRIPLETEX_WEBHOOK_HMAC_SECRET="readme-secret-42",
            WEBHOOK_URL=f"http://127.0.0.1:{port}/tripletex",
            PORT=str(port),
        )
        receiver = subprocess.Popen(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 40
        while _rows(tmp_path / "tripletex.db", "customer") == 0:
            assert receiver.poll() is None, receiver.communicate()[1]
            assert time.monotonic() < deadline, "no delivery reached tripletex.db"
            time.sleep(0.1)
    finally:
        for process in (receiver, simulator):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=20)
