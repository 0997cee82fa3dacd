"""What a receiver tells its operators: each refusal logged at WARNING with its reason,
every delivery counted, ``GET /health`` (a status that says what is wrong) and ``GET
/metrics`` (Prometheus text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from tripletex_async.client._clock import SystemClock
from tripletex_async.sinks import SQLiteSink
from tripletex_async.webhooks import EventQueue, Registration
from tripletex_async.webhooks._health import STATUSES, DeliveryStats, verdict
from tripletex_async.webhooks._queue import QueueStatus

from .conftest import MakeReceiver, asgi_client, signed

pytestmark = pytest.mark.anyio

URL = "https://receiver.example/tripletex"
HEALTH = "https://receiver.example/health"
#: A delivery whose auth header is wrong (and that carries no signature).
WRONG = {"x-tripletex-auth": "wrong"}
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
BODY = b'{"subscriptionId": 901, "event": "customer.update", "id": 7, "value": {"id": 7}}'


class _At(SystemClock):
    """A wall clock stopped at ``at``."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def _registered(queue_path: Path) -> None:
    async with EventQueue(queue_path) as queue:
        await queue.register([Registration(901, 42, "customer.update", "id,version")])


async def _queued(queue_path: Path, *, dead: bool = False) -> None:
    """One event received at T0, pending (or dead)."""
    await _registered(queue_path)
    async with EventQueue(queue_path, clock=_At(T0)) as queue:
        await queue.put("k1", 901, "customer.update", 7, b"{}")
        if dead:
            (event,) = await queue.take(1)
            await queue.complete([], {event.seq: "ValueError: never"})


async def test_a_refused_signature_is_a_warning_with_its_reason(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """A body that does not match its signature (as with a rotated HMAC secret): each 401
    is a WARNING naming the reason, never the body."""
    await _registered(queue_path)
    receiver = make_receiver()
    headers = signed(BODY)
    with structlog.testing.capture_logs() as events:
        async with asgi_client(receiver) as http:
            response = await http.post(URL, content=BODY.replace(b"7", b"8"), headers=headers)
    assert response.status_code == 401
    refused = [e for e in events if e["event"] == "webhook_refused"]
    assert [(e["log_level"], e["reason"], e["status"]) for e in refused] == [
        ("warning", "bad_signature", 401)
    ]
    assert "customer.update" not in repr(refused)


async def test_an_unknown_subscription_is_a_warning_too(make_receiver: MakeReceiver) -> None:
    """A delivery of a subscription the receiver does not know (404) is not quiet."""
    with structlog.testing.capture_logs() as events:
        async with asgi_client(make_receiver()) as http:
            response = await http.post(URL, content=BODY, headers=signed(BODY))
    assert response.status_code == 404
    assert [e["reason"] for e in events if e["event"] == "webhook_refused"] == [
        "unknown_subscription"
    ]


async def test_health_is_200_with_queue_depth_lag_and_refusals(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """GET /health: 200, not 405; one delivery queued and one refused are counted."""
    await _registered(queue_path)
    receiver = make_receiver()
    async with asgi_client(receiver) as http:
        await http.post(URL, content=BODY, headers=signed(BODY))
        await http.post(URL, content=b"{}", headers={"x-tripletex-auth": "wrong"})
        response = await http.get("https://receiver.example/health")
    assert response.status_code == 200
    body = response.json()
    assert body["queue_pending"] == 1
    assert body["apply_lag_seconds"] >= 0
    assert body["deliveries"]["queued"] == 1
    assert body["deliveries"]["unauthorized"] == 1
    assert body["refused"] == 1


async def test_metrics_are_prometheus_text_a_scraper_parses(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """GET /metrics parses with prometheus_client's own parser: deliveries by outcome,
    queue depth, apply lag and dead events."""
    await _registered(queue_path)
    receiver = make_receiver()
    async with asgi_client(receiver) as http:
        await http.post(URL, content=BODY, headers=signed(BODY))
        await http.post(URL, content=BODY, headers=signed(BODY))  # a replay
        response = await http.get("https://receiver.example/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    deliveries = {
        s.labels["outcome"]: s.value for s in families["tripletex_webhook_deliveries"].samples
    }
    assert (deliveries["queued"], deliveries["duplicate"], deliveries["unauthorized"]) == (1, 1, 0)
    assert families["tripletex_webhook_queue_pending"].samples[0].value == 1
    assert {"tripletex_webhook_apply_lag_seconds", "tripletex_webhook_dead_events"} <= set(families)


async def test_the_receivers_sqlite_sink_commits_to_disk_before_an_event_is_applied(
    make_receiver: MakeReceiver, tmp_path: Path
) -> None:
    """The queue's "applied" is fdatasync'ed; the sink's write must be as durable:
    a receiver's SQLite sink runs with synchronous=FULL (a sync's keeps NORMAL)."""
    sink = SQLiteSink(tmp_path / "w.db")
    async with make_receiver(sink=sink):
        level = await sink._run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0], "read")
    assert level == 2  # FULL
    plain = SQLiteSink(tmp_path / "s.db")
    await plain.open([])
    assert await plain._run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0], "read") == 1
    await plain.aclose()


async def test_health_is_refusing_after_5_auth_refusals_and_still_200(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """Five deliveries in a row refused for their auth: "refusing", answered 200 (pulling
    the receiver from a load balancer would not help)."""
    await _registered(queue_path)
    async with asgi_client(make_receiver()) as http:
        for _ in range(5):
            await http.post(URL, content=BODY, headers=WRONG)
        response = await http.get(HEALTH)
    assert (response.status_code, response.json()["status"]) == (200, "refusing")
    assert response.json()["auth_refusals_since_accepted"] == 5


async def test_an_accepted_delivery_ends_refusing(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """Refusals followed by an accepted delivery: "ok" again, the streak back at 0."""
    await _registered(queue_path)
    async with asgi_client(make_receiver()) as http:
        for _ in range(5):
            await http.post(URL, content=BODY, headers=WRONG)
        await http.post(URL, content=BODY, headers=signed(BODY))
        body = (await http.get(HEALTH)).json()
    assert (body["status"], body["auth_refusals_since_accepted"]) == ("ok", 0)


async def test_health_is_stalled_when_the_oldest_pending_event_waited_too_long(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """An event pending longer than stalled_after: "stalled", 503 (nothing is applied)."""
    await _queued(queue_path)
    receiver = make_receiver(clock=_At(T0 + timedelta(seconds=61)), stalled_after=60)
    async with asgi_client(receiver) as http:
        response = await http.get(HEALTH)
    assert (response.status_code, response.json()["status"]) == (503, "stalled")
    assert response.json()["apply_lag_seconds"] == 61.0


async def test_health_is_not_stalled_within_stalled_after(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """An event pending for less than stalled_after (300 s by default) is no alarm."""
    await _queued(queue_path)
    receiver = make_receiver(clock=_At(T0 + timedelta(seconds=299)))
    async with asgi_client(receiver) as http:
        response = await http.get(HEALTH)
    assert (response.status_code, response.json()["status"]) == (200, "ok")


async def test_dead_events_make_it_degraded_and_200(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """Dead events and nothing worse: "degraded", answered 200."""
    await _queued(queue_path, dead=True)
    async with asgi_client(make_receiver()) as http:
        response = await http.get(HEALTH)
    assert (response.status_code, response.json()["status"]) == (200, "degraded")


def test_the_worst_status_wins() -> None:
    """failing > stalled > refusing > degraded > ok, each with its documented HTTP status."""
    stats = DeliveryStats()
    for _ in range(5):
        stats.count("bad_signature")
    late = QueueStatus(pending=36, oldest_pending=T0, dead=2)
    now = T0 + timedelta(seconds=301)
    assert verdict(late, stats, now, failing=True) == "failing"
    assert verdict(late, stats, now) == "stalled"
    assert verdict(late, stats, T0) == "refusing"
    assert verdict(late, DeliveryStats(), T0) == "degraded"
    assert verdict(QueueStatus(0, None, 0), DeliveryStats(), now) == "ok"
    assert STATUSES == {"failing": 503, "stalled": 503, "refusing": 200, "degraded": 200, "ok": 200}


def test_other_refusals_neither_count_nor_reset_the_auth_streak() -> None:
    """A 404 or 413 between auth refusals leaves the streak as it was."""
    stats = DeliveryStats()
    for outcome in ("unauthorized", "unknown_subscription", "bad_signature", "too_large"):
        stats.count(outcome)
    assert stats.auth_refusals_since_accepted() == 2


def test_apply_lag_is_zero_when_nothing_is_pending() -> None:
    """No pending event: the lag is 0.0 (not None), the one meaning /health and
    webhooks status share."""
    assert QueueStatus(pending=0, oldest_pending=None, dead=1).apply_lag(T0) == 0.0


async def test_metrics_say_the_health_status(make_receiver: MakeReceiver, queue_path: Path) -> None:
    """/metrics has tripletex_webhook_health, 1 for /health's status and 0 for the others."""
    await _registered(queue_path)
    async with asgi_client(make_receiver()) as http:
        for _ in range(5):
            await http.post(URL, content=BODY, headers=WRONG)
        response = await http.get("https://receiver.example/metrics")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    samples = {s.labels["status"]: s.value for s in families["tripletex_webhook_health"].samples}
    assert samples == {"failing": 0, "stalled": 0, "refusing": 1, "degraded": 0, "ok": 0}
    assert families["tripletex_webhook_auth_refusals_since_accepted"].samples[0].value == 5
