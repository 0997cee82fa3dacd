"""`webhooks serve` as its own process: it says where it listens once it does, exits at
once (2, one line) when it cannot listen, and a SIGTERM stops it cleanly, without the
sync's advice to rerun."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import Served

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM delivery is POSIX-only here"),
    pytest.mark.usefixtures("tokens_env"),
]


def start(served: Served, tmp_path: Path, port: int) -> subprocess.Popen[str]:
    """The receiver on ``port``, its output piped."""
    command = [
        sys.executable, "-m", "tripletex_async.cli", "webhooks", "serve",
        "--base-url", served.api_url, "--port", str(port),
        "--queue", str(tmp_path / "q.db"), "--sink", f"sqlite:///{tmp_path / 'w.db'}",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TRIPLETEX_WEBHOOK_HMAC_SECRET": "hmac-77"},
    )


def test_a_taken_port_exits_2_at_once_with_one_line(served: Served, tmp_path: Path) -> None:
    """With its port taken the receiver exits 2 within seconds, saying so, announcing
    nothing and leaking no secret."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        began = time.monotonic()
        out, err = start(served, tmp_path, port).communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    assert time.monotonic() - began < 15
    assert lines == [f"error: cannot listen on 127.0.0.1:{port}: the port is taken"], err
    assert "hmac-77" not in out + err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_stops_it_with_its_own_words(served: Served, tmp_path: Path) -> None:
    """Listening, then SIGTERM: it exits 143 saying acknowledged deliveries are queued,
    not the sync's "rerun the same command"; /health answered while it ran."""
    port = free_port()
    process = start(served, tmp_path, port)
    try:
        assert process.stderr is not None
        announced = process.stderr.readline()
        assert f"http://127.0.0.1:{port}/" in announced
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert (health.status_code, health.json()["queue_pending"]) == (200, 0)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signal.SIGTERM
    assert "acknowledged is in the queue" in err
    assert "rerun the same command" not in err
