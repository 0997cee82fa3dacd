"""What a receiver tells its operators: every delivery's outcome counted, ``GET /health``
(a status, queue depth, apply lag, refusals) and ``GET /metrics`` in the Prometheus text
exposition format, which monitoring tools scrape.

The status names the worst thing wrong, worst first (`STATUSES`, with the HTTP status
``/health`` answers): ``failing`` (the worker gives up event after event, and new
deliveries are answered 503) and ``stalled`` (the oldest pending event has waited longer
than ``stalled_after``: nothing is being applied) are 503, so that a load balancer or
orchestrator sees a receiver that does not do its job; ``refusing`` (the last
``refusing_after`` or more deliveries were refused for their auth header or signature:
a secret mismatch, and Tripletex will disable the subscriptions) and ``degraded`` (dead
events exist) are 200, because pulling the receiver would not help and would lose the
deliveries it still takes; else ``ok``.

The exposition is a few lines of text, written here rather than through
``prometheus_client``: that library keeps metrics in registries (a global one by
default) to serve a process's every metric, where a receiver has a handful of numbers of
its own, and the receiver is also embedded in other people's ASGI apps. The tests parse
the text with ``prometheus_client``'s own parser.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ..client._errors import ConfigurationError
from ._queue import QueueStatus
from ._verify import AUTH_REFUSALS

__all__ = ["OUTCOMES", "STATUSES", "DeliveryStats", "HealthPolicy", "health", "metrics", "verdict"]

#: Every outcome of a delivery (a POST): accepted ones, then refusals (each with its status).
OUTCOMES: dict[str, int] = {
    "queued": 200,
    "duplicate": 200,
    "ignored": 200,
    "unauthorized": 401,
    "bad_signature": 401,
    "malformed": 400,
    "too_large": 413,
    "unknown_subscription": 404,
    "queue_full": 503,
    "apply_failing": 503,
    "failed": 500,
}

#: Every status of ``GET /health``, worst first, with the HTTP status it is answered with.
STATUSES: dict[str, int] = {
    "failing": 503,
    "stalled": 503,
    "refusing": 200,
    "degraded": 200,
    "ok": 200,
}


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When ``/health`` stops saying ``ok`` (see the module's text)."""

    #: Seconds the oldest pending event may wait before the receiver counts as stalled.
    stalled_after: float = 300.0
    #: Auth or signature refusals since the last accepted delivery that make it refusing.
    refusing_after: int = 5

    def __post_init__(self) -> None:
        if not self.stalled_after > 0 or self.refusing_after < 1:
            raise ConfigurationError("stalled_after must be positive and refusing_after at least 1")


_DEFAULT = HealthPolicy()


class DeliveryStats:
    """Deliveries by outcome since the receiver started."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._auth_refusals = 0

    def count(self, outcome: str) -> None:
        """One more delivery with ``outcome`` (one of `OUTCOMES`)."""
        self._counts[outcome] += 1
        if OUTCOMES[outcome] == 200:
            self._auth_refusals = 0
        elif outcome in AUTH_REFUSALS:
            self._auth_refusals += 1

    def snapshot(self) -> dict[str, int]:
        """Every outcome's count, zeros included, in `OUTCOMES` order."""
        return {outcome: self._counts[outcome] for outcome in OUTCOMES}

    def refused(self) -> int:
        """Deliveries answered with anything but 200."""
        return sum(n for outcome, n in self._counts.items() if OUTCOMES[outcome] != 200)

    def auth_refusals_since_accepted(self) -> int:
        """Deliveries refused for their auth header or signature since the last one
        accepted (other refusals neither count nor reset it)."""
        return self._auth_refusals


def verdict(
    status: QueueStatus,
    stats: DeliveryStats,
    now: datetime,
    *,
    failing: bool = False,
    policy: HealthPolicy = _DEFAULT,
) -> str:
    """The worst of `STATUSES` that holds (see the module's text)."""
    if failing:
        return "failing"
    if status.apply_lag(now) > policy.stalled_after:
        return "stalled"
    if stats.auth_refusals_since_accepted() >= policy.refusing_after:
        return "refusing"
    return "degraded" if status.dead else "ok"


def health(
    status: QueueStatus,
    stats: DeliveryStats,
    now: datetime,
    *,
    failing: bool = False,
    policy: HealthPolicy = _DEFAULT,
) -> dict[str, object]:
    """The body of ``GET /health`` (answered with ``STATUSES[body["status"]]``)."""
    return {
        "status": verdict(status, stats, now, failing=failing, policy=policy),
        "queue_pending": status.pending,
        "apply_lag_seconds": status.apply_lag(now),
        "dead_events": status.dead,
        "deliveries": stats.snapshot(),
        "refused": stats.refused(),
        "auth_refusals_since_accepted": stats.auth_refusals_since_accepted(),
    }


def metrics(
    status: QueueStatus,
    stats: DeliveryStats,
    now: datetime,
    *,
    failing: bool = False,
    policy: HealthPolicy = _DEFAULT,
) -> bytes:
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
    # One sample per status, 1 for the current one: the exposition format's enum idiom.
    current = verdict(status, stats, now, failing=failing, policy=policy)
    lines += [
        "# HELP tripletex_webhook_health The status GET /health reports (1: current).",
        "# TYPE tripletex_webhook_health gauge",
        *(f'tripletex_webhook_health{{status="{s}"}} {int(s == current)}' for s in STATUSES),
    ]
    gauges = (
        ("queue_pending", "Events acknowledged and not yet applied.", status.pending),
        (
            "apply_lag_seconds",
            "Seconds the oldest pending event has waited (0 when none is pending).",
            status.apply_lag(now),
        ),
        ("dead_events", "Events given up on (see webhooks dead list).", status.dead),
        (
            "auth_refusals_since_accepted",
            "Deliveries refused for their auth header or signature since one was accepted.",
            stats.auth_refusals_since_accepted(),
        ),
    )
    for name, text, value in gauges:
        lines += [
            f"# HELP tripletex_webhook_{name} {text}",
            f"# TYPE tripletex_webhook_{name} gauge",
            f"tripletex_webhook_{name} {value}",
        ]
    return ("\n".join(lines) + "\n").encode()
