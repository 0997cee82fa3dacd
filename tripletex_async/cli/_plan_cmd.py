"""``tripletex-async plan``: a dry run that asks only for first pages.

For every company, resource and date window a sync would start with, it fetches page 0
exactly as the sync would (same ``fields``, sorting, page size and date params; with no
``--page-size``, 1000 rows, and requests estimated at 10,000 rows, what a sync asks for
where the rate budget binds) and
counts. A short first page is an exact count and the whole cost (one request). A full one
means "at least a page more"; ``fullResultSize`` then gives an estimate, labelled as such
because Tripletex made it inexact (tripletex-api2#127). Time comes from the rate limit
the budget learned from the answers' ``X-Rate-Limit-*`` headers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import anyio
import msgspec

from ..client._client import TripletexClient
from ..client._clock import OSLO
from ..client._errors import (
    APIError,
    AuthenticationError,
    DecodeError,
    ResultSetTooLargeError,
    TransportError,
)
from ..engine._resources import RESOURCES, WHOLE, Partition, Resource
from ..engine._sizing import PARALLEL_PAGE
from ..engine._sync import MAX_PAGE
from ..engine._targets import resolve_targets
from ..engine._windows import UNDATED, Window
from ._args import SyncRequest
from ._connect import open_client, resolve
from ._plan_model import Estimate, Probe, ResourcePlan
from ._plan_output import print_plan
from ._run import EXIT_FAILED, EXIT_OK, Context

__all__ = ["estimate", "run"]

#: First pages asked for at once (the connection bounds what is in flight besides).
WORKERS = 16


def estimate(
    plans: list[ResourcePlan], client: TripletexClient, elapsed: float, probes: int
) -> Estimate:
    """Totals, and time from the budget the client learned while probing."""
    # A sync also asks whoAmI and, for --all-companies, the company list.
    low = sum(p.requests_at_least for p in plans) + 2
    guess = sum(p.requests_estimate for p in plans) + 2
    budget = client.statistics().budget
    by_limit = None
    if budget.limit and budget.period:
        by_limit = max(0, guess - (budget.remaining or 0)) * budget.period / budget.limit
    pace = probes / elapsed if elapsed > 0 and probes else None
    return Estimate(low, guess, by_limit, guess / pace if pace else None)


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``plan`` command."""
    endpoint = resolve(args, ctx.environ, ctx.logs.scrubber, ctx.err)
    request = SyncRequest.from_args(args)
    async with open_client(endpoint, ctx.logs.scrubber) as client:
        names = await _companies(client, request)
        began = anyio.current_time()
        probes = await _probe_all(client, request, list(names))
        elapsed = anyio.current_time() - began
        plans = _collect(probes, request)
        totals = estimate(plans, client, elapsed, len(probes))
        budget = client.statistics().budget
    if args.json:
        document: dict[str, Any] = {
            "request": request.describe(),
            "companies": [{"id": i, "name": n} for i, n in names.items()],
            "resources": [dataclasses.asdict(p) for p in plans],
            "estimate": dataclasses.asdict(totals),
            "budget": dataclasses.asdict(budget),
            "note": "estimates use fullResultSize, which Tripletex documents as inexact",
        }
        print(json.dumps(document, indent=2, ensure_ascii=False), file=ctx.out)
    else:
        print_plan(plans, names, totals, budget, ctx.out)
    failed = [p for p in plans if p.errors]
    if failed:
        print(f"error: {len(failed)} resource(s) could not be probed (see errors)", file=ctx.err)
    return EXIT_FAILED if failed else EXIT_OK


async def _companies(client: TripletexClient, request: SyncRequest) -> dict[int, str]:
    """Company id -> name, checked against what the token reaches as a sync checks them."""
    who = await client.who_am_i()
    return await resolve_targets(client.company(0), request.companies, who.owner_company())


Job = tuple[int, Resource, Partition, Window]


def _jobs(request: SyncRequest, companies: list[int], today: date) -> Iterator[Job]:
    for company in companies:
        for resource in request.chosen():
            if resource.parent is not None:  # probed by its parents (`_probe_parents`)
                yield company, resource, WHOLE, UNDATED
                continue
            windows = resource.windows(request.date_from, request.date_to, today)
            for part in resource.partitions:  # rows Tripletex hides unless asked, too
                for window in windows:
                    yield company, resource, part, window


async def _probe_all(
    client: TripletexClient, request: SyncRequest, companies: list[int]
) -> list[Probe]:
    jobs = _jobs(request, companies, datetime.now(OSLO).date())
    probes: list[Probe] = []

    async def worker() -> None:
        # Workers share one iterator: bounded fan-out however many jobs there are.
        for company, resource, part, window in jobs:
            probe = await _probe(client, company, resource, part, window, _probe_size(request))
            probes.append(probe)

    async with anyio.create_task_group() as tg:
        for _ in range(WORKERS):
            tg.start_soon(worker)
    return probes


async def _probe(
    client: TripletexClient,
    company: int,
    resource: Resource,
    part: Partition,
    window: Window,
    page_size: int,
) -> Probe:
    """Page 0 of one window of one partition, asked exactly as the sync would ask it."""
    params = {**resource.query(part, window, page_size), "from": 0}
    probe = Probe(company, resource.name, window)
    try:
        if resource.parent is not None:
            parent = RESOURCES[resource.parent.resource]
            parents, reads = await _probe_parents(client, company, parent)
            if parents is None:
                error = (
                    f"{parent.name} has {MAX_PAGE} records or more: {resource.name} cannot be "
                    "read by a list of their ids (Tripletex caps a list there)"
                )
                return dataclasses.replace(probe, error=error)
            return dataclasses.replace(probe, parents=parents, parent_reads=reads)
        page = await client.company(company).get_list(resource.path, msgspec.Raw, params=params)
    except ResultSetTooLargeError:
        return dataclasses.replace(probe, too_large=True)
    except AuthenticationError:
        raise  # the token, not this window: nothing else will work either
    except (APIError, TransportError, DecodeError) as exc:
        return dataclasses.replace(probe, error=str(exc))
    records = len(page.values)
    return dataclasses.replace(
        probe, records=records, full=records >= page_size, hint=page.fullResultSize
    )


async def _probe_parents(
    client: TripletexClient, company: int, parent: Resource
) -> tuple[int | None, int]:
    """How many parents a child list has (its sync asks once per parent; ``None``: as
    many as the result cap, which a sync cannot read past), and the requests that read
    their ids as a sync reads them (``fields=id``, one page of the cap per partition of
    the parent)."""
    view, found, reads = client.company(company), 0, 0
    for part in parent.partitions:
        params = {**parent.ids_query(part, MAX_PAGE), "from": 0}
        page = await view.get_list(parent.path, msgspec.Raw, params=params)
        reads += 1
        found += len(page.values)
        if len(page.values) >= MAX_PAGE:
            return None, reads
    return found, reads


def _probe_size(request: SyncRequest) -> int:
    """The ``count`` of a probe: the page size given, else 1000 (16 probes at once of
    10,000 full rows could hold 700 MB; a full probe is a lower bound plus an estimate)."""
    return request.page_size or PARALLEL_PAGE


def _page_size(request: SyncRequest) -> int:
    """The ``count`` a sync's requests ask for, to estimate them: the one given, else
    the largest, which is what a sync asks where the rate budget binds (a portfolio)."""
    return request.page_size or MAX_PAGE


def _collect(probes: list[Probe], request: SyncRequest) -> list[ResourcePlan]:
    plans: dict[tuple[int, str], ResourcePlan] = {}
    for probe in sorted(probes, key=lambda p: (p.company_id, p.resource, p.window.key)):
        key = (probe.company_id, probe.resource)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = ResourcePlan(probe.company_id, probe.resource)
        plan.add(probe, _page_size(request))
    order = {name: i for i, name in enumerate(request.resources)}
    return sorted(plans.values(), key=lambda p: (p.company_id, order[p.resource]))
