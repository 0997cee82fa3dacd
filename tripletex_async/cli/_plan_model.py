"""What ``plan`` found: each window's probe, each resource's sum, the run's estimate.

Plain data, shared by `_plan_cmd` (which probes) and `_plan_output` (which prints).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine._sync import MAX_PAGE
from ..engine._windows import Window

__all__ = ["Estimate", "Probe", "ResourcePlan"]


@dataclass(frozen=True, slots=True)
class Probe:
    """What the first page of one window showed."""

    company_id: int
    resource: str
    window: Window
    records: int = 0
    full: bool = False
    #: ``fullResultSize``: an estimate only.
    hint: int | None = None
    #: 422/23000: the window holds more than the result-set cap and will be split.
    too_large: bool = False
    error: str | None = None
    #: A child list: how many parents it has (a sync asks once per parent, after reading
    #: their ids); its records are counted only by reading them.
    parents: int | None = None
    #: A child list: the requests that read its parents' ids.
    parent_reads: int = 0


@dataclass(slots=True)
class ResourcePlan:
    """One resource of one company: its windows' probes summed up."""

    company_id: int
    resource: str
    windows: int = 0
    #: Records certainly there (first pages; more where ``exact`` is false).
    at_least: int = 0
    exact: bool = True
    #: The sum of ``fullResultSize`` over windows with a full first page, else counts.
    estimate: int = 0
    requests_at_least: int = 0
    requests_estimate: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, probe: Probe, page_size: int) -> None:
        """Count one window's probe in."""
        self.windows += 1
        if probe.error is not None:
            self.errors.append(f"{probe.window}: {probe.error}")
            return
        if probe.parents is not None:
            self.requests_at_least += probe.parent_reads + probe.parents
            self.requests_estimate += probe.parent_reads + probe.parents
            self.exact = False
            return
        low, guess = _requests(probe, page_size)
        self.requests_at_least += low
        self.requests_estimate += guess
        if probe.too_large:
            self.exact = False
            self.at_least += MAX_PAGE + 1
            self.estimate += max(probe.hint or 0, MAX_PAGE + 1)
            return
        self.at_least += probe.records
        self.exact = self.exact and not probe.full
        self.estimate += max(probe.hint or 0, probe.records) if probe.full else probe.records


def _requests(probe: Probe, page_size: int) -> tuple[int, int]:
    """Requests a sync of the window needs: at least, and as estimated."""
    if probe.too_large:
        # The refused query, then at least the pages of the cap's worth of records.
        low = 1 + MAX_PAGE // page_size + 1
        return low, max(low, 1 + (probe.hint or 0) // page_size + 1)
    if not probe.full:
        return 1, 1
    # A scan stops at the first short page: N records take N // size + 1 requests; a
    # full probe smaller than the sync's page may still be the whole window.
    low = 2 if page_size <= probe.records else 1
    return low, max(low, (probe.hint or 0) // page_size + 1)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The plan's totals and how long a sync would take."""

    requests_at_least: int
    requests_estimate: int
    #: From the learned rate limit; ``None`` when Tripletex reported none.
    seconds_by_rate_limit: float | None
    #: At the pace the plan's own requests went (``WORKERS`` in parallel).
    seconds_by_observed_pace: float | None
