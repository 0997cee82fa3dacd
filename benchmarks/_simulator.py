"""Shared by the benchmark scripts: the simulator in its own process, and session setup."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from datetime import date, timedelta

import aiohttp

__all__ = ["Simulator", "basic", "create_session"]


class Simulator:
    """The simulator in a subprocess on a free port; stopped with SIGTERM on exit."""

    def __init__(self, flags: list[str]) -> None:
        command = [sys.executable, "-m", "tripletex_async.testing", "--port", "0", *flags]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.exports: dict[str, str] = {}
        assert self.process.stdout is not None
        # Blocking reads are fine here: nothing else runs until the server is up.
        for line in self.process.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                self.exports[name] = value
                if len(self.exports) == 3:
                    return
        raise SystemExit(f"the simulator exited early with status {self.process.wait()}")

    def stop(self) -> None:
        """SIGTERM, then wait; kill only if it does not exit in time."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def basic(username: int, token: str) -> str:
    """Tripletex Basic auth: base64("<company id or 0>:<session token>")."""
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


async def create_session(http: aiohttp.ClientSession, api: str, env: dict[str, str]) -> str:
    """A session token through ``POST /token/session/:create``, valid until tomorrow."""
    body = {
        "consumerToken": env["TRIPLETEX_CONSUMER_TOKEN"],
        "employeeToken": env["TRIPLETEX_EMPLOYEE_TOKEN"],
        "expirationDate": (date.today() + timedelta(days=1)).isoformat(),
    }
    async with http.post(f"{api}/token/session/:create", json=body) as response:
        response.raise_for_status()
        payload = await response.json(content_type=None)
    return str(payload["value"]["token"])
