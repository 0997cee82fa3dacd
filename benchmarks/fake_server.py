"""Throughput of the simulator's loopback server (``python -m tripletex_async.testing``).

What it measures: requests per second the simulator sustains, served by its h11 loopback
server in a subprocess, for

* ``small``: ``GET /v2/company/>withLoginAccess?count=1`` (a one-row page, under 1 KB), and
* ``page1000``: ``GET /v2/customer?count=1000&from=0`` for the client company with the
  most customers (a 1000-row page, about 1.5 MB with all fields),

each for ~5 seconds (1 with ``--quick``), from an aiohttp client with 32 concurrent
keep-alive connections. Against what: nothing but itself; the numbers tell whether the
simulator can keep up with the sync engine's benchmarks (it must be well above them),
and catch regressions in the server or the simulator's list path.

Prints a table and writes ``benchmarks/results/fake_server.json``.
Run: ``python benchmarks/fake_server.py [--quick] [--connections 32]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yarl
from _simulator import Simulator, basic, create_session, machine

RESULTS = Path(__file__).parent / "results" / "fake_server.json"
#: Simulator flags: enough customers per company for full 1000-row pages.
SERVER_FLAGS = ["--companies", "3", "--records-per-company", "1500", "--scale", "0.2"]


@dataclass(frozen=True)
class Result:
    """One scenario's numbers."""

    scenario: str
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    megabytes_per_second: float
    rows_per_page: int
    p50_ms: float
    p99_ms: float


async def biggest_client(http: aiohttp.ClientSession, api: str, token: str) -> tuple[int, int]:
    """The client company (id, rows) whose first customer page is the fullest."""
    url = yarl.URL(f"{api}/company/%3EwithLoginAccess?count=1000", encoded=True)
    async with http.get(url, headers={"Authorization": basic(0, token)}) as response:
        response.raise_for_status()
        clients = (await response.json(content_type=None))["values"]
    best = (0, -1)
    for client in clients:
        company = int(client["id"])
        headers = {"Authorization": basic(company, token)}
        async with http.get(f"{api}/customer?count=1000&from=0", headers=headers) as response:
            rows = len((await response.json(content_type=None))["values"])
        best = max(best, (company, rows), key=lambda pair: pair[1])
    if best[1] < 0:
        raise SystemExit("the simulator lists no client companies")
    return best


async def measure(
    http: aiohttp.ClientSession,
    scenario: str,
    url: yarl.URL,
    authorization: str,
    *,
    seconds: float,
    connections: int,
    rows: int,
) -> Result:
    """Keep ``connections`` requests in flight for ``seconds``; count what completes."""
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        headers = {"Authorization": authorization}
        while (start := time.perf_counter()) < deadline:
            try:
                async with http.get(url, headers=headers) as response:
                    body = await response.read()
                    ok = response.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
                sizes.append(len(body))
            else:
                errors += 1

    began = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for _ in range(connections):
            tg.create_task(worker())
    elapsed = time.perf_counter() - began
    cut = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    return Result(
        scenario=scenario,
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 3),
        requests_per_second=round(len(latencies) / elapsed, 1),
        megabytes_per_second=round(sum(sizes) / elapsed / 1e6, 2),
        rows_per_page=rows,
        p50_ms=round(cut[49] * 1000, 2),
        p99_ms=round(cut[98] * 1000, 2),
    )


async def run(simulator: Simulator, seconds: float, connections: int) -> list[Result]:
    """Both scenarios against a running simulator."""
    api = simulator.exports["TRIPLETEX_BASE_URL"]
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        token = await create_session(http, api, simulator.exports)
        company, rows = await biggest_client(http, api, token)
        small = yarl.URL(f"{api}/company/%3EwithLoginAccess?count=1", encoded=True)
        page = yarl.URL(f"{api}/customer?count=1000&from=0", encoded=True)
        opts: dict[str, Any] = {"seconds": seconds, "connections": connections}
        return [
            await measure(http, "small", small, basic(0, token), rows=1, **opts),
            await measure(http, "page1000", page, basic(company, token), rows=rows, **opts),
        ]


def report(results: list[Result], meta: dict[str, Any]) -> None:
    """Print the table and write the JSON file."""
    print(f"{'scenario':<10} {'req/s':>9} {'MB/s':>8} {'rows':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(
            f"{r.scenario:<10} {r.requests_per_second:>9.1f} {r.megabytes_per_second:>8.2f}"
            f" {r.rows_per_page:>5} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
            + (f"  ({r.errors} errors)" if r.errors else "")
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "results": [asdict(r) for r in results]}
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS}")


def main() -> int:
    """Parse flags, start the simulator, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 second per scenario")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 5.0
    simulator = Simulator(SERVER_FLAGS)
    try:
        results = asyncio.run(run(simulator, seconds, args.connections))
    finally:
        simulator.stop()
    meta = machine(
        connections=args.connections,
        seconds_per_scenario=seconds,
        server_flags=SERVER_FLAGS,
    )
    report(results, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
