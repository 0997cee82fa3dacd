"""What a receiver tells its operators: each refusal logged at WARNING with its reason,
every delivery counted, ``GET /health`` and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from tripletex_async.sinks import SQLiteSink
from tripletex_async.webhooks import EventQueue, Registration

from .conftest import MakeReceiver, asgi_client, signed

pytestmark = pytest.mark.anyio

URL = "https://receiver.example/tripletex"
BODY = b'{"subscriptionId": 901, "event": "customer.update", "id": 7, "value": {"id": 7}}'


async def _registered(queue_path: Path) -> None:
    async with EventQueue(queue_path) as queue:
        await queue.register([Registration(901, 42, "customer.update", "id,version")])


async def test_a_refused_signature_is_a_warning_with_its_reason(
    make_receiver: MakeReceiver, queue_path: Path
) -> None:
    """A rotated HMAC secret: each 401 is a WARNING naming the reason, never the body."""
    await _registered(queue_path)
    receiver = make_receiver()
    headers = signed(BODY)
    with structlog.testing.capture_logs() as events:
        async with asgi_client(receiver) as http:
            response = await http.post(URL, content=BODY.replace(b"7", b"8"), headers=headers)
    assert response.status_code == 401
    refused = [e for e in events if e["event"] == "webhook_refused"]
    assert [(e["log_level"], e["reason"], e["status"]) for e in refused] == [
        ("warning", "unauthorized", 401)
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
