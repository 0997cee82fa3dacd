"""The simulator delivers webhooks on its own: --deliver-webhooks and --mutate-every."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from tripletex_async.testing import FakeTripletex, generate_portfolio
from tripletex_async.testing._delivery import Background, mutate_once, run_background
from tripletex_async.testing._http import FakeRequest, FakeResponse
from tripletex_async.testing._portfolio import PortfolioConfig
from tripletex_async.testing._server import ServerThread, serve

from .fakekit import Kit, exports_of, http_session, kit

pytestmark = pytest.mark.timeout(20)
SMALL = ["--companies", "3", "--scale", "0.05", "--seed", "7"]
SECRET = "s3cret"


@dataclass
class Recorder:
    """A webhook receiver: records each call and answers ``status``."""

    status: int = 200
    calls: list[FakeRequest] = field(default_factory=list)

    async def __call__(self, request: FakeRequest) -> FakeResponse:
        self.calls.append(request)
        return FakeResponse(self.status)

    def wait_for(self, count: int, seconds: float = 5.0) -> list[FakeRequest]:
        deadline = time.monotonic() + seconds
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.calls)


@dataclass
class Simulator:
    """A simulator process and what it printed."""

    process: subprocess.Popen[str]
    api: str
    session: str

    def call(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        auth = base64.b64encode(f"0:{self.session}".encode()).decode()
        request = urllib.request.Request(
            f"{self.api}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            loaded: dict[str, Any] = json.load(response)
            return loaded

    def subscribe(self, target: str) -> int:
        body = {"event": "customer.update", "targetUrl": target, "hmacSharedSecret": SECRET}
        return int(self.call("POST", "/event/subscription", body)["value"]["id"])


@contextmanager
def simulator(*flags: str) -> Iterator[Simulator]:
    """``python -m tripletex_async.testing --port 0`` with a company session opened."""
    command = [sys.executable, "-m", "tripletex_async.testing", "--port", "0", *SMALL, *flags]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(8)]
        exports = exports_of(lines)
        api = exports["TRIPLETEX_BASE_URL"]
        consumer = exports["TRIPLETEX_CONSUMER_TOKEN"]
        session = http_session(api, consumer, exports["TRIPLETEX_COMPANY_EMPLOYEE_TOKEN"])
        yield Simulator(process, api, session)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=5)
    # The background tasks end with the server: a clean exit, nothing left running.
    assert process.returncode == 0, err
    assert "Traceback" not in err


def _signature_ok(call: FakeRequest) -> bool:
    key = call.headers["idempotency-key"].encode()
    mac = hmac.new(SECRET.encode(), key + b"&" + call.body, hashlib.sha512).digest()
    return base64.b64encode(mac).decode() == call.headers["x-request-signature"]


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery is POSIX-only")


@posix_only
def test_flag_delivers_signed_calls_after_a_put() -> None:
    """With --deliver-webhooks, a PUT over HTTP reaches a loopback subscriber, signed."""
    recorder = Recorder()
    with (
        ServerThread(recorder) as receiver,
        simulator("--deliver-webhooks", "--delivery-interval", "0.1") as sim,
    ):
        sid = sim.subscribe(f"{receiver.url}/hook")
        customer = sim.call("GET", "/customer?fields=id")["values"][0]["id"]
        sim.call("PUT", f"/customer/{customer}", {"name": "Endret AS"})
        calls = recorder.wait_for(1)
    assert len(calls) == 1
    payload = json.loads(calls[0].body)
    assert (payload["subscriptionId"], payload["event"]) == (sid, "customer.update")
    assert payload["id"] == customer
    assert _signature_ok(calls[0])


@posix_only
def test_without_the_flag_nothing_is_delivered() -> None:
    """Without --deliver-webhooks (even with an interval) a change is never sent."""
    recorder = Recorder()
    with ServerThread(recorder) as receiver, simulator("--delivery-interval", "0.1") as sim:
        sim.subscribe(f"{receiver.url}/hook")
        customer = sim.call("GET", "/customer?fields=id")["values"][0]["id"]
        sim.call("PUT", f"/customer/{customer}", {"name": "Endret AS"})
        time.sleep(0.5)
    assert recorder.calls == []


@posix_only
def test_mutate_every_makes_deliveries_flow_on_its_own() -> None:
    """--mutate-every with --deliver-webhooks: calls arrive with no change made by us."""
    recorder = Recorder()
    flags = ("--deliver-webhooks", "--delivery-interval", "0.1", "--mutate-every", "0.1")
    with ServerThread(recorder) as receiver, simulator(*flags) as sim:
        sim.subscribe(f"{receiver.url}/hook")
        calls = recorder.wait_for(2)
    assert len(calls) >= 2
    assert all(json.loads(c.body)["event"] == "customer.update" for c in calls)
    assert all(_signature_ok(c) for c in calls)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _subscribe(k: Kit, target: str) -> int:
    body = {"event": "customer.update", "targetUrl": target}
    response = await k.http.post("/event/subscription", json=body, headers=k.auth(k.company))
    return int(response.json()["value"]["id"])


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(5):
        # Polling on purpose: the state belongs to the simulator, which has no event.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.01)


def _touch_customer(k: Kit) -> None:
    customer = k.fake.records(k.company, "customer")[0]["id"]
    k.fake.update(k.company, "customer", customer, {"name": "Endret AS"})


@pytest.mark.anyio
async def test_failing_target_does_not_stop_delivering(caplog: pytest.LogCaptureFixture) -> None:
    """A target nobody listens on is logged and disabled; later deliveries still go out."""
    caplog.set_level(logging.INFO, logger="tripletex_async.testing")
    recorder = Recorder()
    async with kit() as k, serve(recorder) as receiver, anyio.create_task_group() as tg:
        dead = await _subscribe(k, f"http://127.0.0.1:{_closed_port()}/hook")
        _touch_customer(k)
        tg.start_soon(run_background, k.fake, Background(deliver_every=0.01))
        await _until(lambda: not k.fake.webhooks.subscribed_companies("customer.update"))
        await _subscribe(k, f"{receiver.url}/hook")
        _touch_customer(k)
        await _until(lambda: bool(recorder.calls))
        tg.cancel_scope.cancel()
    statuses = {s["id"]: s["status"] for s in k.fake.webhooks.subscriptions()}
    assert statuses[dead] == "DISABLED_TOO_MANY_ERRORS"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings
    assert "ConnectError" in warnings[0].getMessage()


@pytest.mark.anyio
async def test_batch_counts_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """Each batch logs how many were sent and how many failed."""
    caplog.set_level(logging.INFO, logger="tripletex_async.testing")
    recorder = Recorder()
    async with kit() as k, serve(recorder) as receiver, anyio.create_task_group() as tg:
        await _subscribe(k, f"{receiver.url}/hook")
        _touch_customer(k)
        tg.start_soon(run_background, k.fake, Background(deliver_every=0.01))
        await _until(lambda: bool(recorder.calls))
        tg.cancel_scope.cancel()
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert "webhook deliveries: 1 sent, 0 failed" in messages


def test_mutations_repeat_with_the_same_seed() -> None:
    """The same seed changes the same customers of the same companies."""

    def changes() -> list[tuple[int, int] | None]:
        fake = FakeTripletex(
            generate_portfolio(PortfolioConfig(seed=3, companies=3, scale=0.05, heavy_companies=0))
        )
        rng = random.Random(11)
        return [mutate_once(fake, rng) for _ in range(5)]

    first = changes()
    assert all(change is not None for change in first)
    assert first == changes()


@pytest.mark.anyio
async def test_mutations_prefer_subscribed_companies() -> None:
    """With a customer.update subscription, every change is in the subscribed company."""
    async with kit() as k:
        await _subscribe(k, "https://receiver.example/hook")
        rng = random.Random(5)
        changed = [mutate_once(k.fake, rng) for _ in range(5)]
    assert {c[0] for c in changed if c is not None} == {k.company}
    assert len(k.fake.webhooks.pending) == 5
