"""`run_budget_slice`: the whole contract between the engine and any job system.

A job runs one budget for one slice of time: it takes the budget's lease (before any
request, so two jobs never drive one budget at once), syncs until the deadline, and says
what is left: ``done`` (nothing until the next plan), ``more`` (continue it soon),
``busy`` (another live job holds the budget: try later) or ``needs_reauth`` (its tokens
are missing or refused: an operator must act; retrying will not help).

Every write of the slice is fenced (the sink checks, in the write's own transaction, that
this run still holds its companies' lease), and the budget's own lease is renewed every
quarter of its ``ttl``: a job frozen past the ``ttl`` (SIGSTOP, a paused VM) whose budget
was taken over writes nothing more, and ends with `LeaseLostError` when it wakes. Work
done is never lost: an interrupted slice's completed windows are in the sink, and the
next slice resumes from them. Nothing here knows a job system: procrastinate's adapter
(`tripletex_async.workers.procrastinate`) wraps it, and so could any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import anyio

from ..client._client import TripletexClient
from ..client._clock import Clock, SystemClock
from ..client._errors import (
    AuthenticationError,
    ConfigurationError,
    LeaseHeldError,
    TokensRefusedError,
)
from ..engine._groups import sole_exception
from ..engine._report import SyncReport
from ..engine._resources import DEFAULT_RESOURCES
from ..engine._sync import SyncOptions, sync
from ..sinks._base import Sink
from ..sinks._lease import Lease, LeaseStore
from ._budget import Budget
from ._secrets import MissingSecretError, SecretsProvider

__all__ = ["ClientFactory", "SliceResult", "SliceStatus", "run_budget_slice"]

SliceStatus = Literal["done", "more", "busy", "needs_reauth"]
#: Builds the client of a budget from its tokens (base URL, transport: the caller's).
ClientFactory = Callable[[str, str], TripletexClient]


@dataclass(frozen=True, slots=True)
class SliceResult:
    """What one slice of a budget did, and what is left."""

    status: SliceStatus
    #: The sync's report (``None`` when it did not start: ``busy``, ``needs_reauth``).
    report: SyncReport | None = None
    #: Why, for ``busy`` and ``needs_reauth`` (never a token).
    message: str = ""

    @property
    def requests(self) -> int:
        """Requests the slice sent for data."""
        return 0 if self.report is None else self.report.total().requests


async def run_budget_slice(
    budget: Budget,
    sink: Sink,
    *,
    secrets: SecretsProvider,
    deadline: datetime,
    client: ClientFactory | None = None,
    options: SyncOptions | None = None,
    clock: Clock | None = None,
    lease_ttl: float = 60.0,
    stop: anyio.Event | None = None,
) -> SliceResult:
    """Sync ``budget`` into ``sink`` until ``deadline`` (see the module's text).

    ``sink`` must hold leases (every built-in sink does; many workers need one they all
    reach: PostgreSQL). ``client`` builds the budget's `TripletexClient` from its tokens
    (default: ``TripletexClient(consumer, employee)`` and the environment's base URL).
    Once ``stop`` is set the slice winds down as at its deadline (its worker is shutting
    down: what was fetched is stored, the rest is ``more``). Raises `LeaseLostError` when
    the budget was taken over while this slice ran, and what `sync` raises for the sink.
    """
    if not isinstance(sink, LeaseStore):
        raise ConfigurationError(f"{sink!r} cannot hold leases: a budget slice needs one")
    clock = clock or SystemClock()
    options = replace(options or SyncOptions(), deadline=deadline, lease_ttl=lease_ttl)
    try:
        consumer = await secrets.resolve(budget.consumer_ref)
        employee = await secrets.resolve(budget.employee_ref)
    except MissingSecretError as exc:
        return SliceResult("needs_reauth", message=str(exc))
    lease = Lease(sink, [budget.scope], clock=clock, ttl=lease_ttl)
    try:
        await lease.acquire()
    except LeaseHeldError as exc:
        return SliceResult("busy", message=f"{budget} is held: {exc}")
    if clock.now() >= deadline:  # spent waiting (a slow database; a frozen worker)
        await sink.renew_lease(lease.fence)  # taken over meanwhile: LeaseLostError
        await lease.release()
        return SliceResult("more", message=f"{budget}: the slice ended before it began")
    try:
        made = (client or _default)(consumer, employee)
        report = await _leased(budget, sink, lease, made, options, clock, stop)
        # Still ours? A slice frozen past the lease's ttl may have had nothing left to
        # write when it woke (its bound passed meanwhile): it must not report on a
        # budget another job now drives. `LeaseLostError` if taken over.
        await sink.renew_lease(lease.fence)
    except (TokensRefusedError, AuthenticationError) as exc:
        return SliceResult("needs_reauth", message=f"{budget}: {exc}")
    except LeaseHeldError as exc:  # a company of it is being synced by another budget
        return SliceResult("busy", message=f"{budget}: {exc}")
    finally:
        await lease.release()
    deferred = any(r.deferred for r in report)
    return SliceResult("more" if deferred else "done", report)


async def _leased(
    budget: Budget,
    sink: Sink,
    lease: Lease,
    made: TripletexClient,
    options: SyncOptions,
    clock: Clock,
    stop: anyio.Event | None,
) -> SyncReport:
    """The sync, with the budget's lease renewed beside it (a lost lease ends both)."""
    result: list[SyncReport] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lease.keep_alive)
            async with made:
                report = await sync(
                    made,
                    sink,
                    resources=budget.resources or DEFAULT_RESOURCES,
                    companies=_companies(budget),
                    options=options,
                    clock=clock,
                    stop=stop,
                )
                result.append(report)
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise sole_exception(group) from None
    return result[0]


def _companies(budget: Budget) -> list[int] | Literal["all"] | None:
    if budget.companies == "own":
        return None
    if budget.companies == "all":
        return "all"
    return list(budget.companies)


def _default(consumer: str, employee: str) -> TripletexClient:
    return TripletexClient(consumer_token=consumer, employee_token=employee)
