"""`reconcile`: the nightly sync that makes a webhook-fed sink exact again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Literal

from ..client._client import CompanyView, TripletexClient
from ..client._clock import Clock
from ..engine._report import ResourceReport, SyncReport
from ..engine._resources import DEFAULT_RESOURCES, Resource
from ..engine._sync import SyncOptions, sync
from ..sinks import Sink

__all__ = ["reconcile"]


async def reconcile(
    source: TripletexClient | CompanyView,
    sink: Sink,
    *,
    resources: Iterable[str | Resource] = DEFAULT_RESOURCES,
    companies: Iterable[int] | Literal["all"] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    options: SyncOptions | None = None,
    clock: Clock | None = None,
    on_progress: Callable[[ResourceReport], None] | None = None,
) -> SyncReport:
    """Bring a sink fed by webhooks back to exactly what Tripletex holds; run it nightly.

    Webhooks alone do not keep a copy exact. Tripletex coalesces rapid changes and "might
    skip over a version number or two" (and recommends a nightly sync; tripletex-api2's
    docs/webhooks);
    deliveries are retried for a limited time only, after which the subscription is
    disabled and later changes are never sent; a receiver that was down, a dead event, or
    a resource without events (postings, timesheet entries) misses changes too.

    This is `sync` in its incremental form (never ``full``): each window first asks
    Tripletex whether its checksum changed, so unchanged data costs one request per
    window, and changed windows are rescanned (or fetched ``changedSince``), which also
    removes records deleted without a delivery. Arguments are those of `sync`.
    """
    return await sync(
        source,
        sink,
        resources=resources,
        companies=companies,
        date_from=date_from,
        date_to=date_to,
        full=False,
        options=options,
        clock=clock,
        on_progress=on_progress,
    )
