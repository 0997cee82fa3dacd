"""What a receiver tells its operators: every delivery's outcome counted, ``GET /health``
(queue depth, apply lag, refusals) and ``GET /metrics`` in the Prometheus text
exposition format, which monitoring tools scrape.

The exposition is a few lines of text, written here rather than through
``prometheus_client``: that library keeps metrics in registries (a global one by
default) to serve a process's every metric, where a receiver has five numbers of its
own, and the receiver is also embedded in other people's ASGI apps. The tests parse the
text with ``prometheus_client``'s own parser.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from ._queue import QueueStatus

__all__ = ["OUTCOMES", "DeliveryStats", "health", "metrics"]

#: Every outcome of a delivery: accepted ones, then refusals (each with its status).
OUTCOMES: dict[str, int] = {
    "queued": 200,
    "duplicate": 200,
    "ignored": 200,
    "unauthorized": 401,
    "malformed": 400,
    "too_large": 413,
    "unknown_subscription": 404,
    "queue_full": 503,
    "apply_failing": 503,
    "method_not_allowed": 405,
    "failed": 500,
}


class DeliveryStats:
    """Deliveries by outcome since the receiver started."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def count(self, outcome: str) -> None:
        """One more delivery with ``outcome`` (one of `OUTCOMES`)."""
        self._counts[outcome] += 1

    def snapshot(self) -> dict[str, int]:
        """Every outcome's count, zeros included, in `OUTCOMES` order."""
        return {outcome: self._counts[outcome] for outcome in OUTCOMES}

    def refused(self) -> int:
        """Deliveries answered with anything but 200."""
        return sum(n for outcome, n in self._counts.items() if OUTCOMES[outcome] != 200)


def _lag(status: QueueStatus, now: datetime) -> float:
    """Seconds the oldest pending event has waited (0 when none waits)."""
    if status.oldest_pending is None:
        return 0.0
    return max(0.0, (now - status.oldest_pending).total_seconds())


def health(
    status: QueueStatus, stats: DeliveryStats, now: datetime, *, failing: bool = False
) -> dict[str, object]:
    """The body of ``GET /health`` (answered 503 when ``failing``)."""
    return {
        "status": "failing" if failing else "ok",
        "queue_pending": status.pending,
        "apply_lag_seconds": round(_lag(status, now), 3),
        "dead_events": status.dead,
        "deliveries": stats.snapshot(),
        "refused": stats.refused(),
    }


def metrics(status: QueueStatus, stats: DeliveryStats, now: datetime) -> bytes:
    """The body of ``GET /metrics`` (text/plain; version=0.0.4)."""
    lines = [
        "# HELP tripletex_webhook_deliveries_total Webhook deliveries received, by outcome.",
        "# TYPE tripletex_webhook_deliveries_total counter",
    ]
    for outcome, n in stats.snapshot().items():
        status_code = OUTCOMES[outcome]
        lines.append(
            f'tripletex_webhook_deliveries_total{{outcome="{outcome}",status="{status_code}"}} {n}'
        )
    gauges = (
        ("queue_pending", "Events acknowledged and not yet applied.", status.pending),
        (
            "apply_lag_seconds",
            "Seconds the oldest pending event has waited.",
            round(_lag(status, now), 3),
        ),
        ("dead_events", "Events given up on (see webhooks dead list).", status.dead),
    )
    for name, text, value in gauges:
        lines += [
            f"# HELP tripletex_webhook_{name} {text}",
            f"# TYPE tripletex_webhook_{name} gauge",
            f"tripletex_webhook_{name} {value}",
        ]
    return ("\n".join(lines) + "\n").encode()
