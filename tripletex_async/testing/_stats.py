"""What the simulator saw: requests by path, status, company and budget, and its peaks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._budgets import BudgetStatistics

__all__ = ["FakeStatistics", "StatsRecorder"]


@dataclass(frozen=True, slots=True)
class FakeStatistics:
    """A snapshot of the simulator's counters."""

    requests: int
    by_path: dict[str, int]
    by_status: dict[int, int]
    by_company: dict[int, int]
    not_modified: int
    rate_limited: int
    sessions_created: int
    faults: dict[str, int]
    in_flight: int
    peak_concurrency: int
    #: Budgets (consumer token, employee token) that sent a request with a session.
    budgets_active: int = 0
    #: Requests sent with a superseded session of their budget: two holders sending
    #: for one budget at once (`_budgets` says exactly when).
    budget_overlaps: int = 0
    #: Over every budget: rate windows in which it made calls, and the calls allowed in
    #: them; ``budget_window_use`` is their share of the calls those windows allowed
    #: (None without a rate limit or a call). The current window counts whole, so the
    #: share is a little low while a budget is still sending.
    budget_windows: int = 0
    budget_window_calls: int = 0
    budget_window_use: float | None = None
    #: Per budget, by its short non-secret label (``accountant``, ``company-1234567``).
    by_budget: Mapping[str, BudgetStatistics] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (for ``GET /_fake/statistics``)."""
        return {
            "requests": self.requests,
            "by_path": self.by_path,
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "by_company": {str(k): v for k, v in self.by_company.items()},
            "not_modified": self.not_modified,
            "rate_limited": self.rate_limited,
            "sessions_created": self.sessions_created,
            "faults": self.faults,
            "in_flight": self.in_flight,
            "peak_concurrency": self.peak_concurrency,
            "budgets_active": self.budgets_active,
            "budget_overlaps": self.budget_overlaps,
            "budget_windows": self.budget_windows,
            "budget_window_calls": self.budget_window_calls,
            "budget_window_use": self.budget_window_use,
            "by_budget": {label: b.to_dict() for label, b in self.by_budget.items()},
        }


@dataclass(slots=True)
class StatsRecorder:
    """Mutable counters behind ``FakeTripletex.statistics()``."""

    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    by_company: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    peak: int = 0

    def begin(self) -> None:
        """A request arrived."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def end(self, path: str, status: int, company: int | None) -> None:
        """A request was answered (or dropped: status 0)."""
        self.in_flight -= 1
        self.by_path[path] += 1
        self.by_status[status] += 1
        if company is not None:
            self.by_company[company] += 1

    def snapshot(
        self,
        sessions_created: int,
        budgets: Mapping[str, BudgetStatistics] | None = None,
        window_limit: int | None = None,
    ) -> FakeStatistics:
        """Freeze the counters, with the budgets' (``window_limit``: calls a rate window
        allows, None without a rate limit)."""
        budgets = dict(budgets or {})
        windows = sum(b.windows for b in budgets.values())
        calls = sum(b.window_calls for b in budgets.values())
        use = calls / (windows * window_limit) if window_limit and windows else None
        return FakeStatistics(
            requests=sum(self.by_status.values()),
            by_path=dict(self.by_path),
            by_status=dict(self.by_status),
            by_company=dict(self.by_company),
            not_modified=self.by_status[304],
            rate_limited=self.by_status[429],
            sessions_created=sessions_created,
            faults=dict(self.faults),
            in_flight=self.in_flight,
            peak_concurrency=self.peak,
            budgets_active=sum(1 for b in budgets.values() if b.requests),
            budget_overlaps=sum(b.overlaps for b in budgets.values()),
            budget_windows=windows,
            budget_window_calls=calls,
            budget_window_use=use,
            by_budget=budgets,
        )
