"""How ``plan`` shows its findings: tables by resource and by company, then the estimate.

A count from a short first page is exact and printed as is; a full first page only proves
a lower bound, printed with ``≥``, and its ``fullResultSize`` estimate with ``≈``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TextIO

from ..client._ratelimit import BudgetSnapshot
from ._plan_model import Estimate, ResourcePlan
from ._report_table import console_for, simple_table

__all__ = ["duration", "print_plan"]


def duration(seconds: float) -> str:
    """``42s``, ``3m 20s``, ``2h 05m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _records(plans: list[ResourcePlan]) -> tuple[str, str]:
    """(records, estimate) cells for plans summed together."""
    at_least = sum(p.at_least for p in plans)
    if all(p.exact for p in plans):
        return f"{at_least:,}", f"{at_least:,}"
    return f"≥ {at_least:,}", f"≈ {sum(p.estimate for p in plans):,}"


def print_plan(
    plans: list[ResourcePlan],
    names: dict[int, str],
    totals: Estimate,
    budget: BudgetSnapshot,
    out: TextIO,
) -> None:
    """The plan's tables and estimate on ``out``."""
    console = console_for(out)
    by_resource: dict[str, list[ResourcePlan]] = defaultdict(list)
    by_company: dict[int, list[ResourcePlan]] = defaultdict(list)
    for plan in plans:
        by_resource[plan.resource].append(plan)
        by_company[plan.company_id].append(plan)
    columns = ["resource", "companies", "windows", "records", "estimate", "requests", "failed"]
    rows = [
        [name, len(group), sum(p.windows for p in group), *_records(group),
         f"{sum(p.requests_estimate for p in group):,}", sum(bool(p.errors) for p in group)]
        for name, group in by_resource.items()
    ]  # fmt: skip
    console.print(simple_table("plan by resource (first pages only)", columns, rows))
    if len(by_company) > 1:
        rows = [
            [str(company), names.get(company, ""), *_records(group),
             f"{sum(p.requests_estimate for p in group):,}", sum(bool(p.errors) for p in group)]
            for company, group in by_company.items()
        ]  # fmt: skip
        columns = ["company", "name", "records", "estimate", "requests", "failed"]
        console.print(simple_table("plan by company", columns, rows))
    for line in _estimate_lines(totals, budget):
        console.print(line)
    for plan in plans:
        for error in plan.errors:
            console.print(f"failed: company {plan.company_id} {plan.resource} {error}")


def _estimate_lines(totals: Estimate, budget: BudgetSnapshot) -> list[str]:
    lines = [
        f"requests: at least {totals.requests_at_least:,}, about "
        f"{totals.requests_estimate:,} (≥: a full first page; ≈: from fullResultSize, "
        "which Tripletex documents as inexact)"
    ]
    if totals.seconds_by_rate_limit is not None and budget.limit and budget.period:
        # The window's length is learned as the longest reset seen, so it may be longer
        # than we know: the time is a lower bound.
        lines.append(
            f"time: at least {duration(totals.seconds_by_rate_limit)} at the rate limit "
            f"learned from X-Rate-Limit-* headers ({budget.limit} requests per window of "
            f"{budget.period:g}s or more), not counting latency"
        )
    else:
        lines.append("time: Tripletex reported no rate limit (no X-Rate-Limit-* headers)")
    if totals.seconds_by_observed_pace is not None:
        lines.append(
            f"time: about {duration(totals.seconds_by_observed_pace)} at the pace of this "
            "plan's requests (a sync runs more in parallel, so likely less)"
        )
    return lines
