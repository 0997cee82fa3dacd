"""Cost per request of `TripletexClient`'s two HTTP transports, against raw aiohttp.

What it measures: for 10, 50 and 200 requests in flight, the same small request
(``GET /v2/customer?count=1&fields=id`` for one client company, a 122-byte body) sent a
fixed number of times (3,000; 300 in one round with ``--quick``) by three contenders:

* ``httpx``: ``TripletexClient(transport="httpx")``, httpx 0.28's own connection pool;
* ``aiohttp``: ``TripletexClient(transport="aiohttp")``, httpx over httpx-aiohttp;
* ``raw-aiohttp``: a bare ``aiohttp.ClientSession`` with a fixed Basic header; no
  session handling, slots, rate budget, retries or logging. The floor to compare with.

Both clients get ``Limits(max_in_flight=N, per_company=N)`` so that the client's own
bounds never hold the level down. Each contender first sends ``N`` warm-up requests
(sessions and connections are opened outside the timed part). Per contender and level it
reports requests per second, the benchmark process's CPU time per request
(``time.process_time()``: the simulator runs in its own process, so this is the client's
cost alone), p50/p99 latency and errors. Contenders alternate within each of ``--rounds``
rounds (the order rotating); throughput and CPU are the median round's, latencies are
pooled over the rounds.

Against what: raw aiohttp at the same level (the ratios printed), and the contender's
own cost at 10 in flight: a transport "collapses" when its CPU time per request at 200 in
flight is more than 3 times that at 10 (what encode/httpx#3215 describes for httpx's
pool). The simulator runs on loopback in a subprocess with ``--latency-ms`` of added
server latency per pass (default: a pass at 0 and one at 50).

Prints a table and writes ``benchmarks/results/transport.json``.
Run: ``python benchmarks/transport.py [--quick] [--rounds 3] [--latency-ms 0 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import logging
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import structlog
import yarl
from _simulator import Simulator, basic, create_session, machine

from tripletex_async import Limits, TripletexClient

RESULTS = Path(__file__).parent / "results" / "transport.json"
#: A small portfolio: the request measured reads one row, so data size does not matter.
SERVER_FLAGS = ["--companies", "2", "--scale", "0.05"]
LEVELS = (10, 50, 200)
CONTENDERS = ("httpx", "aiohttp", "raw-aiohttp")
BASELINE = "raw-aiohttp"
#: Above this ratio of CPU per request (200 in flight vs 10) a transport has collapsed.
COLLAPSE_RATIO = 3.0
PARAMS: dict[str, str | int] = {"count": 1, "fields": "id"}

#: One request, raising on any failure.
Send = Callable[[], Awaitable[None]]


class Row(msgspec.Struct):
    """The one field the measured request asks for."""

    id: int


class Page(msgspec.Struct):
    """A list envelope with only what the raw contender checks."""

    values: list[Row]


_decode_page = msgspec.json.Decoder(Page).decode


@dataclass(frozen=True)
class Target:
    """Where and as whom to send the measured request."""

    api: str
    consumer_token: str
    employee_token: str
    company: int
    #: A session token made once for the raw contender.
    session_token: str


@dataclass(frozen=True)
class Sample:
    """One timed run of one contender at one level."""

    requests: int
    errors: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]


@dataclass(frozen=True)
class Result:
    """One contender at one level and server latency: the median round."""

    server_latency_ms: float
    contender: str
    in_flight: int
    requests: int
    errors: int
    requests_per_second: float
    cpu_us_per_request: float
    p50_ms: float
    p99_ms: float
    rounds_requests_per_second: list[float]
    rounds_cpu_us_per_request: list[float]


async def discover(env: dict[str, str]) -> Target:
    """A session token and the first client company that has customers."""
    api = env["TRIPLETEX_BASE_URL"]
    async with aiohttp.ClientSession() as http:
        token = await create_session(http, api, env)
        url = yarl.URL(f"{api}/company/%3EwithLoginAccess?count=1000&fields=id", encoded=True)
        async with http.get(url, headers={"Authorization": basic(0, token)}) as response:
            response.raise_for_status()
            clients = (await response.json(content_type=None))["values"]
        for client in clients:
            headers = {"Authorization": basic(int(client["id"]), token)}
            async with http.get(f"{api}/customer", params=PARAMS, headers=headers) as response:
                if response.status == 200 and _decode_page(await response.read()).values:
                    return Target(
                        api,
                        env["TRIPLETEX_CONSUMER_TOKEN"],
                        env["TRIPLETEX_EMPLOYEE_TOKEN"],
                        int(client["id"]),
                        token,
                    )
    raise SystemExit("the simulator lists no client company with customers")


@asynccontextmanager
async def client_sender(transport: str, level: int, target: Target) -> AsyncIterator[Send]:
    """`TripletexClient` with ``transport``, bounded at ``level`` in flight."""
    client = TripletexClient(
        target.consumer_token,
        target.employee_token,
        base_url=target.api,
        transport="httpx" if transport == "httpx" else "aiohttp",
        limits=Limits(max_in_flight=level, per_company=level),
        environ={},
    )
    async with client:
        view = client.company(target.company)

        async def send() -> None:
            page = await view.get_list("/customer", Row, params=PARAMS)
            if not page.values:
                raise RuntimeError("an empty page")

        yield send


@asynccontextmanager
async def raw_sender(level: int, target: Target) -> AsyncIterator[Send]:
    """A bare aiohttp session with ``level`` connections and a fixed Basic header."""
    url = yarl.URL(f"{target.api}/customer?count=1&fields=id", encoded=True)
    headers = {
        "Authorization": basic(target.company, target.session_token),
        "Accept": "application/json",
    }
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=level)) as http:

        async def send() -> None:
            async with http.get(url, headers=headers) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")
            if not _decode_page(body).values:
                raise RuntimeError("an empty page")

        yield send


def sender(contender: str, level: int, target: Target) -> AbstractAsyncContextManager[Send]:
    """The async context manager giving ``contender``'s `Send`."""
    if contender == BASELINE:
        return raw_sender(level, target)
    return client_sender(contender, level, target)


async def drive(send: Send, requests: int, level: int) -> Sample:
    """Send ``requests`` requests from ``level`` workers; time and count them."""
    latencies: list[float] = []
    errors = 0
    left = requests

    async def worker() -> None:
        nonlocal errors, left
        while left > 0:
            left -= 1
            start = time.perf_counter()
            try:
                await send()
            except Exception:  # a benchmark counts every failure, of any kind
                errors += 1
            else:
                latencies.append(time.perf_counter() - start)

    cpu, began = time.process_time(), time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for _ in range(level):
            tg.create_task(worker())
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return Sample(requests, errors, seconds, cpu, latencies)


async def measure(contender: str, level: int, requests: int, target: Target) -> Sample:
    """Warm up (session, connections), then one timed run."""
    async with sender(contender, level, target) as send:
        await drive(send, level, level)
        gc.collect()
        return await drive(send, requests, level)


def summarize(latency_ms: float, contender: str, level: int, samples: list[Sample]) -> Result:
    """The median round's throughput and CPU, latencies pooled over all rounds."""
    rps = [s.requests / s.seconds for s in samples]
    cpu = [s.cpu_seconds / s.requests * 1e6 for s in samples]
    pooled = sorted(x for s in samples for x in s.latencies)
    cut = statistics.quantiles(pooled, n=100) if len(pooled) >= 2 else [0.0] * 99
    return Result(
        server_latency_ms=latency_ms,
        contender=contender,
        in_flight=level,
        requests=samples[0].requests,
        errors=sum(s.errors for s in samples),
        requests_per_second=round(statistics.median(rps), 1),
        cpu_us_per_request=round(statistics.median(cpu), 1),
        p50_ms=round(cut[49] * 1000, 2),
        p99_ms=round(cut[98] * 1000, 2),
        rounds_requests_per_second=[round(x, 1) for x in rps],
        rounds_cpu_us_per_request=[round(x, 1) for x in cpu],
    )


async def run_pass(
    latency_ms: float, env: dict[str, str], requests: int, rounds: int
) -> list[Result]:
    """Every contender at every level, ``rounds`` times, alternating contenders."""
    target = await discover(env)
    samples: dict[tuple[str, int], list[Sample]] = {}
    for r in range(rounds):
        # Rotate the order each round so no contender always runs first (or last).
        order = CONTENDERS[r % len(CONTENDERS) :] + CONTENDERS[: r % len(CONTENDERS)]
        for level in LEVELS:
            for contender in order:
                sample = await measure(contender, level, requests, target)
                print(
                    f"  {latency_ms:g} ms, round {r + 1}, {contender} x{level}:"
                    f" {sample.seconds:.2f} s",
                    file=sys.stderr,
                )
                samples.setdefault((contender, level), []).append(sample)
    return [
        summarize(latency_ms, contender, level, samples[contender, level])
        for level in LEVELS
        for contender in CONTENDERS
    ]


def ratios(results: list[Result]) -> dict[tuple[float, str, int], tuple[float, float]]:
    """(throughput, CPU per request) of each result divided by raw aiohttp's at its level."""
    base = {(r.server_latency_ms, r.in_flight): r for r in results if r.contender == BASELINE}
    out = {}
    for r in results:
        b = base[r.server_latency_ms, r.in_flight]
        out[r.server_latency_ms, r.contender, r.in_flight] = (
            r.requests_per_second / b.requests_per_second,
            r.cpu_us_per_request / b.cpu_us_per_request,
        )
    return out


def collapses(results: list[Result]) -> dict[str, float]:
    """Per pass and contender, CPU per request at the top level over that at the bottom."""
    by = {(r.server_latency_ms, r.contender, r.in_flight): r for r in results}
    out = {}
    for (latency, contender, level), r in by.items():
        if level == LEVELS[-1]:
            low = by[latency, contender, LEVELS[0]]
            out[f"{contender}@{latency:g}ms"] = r.cpu_us_per_request / low.cpu_us_per_request
    return out


def conclusion(results: list[Result]) -> list[str]:
    """Which client transport is fastest at the top level, and whether any collapses."""
    lines = []
    top = [r for r in results if r.in_flight == LEVELS[-1] and r.contender != BASELINE]
    for latency in sorted({r.server_latency_ms for r in top}):
        best = max(
            (r for r in top if r.server_latency_ms == latency),
            key=lambda r: r.requests_per_second,
        )
        lines.append(
            f"fastest TripletexClient transport at {LEVELS[-1]} in flight, {latency:g} ms:"
            f" {best.contender} ({best.requests_per_second:.0f} req/s)"
        )
    collapsed = {k: v for k, v in collapses(results).items() if v > COLLAPSE_RATIO}
    ratio_text = ", ".join(f"{k} {v:.2f}x" for k, v in collapses(results).items())
    lines.append(f"CPU per request, {LEVELS[-1]} vs {LEVELS[0]} in flight: {ratio_text}")
    lines.append("collapses (> {:g}x): {}".format(COLLAPSE_RATIO, ", ".join(collapsed) or "none"))
    return lines


def report(results: list[Result], meta: dict[str, Any]) -> None:
    """Print the table, the ratios and the conclusion; write the JSON file."""
    rel = ratios(results)
    print(
        f"{'server':>6} {'contender':<12} {'level':>5} {'req/s':>8} {'CPU us/req':>10}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'req/s vs raw':>12} {'CPU vs raw':>10}"
    )
    for r in results:
        speed, cpu = rel[r.server_latency_ms, r.contender, r.in_flight]
        print(
            f"{r.server_latency_ms:>4g}ms {r.contender:<12} {r.in_flight:>5}"
            f" {r.requests_per_second:>8.0f} {r.cpu_us_per_request:>10.0f}"
            f" {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6} {speed:>11.2f}x {cpu:>9.2f}x"
        )
    lines = conclusion(results)
    print("\n".join(lines))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "results": [asdict(r) for r in results],
        "collapse_ratios": {k: round(v, 2) for k, v in collapses(results).items()},
        "conclusion": lines,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS}")


def main() -> int:
    """Parse flags; per server latency start the simulator, measure, stop; report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 requests per run, 1 round")
    parser.add_argument("--requests", type=int, default=3000, help="per run (default 3000)")
    parser.add_argument("--rounds", type=int, help="default 3 (1 with --quick)")
    parser.add_argument(
        "--latency-ms", type=float, nargs="+", default=[0.0, 50.0], help="one pass each"
    )
    args = parser.parse_args()
    requests = 300 if args.quick else args.requests
    rounds = args.rounds or (1 if args.quick else 3)
    # The client logs every request at debug level; an unconfigured structlog prints it.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results: list[Result] = []
    began = time.perf_counter()
    for latency in args.latency_ms:
        simulator = Simulator([*SERVER_FLAGS, "--latency-ms", f"{latency:g}"])
        try:
            results += asyncio.run(run_pass(latency, simulator.exports, requests, rounds))
        finally:
            simulator.stop()
    meta = machine(
        requests_per_run=requests,
        rounds=rounds,
        levels=list(LEVELS),
        server_flags=SERVER_FLAGS,
        server_latency_ms=args.latency_ms,
        versions={name: version(name) for name in ("httpx", "httpx-aiohttp", "aiohttp")},
        # httpcore imports sniffio on every pool operation; a failed import is not cached,
        # so without sniffio each one searches sys.path again (~0.3 ms per request here).
        sniffio_installed=importlib.util.find_spec("sniffio") is not None,
        seconds=round(time.perf_counter() - began, 1),
    )
    report(results, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
