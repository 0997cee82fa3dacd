"""Shared by the benchmark scripts: the simulator in its own process, and session setup.

Two ways to start it, both in a subprocess on a free loopback port:

* ``Simulator(flags)``: ``python -m tripletex_async.testing`` with its own flags (the
  default portfolio: one empty and one heavy client, sizes drawn per company);
* ``Simulator(flags, portfolio=True)``: this file run as a script, serving a uniform
  accountant portfolio for the sync benchmarks: every client company holds exactly
  ``--records-per-company`` customers and nothing else is generated ahead of time.
  The customers are generated before the port is announced, the page cache is sized to
  hold the whole workload (``--page-cache-mb``) and every ``/v2/`` request's completion
  time and status is recorded, readable at ``GET /_bench/stamps?from=N``, so that a
  benchmark can count requests, 429s and calls per rate-limit window server-side.
  With ``--field`` it serves instead the portfolio the simulator's own flags describe
  (sizes spread per company, ``--empty-companies``, ``--heavy-companies``), every
  collection generated before the port is announced; ``GET /_bench/summary`` gives its
  record counts per company, for a benchmark to check it generated the same one.

Both hide rows as Tripletex does only with ``default_filters=True``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

__all__ = [
    "Simulator",
    "basic",
    "create_session",
    "machine",
    "read_stamps",
    "read_summary",
    "today",
]

OSLO = ZoneInfo("Europe/Oslo")

#: One request as the portfolio server saw it: (monotonic seconds, HTTP status).
Stamp = tuple[float, int]


class Simulator:
    """The simulator in a subprocess on a free port; stopped with SIGTERM on exit."""

    def __init__(
        self, flags: list[str], *, portfolio: bool = False, default_filters: bool = False
    ) -> None:
        entry = [str(Path(__file__).resolve())] if portfolio else ["-m", "tripletex_async.testing"]
        # Every contender must see the same rows: the naive loop, the raw pipeline and dlt
        # would not ask for the inactive customers Tripletex hides by default (the field
        # scenario's contenders all read every partition, as the engine does).
        hiding = [] if default_filters else ["--no-default-filters"]
        command = [sys.executable, *entry, "--port", "0", *hiding, *flags]
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


def machine(**extra: object) -> dict[str, object]:
    """What every benchmark's JSON says about where and when it ran, plus ``extra``."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        **extra,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def today() -> date:
    """Today in Oslo: the day a session's ``expirationDate`` must be after (the simulator
    and Tripletex count in Oslo time; the machine's date is a day behind from midnight
    Oslo to midnight UTC) and the day the engine's default date range starts from."""
    return datetime.now(OSLO).date()


def basic(username: int, token: str) -> str:
    """Tripletex Basic auth: base64("<company id or 0>:<session token>")."""
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


async def create_session(http: aiohttp.ClientSession, api: str, env: dict[str, str]) -> str:
    """A session token through ``POST /token/session/:create``, valid until tomorrow."""
    body = {
        "consumerToken": env["TRIPLETEX_CONSUMER_TOKEN"],
        "employeeToken": env["TRIPLETEX_EMPLOYEE_TOKEN"],
        "expirationDate": (today() + timedelta(days=1)).isoformat(),
    }
    async with http.post(f"{api}/token/session/:create", json=body) as response:
        response.raise_for_status()
        payload = await response.json(content_type=None)
    return str(payload["value"]["token"])


def read_summary(api: str) -> list[tuple[int, str, dict[str, int]]]:
    """What ``--field`` serves: (company id, name, records per resource) per client."""
    url = f"{api.removesuffix('/v2')}/_bench/summary"
    with urllib.request.urlopen(url, timeout=30) as response:
        payload = json.loads(response.read())
    return [(int(c), str(n), dict(counts)) for c, n, counts in payload["summary"]]


def read_stamps(api: str, start: int) -> tuple[list[Stamp], int]:
    """The portfolio server's request stamps from index ``start``, and the next index."""
    url = f"{api.removesuffix('/v2')}/_bench/stamps?from={start}"
    with urllib.request.urlopen(url, timeout=30) as response:
        payload = json.loads(response.read())
    return [(float(t), int(s)) for t, s in payload["stamps"]], int(payload["next"])


# -- the portfolio server (this file run as a script) ----------------------------------


def _portfolio_main() -> int:
    """Serve a uniform portfolio: ``--companies`` clients of ``--records-per-company``;
    with ``--field``, the portfolio the simulator's flags describe."""
    # Imported here: the benchmark scripts that only start the simulator need none of it.
    import anyio

    from tripletex_async.testing import (
        FakeTripletex,
        PortfolioConfig,
        _app,
        generate_portfolio,
        serve,
    )
    from tripletex_async.testing._cli import add_arguments, fake_config, portfolio_config
    from tripletex_async.testing._http import FakeRequest, FakeResponse, json_response

    parser = argparse.ArgumentParser(description=_portfolio_main.__doc__)
    add_arguments(parser)
    parser.add_argument("--page-cache-mb", type=int, default=512)
    parser.add_argument("--field", action="store_true", help="the flags' own portfolio")
    args = parser.parse_args()
    records = 1000 if args.records_per_company is None else args.records_per_company
    if args.field:
        config = portfolio_config(args)
    else:
        config = PortfolioConfig(
            seed=args.seed,
            companies=args.companies,
            empty_companies=0,
            heavy_companies=0,
            year=args.year,
            sizes={"customer": records},
        )
    app = FakeTripletex(generate_portfolio(config), fake_config(args))
    # Every contender then pays the network, never the server's data generation.
    served = app.portfolio.resources() if args.field else ["customer"]
    for company in app.portfolio.company_ids():
        for resource in served:
            app.records(company, resource)
    # The page cache is a module constant of the simulator; sized here so that a sweep
    # over the workload never evicts pages a contender measured later would ask for.
    _app._PAGE_CACHE_BYTES = args.page_cache_mb * 2**20
    stamps: list[Stamp] = []

    async def handle(request: FakeRequest) -> FakeResponse:
        if request.path == "/_bench/stamps":
            start = int(request.params().get("from", "0"))
            return json_response(200, {"stamps": stamps[start:], "next": len(stamps)})
        if request.path == "/_bench/summary":
            return json_response(200, {"summary": app.portfolio.summary()})
        response = await app.handle(request)
        if request.path.startswith("/v2/"):
            stamps.append((time.monotonic(), response.status))
        return response

    async def run() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with serve(handle, host=args.host, port=args.port) as server:
                tokens = app.credentials
                lines = [
                    f"listening on {server.api_url}",
                    f"export TRIPLETEX_BASE_URL={shlex.quote(server.api_url)}",
                    f"export TRIPLETEX_CONSUMER_TOKEN={shlex.quote(tokens.consumer_token)}",
                    f"export TRIPLETEX_EMPLOYEE_TOKEN={shlex.quote(tokens.employee_token)}",
                ]
                print("\n".join(lines), flush=True)
                async for _ in signals:
                    return

    anyio.run(run)
    return 0


if __name__ == "__main__":
    raise SystemExit(_portfolio_main())
