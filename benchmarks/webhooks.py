"""The webhook receiver on loopback: deliveries acknowledged and applied per second.

What it measures: `WebhookReceiver` (``create_app``: the durable `EventQueue`, a
`SQLiteSink` at ``synchronous=FULL``) served by uvicorn in its own process on 127.0.0.1,
taking ``customer.update`` deliveries signed by the simulator (auth header and HMAC,
every field of the customer in the payload, so nothing is fetched) from an aiohttp
client with 32 in flight. A 200 means the delivery's row is committed (fsync); an event
counts as applied when the queue marked it so, after the sink's own durable commit.

A second, short run sends one delivery at a time over one connection: its round trip is
the receiver's own latency, which a stall (a 40 ms delayed-ACK wait when a response goes
out in two writes without TCP_NODELAY, as before 2026-12-07) would multiply.

Reported: deliveries/s acknowledged (first send to last 200) and applied (first send to
last applied), p50/p95 acknowledgement latency (send to 200) and apply latency (200 to
applied), the server process's CPU per delivery, and the targets (issue 18: at least
1,000 deliveries/s acknowledged and applied on this 2-core machine; one delivery at a
time acknowledged in under 10 ms at p50) with PASS/MISS.
Against: the 313-356 deliveries/s acknowledged and 271-308 applied measured before the
queue's group commit (2026-12-06), on the same machine.

Run: ``python benchmarks/webhooks.py [--deliveries 20000] [--in-flight 32] [--out DIR]``
(~40 s); ``--quick``: 1,000 deliveries, seconds. Prints a table and writes
``results/webhooks.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

RESULTS = Path(__file__).parent / "results"
TARGET_PER_S = 1_000.0
#: The p50 round trip of one delivery at a time (the 40 ms stall fixed 2026-12-07 failed it).
TARGET_SERIAL_MS = 10.0
SERIAL = 300
BEFORE = {"acknowledged": (313, 356), "applied": (271, 308)}
SECRETS = {"header": "hdr-bench-secret", "hmac": "hmac-bench-secret"}


@dataclass(frozen=True, slots=True)
class Result:
    deliveries: int
    in_flight: int
    acknowledged_per_s: float
    applied_per_s: float
    ack_p50_ms: float
    ack_p95_ms: float
    apply_p50_ms: float
    apply_p95_ms: float
    server_cpu_us_per_delivery: float
    client_cpu_us_per_delivery: float
    errors: int


# -- the server process ----------------------------------------------------------------------


def _auth() -> Any:
    from tripletex_async.webhooks import Secret, WebhookAuth

    return WebhookAuth(
        header_name="x-tripletex-auth",
        header_value=Secret(SECRETS["header"]),
        hmac_secret=Secret(SECRETS["hmac"]),
    )


def serve(queue_path: str, sink_path: str, port_file: str, times_file: str) -> None:
    """Serve the receiver until SIGINT; then write when each key was applied."""
    import anyio

    from tripletex_async import TripletexClient
    from tripletex_async.webhooks import EventQueue
    from tripletex_async.webhooks._serve import create_app
    from tripletex_async.webhooks._serve import serve as serve_app

    applied: dict[str, float] = {}
    keys: dict[int, str] = {}

    class TimedQueue(EventQueue):
        """Notes each event's key when taken and the time it was marked applied."""

        async def take(self, limit: int) -> Any:
            events = await super().take(limit)
            keys.update((e.seq, e.key) for e in events)
            return events

        async def complete(self, applied_seqs: Any, dead: Any = (), tombstones: Any = ()) -> None:
            await super().complete(applied_seqs, dead, tombstones)
            now = time.time()
            for seq in applied_seqs:
                applied[keys.pop(seq)] = now

    async def main() -> None:
        async with TripletexClient(
            consumer_token="unused",
            employee_token="unused",
            base_url="http://127.0.0.1:9/v2",
            environ={},
        ) as client:
            app = create_app(f"sqlite:///{sink_path}", client, auth=_auth(), queue_path=queue_path)
            app.queue = TimedQueue(queue_path)
            app._worker._queue = app.queue
            app._worker._applier._queue = app.queue
            await serve_app(app, port=0, on_listening=lambda url: Path(port_file).write_text(url))

    start = resource.getrusage(resource.RUSAGE_SELF)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises SIGINT after its shutdown
        anyio.run(main)
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (end.ru_utime + end.ru_stime) - (start.ru_utime + start.ru_stime)
    Path(times_file).write_text(json.dumps({"applied": applied, "cpu_s": cpu}))


# -- the client (this process) ---------------------------------------------------------------


def deliveries(n: int, queue_path: str) -> list[tuple[bytes, dict[str, str]]]:
    """``n`` signed customer.update deliveries from the simulator, their subscription
    registered in the queue file."""
    import anyio

    from tripletex_async import RESOURCES, TripletexClient
    from tripletex_async.testing import (
        FakeTransport,
        FakeTripletex,
        PortfolioConfig,
        generate_portfolio,
    )
    from tripletex_async.webhooks import EventQueue, SubscriptionSpec, ensure_subscriptions

    fake = FakeTripletex(generate_portfolio(PortfolioConfig(seed=5, companies=2, scale=0.2)))
    company = max(
        (int(c["id"]) for c in fake.portfolio.clients),
        key=lambda c: fake.portfolio.count(c, "customer"),
    )
    auth = _auth()
    spec = SubscriptionSpec(
        "customer.update",
        "https://receiver.example/tripletex",
        RESOURCES["customer"].fields(),
        auth_header_name=auth.header_name,
        auth_header_value=auth.header_value,
        hmac_secret=auth.hmac_secret,
    )

    async def subscribe() -> None:
        async with (
            TripletexClient(
                consumer_token=fake.credentials.consumer_token,
                employee_token=fake.credentials.employee_token,
                base_url="http://tripletex.test/v2",
                transport=FakeTransport(fake),
                environ={},
            ) as client,
            EventQueue(queue_path) as queue,
        ):
            await ensure_subscriptions(client.company(company), [spec], registry=queue)

    anyio.run(subscribe)
    ids = [r["id"] for r in fake.records(company, "customer")]
    for i in range(n):
        fake.update(company, "customer", ids[i % len(ids)], {"name": f"Kunde {i} AS"})
    pending = list(fake.webhooks.pending)
    assert len(pending) == n, (len(pending), n)
    return [(d.body, d.headers) for d in pending]


async def send_all(
    url: str, work: list[tuple[bytes, dict[str, str]]], in_flight: int
) -> tuple[dict[str, tuple[float, float]], int]:
    """POST every delivery, ``in_flight`` at a time; (key -> (sent, acknowledged)), errors."""
    times: dict[str, tuple[float, float]] = {}
    errors = 0
    items = iter(work)
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            for body, headers in items:
                sent = time.time()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        times[headers["idempotency-key"]] = (sent, time.time())
                    else:
                        errors += 1

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return times, errors


async def wait_applied(url: str, limit: float = 120.0) -> None:
    """Poll ``/health`` until nothing is pending."""
    async with asyncio.timeout(limit), aiohttp.ClientSession() as session:
        while True:
            async with session.get(url + "health") as response:
                body = await response.json()
            if body["queue_pending"] == 0:
                return
            await asyncio.sleep(0.02)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(n: int, in_flight: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        queue_path, sink_path = f"{tmp}/webhooks.db", f"{tmp}/sync.db"
        port_file, times_file = f"{tmp}/url", f"{tmp}/times.json"
        work = deliveries(n, queue_path)
        command = [sys.executable, __file__, "--serve", queue_path, sink_path, port_file]
        profile = os.environ.get("WEBHOOKS_PROFILE")  # py-spy's raw output file
        spy = ["py-spy", "record", "--threads", "-r", "250", "--format", "raw", "-o", profile, "--"]
        server = subprocess.Popen([*(spy if profile else []), *command, times_file])
        try:
            while not Path(port_file).exists() or not Path(port_file).read_text():
                if server.poll() is not None:
                    raise RuntimeError("the receiver did not start")
                time.sleep(0.02)
            url = Path(port_file).read_text()
            cpu0 = time.process_time()
            times, errors = asyncio.run(send_all(url, work, in_flight))
            client_cpu = time.process_time() - cpu0
            asyncio.run(wait_applied(url))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        done = json.loads(Path(times_file).read_text())
    applied: dict[str, float] = done["applied"]
    first = min(sent for sent, _ in times.values())
    ack = [(a - s) * 1000 for s, a in times.values()]
    lag = [(applied[k] - a) * 1000 for k, (_, a) in times.items() if k in applied]
    return Result(
        deliveries=n,
        in_flight=in_flight,
        acknowledged_per_s=len(times) / (max(a for _, a in times.values()) - first),
        applied_per_s=len(applied) / (max(applied.values()) - first),
        ack_p50_ms=statistics.median(ack),
        ack_p95_ms=percentile(ack, 0.95),
        apply_p50_ms=statistics.median(lag),
        apply_p95_ms=percentile(lag, 0.95),
        server_cpu_us_per_delivery=done["cpu_s"] / n * 1e6,
        client_cpu_us_per_delivery=client_cpu / n * 1e6,
        errors=errors + n - len(applied),
    )


def targets(result: Result, serial: Result) -> list[dict[str, Any]]:
    """Each target as (name, value, verdict); the last two are bounds from above."""
    at_least = [
        ("acknowledged deliveries/s >= 1,000", result.acknowledged_per_s, TARGET_PER_S),
        ("applied deliveries/s >= 1,000", result.applied_per_s, TARGET_PER_S),
    ]
    at_most = [
        ("one at a time: ack p50 ms <= 10", serial.ack_p50_ms, TARGET_SERIAL_MS),
        ("deliveries lost or refused == 0", float(result.errors + serial.errors), 0.0),
    ]
    return [
        {"target": name, "value": value, "verdict": "PASS" if ok else "MISS"}
        for name, value, ok in [
            *((n, v, v >= b) for n, v, b in at_least),
            *((n, v, v <= b) for n, v, b in at_most),
        ]
    ]


def report(result: Result, serial: Result, checks: list[dict[str, Any]]) -> None:
    low, high = BEFORE["acknowledged"]
    print(f"\nwebhooks: {result.deliveries} deliveries, {result.in_flight} in flight")
    print("| measure | value | before (2026-12-06) |")
    print("|---|---:|---:|")
    print(f"| acknowledged/s | {result.acknowledged_per_s:,.0f} | {low}-{high} |")
    low, high = BEFORE["applied"]
    print(f"| applied/s | {result.applied_per_s:,.0f} | {low}-{high} |")
    print(f"| ack p50 / p95 ms | {result.ack_p50_ms:.1f} / {result.ack_p95_ms:.1f} | |")
    print(f"| apply p50 / p95 ms | {result.apply_p50_ms:.1f} / {result.apply_p95_ms:.1f} | |")
    print(f"| server CPU µs/delivery | {result.server_cpu_us_per_delivery:,.0f} | 2,400 |")
    print(f"| client CPU µs/delivery | {result.client_cpu_us_per_delivery:,.0f} | |")
    print(f"| errors | {result.errors} | |")
    serial_ms = f"{serial.ack_p50_ms:.1f} / {serial.ack_p95_ms:.1f}"
    print(f"| one at a time: ack p50 / p95 ms | {serial_ms} | 44.0 |")
    print(f"| one at a time: deliveries/s | {serial.acknowledged_per_s:,.0f} | 23 |")
    for check in checks:
        print(f"{check['verdict']}  {check['target']}: {check['value']:,.1f}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="1,000 deliveries")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = run(1_000 if args.quick else args.deliveries, args.in_flight)
    serial = run(100 if args.quick else SERIAL, 1)
    checks = targets(result, serial)
    report(result, serial, checks)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "result": asdict(result),
        "one_at_a_time": asdict(serial),
        "before": BEFORE,
        "targets": checks,
    }
    (args.out / "webhooks.json").write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
