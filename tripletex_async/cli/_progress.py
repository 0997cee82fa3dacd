"""Progress of a running sync: a live table on a terminal, periodic log lines elsewhere.

Fed two ways. ``sync(on_progress=...)`` hands over each unit's live `ResourceReport`
after every write, so records per company are exact and cost nothing to track; and the
connection's statistics are polled for what writes do not report: requests, 304s and
429s of the whole run, and the rate budget. A unit whose windows all answered 304 writes
nothing, so it shows up in the totals only.

The display runs in its own task and only reads; nothing here ever blocks the sync. rich
redraws only when we ask (no refresh thread), so the reports are read on the event loop
while no writer is changing them.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..client._connection import ConnectionStatistics
from ..client._ratelimit import BudgetSnapshot
from ..engine._report import ResourceReport

__all__ = ["ProgressMode", "RateMeter", "Tracker", "budget_text", "render_table", "show"]

ProgressMode = Literal["auto", "live", "lines", "off"]
#: Seconds between redraws of the live table.
LIVE_REFRESH = 0.25


class RateMeter:
    """Units per second over the last ``span`` seconds (steadier than tick to tick)."""

    def __init__(self, span: float = 5.0) -> None:
        self._span = span
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, value: int) -> None:
        """Record that the counter stood at ``value`` at ``now``."""
        self._samples.append((now, value))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._span:
            self._samples.popleft()

    def rate(self) -> float:
        """The counter's growth per second across the samples kept."""
        if len(self._samples) < 2:
            return 0.0
        (t0, v0), (t1, v1) = self._samples[0], self._samples[-1]
        return (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass(slots=True)
class CompanyProgress:
    """The live reports of one company's resources seen so far."""

    company_id: int
    reports: dict[str, ResourceReport] = field(default_factory=dict)
    meter: RateMeter = field(default_factory=RateMeter)

    def total(self, name: str) -> int:
        """The sum of a counter (``records``, ``requests``, ...) over the resources."""
        return sum(int(getattr(r, name)) for r in self.reports.values())

    @property
    def running(self) -> list[str]:
        """Resources still being synced."""
        return [n for n, r in self.reports.items() if r.status in ("pending", "running")]

    @property
    def failed(self) -> int:
        """Resources that failed."""
        return sum(r.status == "failed" for r in self.reports.values())


class Tracker:
    """Collects live reports from ``on_progress`` and samples rates when asked."""

    def __init__(self, statistics: Callable[[], ConnectionStatistics], started: float) -> None:
        self._statistics = statistics
        self._started = started
        self._companies: dict[int, CompanyProgress] = {}
        self._meter = RateMeter()

    @property
    def started(self) -> float:
        """When the sync began (``anyio.current_time()``)."""
        return self._started

    def on_progress(self, report: ResourceReport) -> None:
        """The `sync` hook: remember the (live) report of a unit that just wrote."""
        company = self._companies.get(report.company_id)
        if company is None:
            company = self._companies[report.company_id] = CompanyProgress(report.company_id)
        company.reports[report.resource] = report

    def reports(self) -> list[ResourceReport]:
        """Every report seen so far, by company in the order they first reported."""
        return [r for c in self._companies.values() for r in c.reports.values()]

    def sample(self, now: float) -> None:
        """Feed the rate meters (call once per redraw or line)."""
        for company in self._companies.values():
            company.meter.add(now, company.total("records"))
        self._meter.add(now, self.records)

    @property
    def companies(self) -> list[CompanyProgress]:
        """Companies seen so far, the busiest first."""
        return sorted(
            self._companies.values(),
            key=lambda c: (not c.running, -c.meter.rate(), c.company_id),
        )

    @property
    def records(self) -> int:
        """Records stored so far, over every company."""
        return sum(c.total("records") for c in self._companies.values())

    def statistics(self) -> ConnectionStatistics:
        """The connection's counters right now."""
        return self._statistics()

    def fields(self, now: float) -> dict[str, Any]:
        """One progress line's values."""
        stats = self.statistics()
        return {
            "elapsed_s": round(now - self._started, 1),
            "companies": len(self._companies),
            "records": self.records,
            "records_per_s": round(self._meter.rate()),
            "requests": stats.requests,
            "not_modified": stats.not_modified,
            "rate_limited": stats.rate_limited,
            "failed_resources": sum(c.failed for c in self._companies.values()),
            "budget": budget_text(stats.budget),
        }

    def rate(self) -> float:
        """Records per second over the whole run lately."""
        return self._meter.rate()


def budget_text(budget: BudgetSnapshot) -> str:
    """The rate budget in a few words: what is used of the window, and any hold."""
    if budget.limit is None or budget.remaining is None:
        return "no rate limit reported yet"
    text = f"{budget.limit - budget.remaining}/{budget.limit} used"
    if budget.period:
        text += f" per {budget.period:g}s window"
    if budget.reset_in is not None:
        text += f", resets in {budget.reset_in:.0f}s"
    if budget.held_for > 0:
        text += f", holding {budget.held_for:.1f}s"
    return text


def render_table(tracker: Tracker, now: float, max_rows: int) -> Table:
    """The live table: one row per company (busiest first), totals in the caption."""
    fields = tracker.fields(now)
    table = Table(
        title=f"tripletex-async sync · {fields['elapsed_s']:.0f}s",
        caption=f"budget: {fields['budget']}",
        caption_justify="left",
    )
    for name in ("company", "running", "records", "rec/s", "requests", "304", "429", "failed"):
        table.add_column(name, justify="left" if name == "running" else "right")
    companies = tracker.companies
    for company in companies[:max_rows]:
        running = company.running
        table.add_row(
            str(company.company_id),
            ", ".join(running[:3]) + (f" +{len(running) - 3}" if len(running) > 3 else ""),
            f"{company.total('records'):,}",
            f"{company.meter.rate():,.0f}",
            f"{company.total('requests'):,}",
            f"{company.total('not_modified'):,}",
            f"{company.total('rate_limited'):,}",
            str(company.failed or ""),
        )
    if len(companies) > max_rows:
        table.add_row(f"+{len(companies) - max_rows} more", "", "", "", "", "", "", "")
    table.add_section()
    table.add_row(
        f"all ({fields['companies']})",
        "",
        f"{fields['records']:,}",
        f"{fields['records_per_s']:,}",
        f"{fields['requests']:,}",
        f"{fields['not_modified']:,}",
        f"{fields['rate_limited']:,}",
        str(fields["failed_resources"] or ""),
    )
    return table


async def show(
    tracker: Tracker,
    mode: ProgressMode,
    *,
    interval: float,
    emit: Callable[..., None],
) -> None:
    """Show progress until cancelled: a live table or a line every ``interval``."""
    if mode == "auto":
        mode = "live" if sys.stderr.isatty() else "lines"
    if mode == "live":
        await _live(tracker)
    elif mode == "lines":
        await _lines(tracker, interval, emit)


async def _live(tracker: Tracker) -> None:
    console = Console(file=sys.stderr)
    rows = max(5, console.height - 10)
    with Live(console=console, auto_refresh=False, transient=False) as live:
        try:
            while True:
                now = anyio.current_time()
                tracker.sample(now)
                live.update(render_table(tracker, now, rows), refresh=True)
                await anyio.sleep(LIVE_REFRESH)
        finally:
            # The last state stays on screen above the summary.
            now = anyio.current_time()
            live.update(render_table(tracker, now, rows), refresh=True)


async def _lines(tracker: Tracker, interval: float, emit: Callable[..., None]) -> None:
    while True:
        await anyio.sleep(interval)
        now = anyio.current_time()
        tracker.sample(now)
        emit("sync_progress", **tracker.fields(now))
