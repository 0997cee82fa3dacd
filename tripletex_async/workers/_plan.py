"""The planner's arithmetic: which budgets run first, and when all should be done.

Budgets are independent jobs of known length (the requests and time their last complete
chain took), run by identical workers: longest first (LPT) keeps the makespan within 4/3
of the best possible, and close to its lower bound, max(the longest job, the total / the
workers), when jobs are many. A budget never run has no length yet: accountant budgets
(many companies) go first among those, as they are usually the heaviest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._store import BudgetRow

__all__ = ["Estimate", "estimate", "longest_first"]


def longest_first(rows: Sequence[BudgetRow]) -> list[BudgetRow]:
    """``rows`` in the order to start them."""

    def key(row: BudgetRow) -> tuple[float, int, str]:
        companies = row.budget.companies
        accountant = companies == "all" or (isinstance(companies, tuple) and len(companies) > 1)
        return (-row.last_chain_seconds, -int(accountant), row.budget.id)

    return sorted(rows, key=key)


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the planner expects of a plan."""

    budgets: int
    #: Seconds until the last budget is done, if ``workers`` run them as planned.
    makespan_seconds: float
    #: Its lower bound: max(the longest budget, the total / ``workers``).
    lower_bound_seconds: float


def estimate(rows: Sequence[BudgetRow], workers: int) -> Estimate:
    """Simulate LPT over ``workers`` slots with each budget's last chain length (a
    budget never run counts as the mean of those that have)."""
    known = [r.last_chain_seconds for r in rows if r.last_chain_seconds > 0]
    mean = sum(known) / len(known) if known else 0.0
    lengths = [r.last_chain_seconds or mean for r in longest_first(rows)]
    slots = [0.0] * max(1, workers)
    for length in lengths:
        slots[slots.index(min(slots))] += length
    bound = max([max(lengths, default=0.0), sum(lengths) / max(1, workers)])
    return Estimate(len(rows), max(slots), bound)
