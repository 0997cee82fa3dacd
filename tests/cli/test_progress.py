"""Progress: rates, the live table, budget text and the periodic lines, with fake time."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from rich.console import Console

from tripletex_async import BudgetSnapshot, ConnectionStatistics, ResourceReport
from tripletex_async.cli._progress import RateMeter, Tracker, budget_text, render_table, show
from tripletex_async.testing import VirtualTimeEventLoop


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    """asyncio with virtual time: intervals pass without real waiting."""
    return ("asyncio", {"loop_factory": VirtualTimeEventLoop})


def statistics(budget: BudgetSnapshot | None = None, **counts: int) -> ConnectionStatistics:
    values: dict[str, Any] = dict.fromkeys(
        ("requests", "retries", "rate_limited", "not_modified", "replayed_401",
         "sessions_created", "errors", "in_flight"), 0,
    )  # fmt: skip
    values.update(counts)
    return ConnectionStatistics(
        **values, budget=budget or BudgetSnapshot(None, None, None, None, 0.0)
    )


def test_rate_meter_measures_growth_over_its_span() -> None:
    """The rate is the growth between the oldest kept sample and the newest."""
    meter = RateMeter(span=5)
    assert meter.rate() == 0.0
    for second in range(10):
        meter.add(float(second), second * 100)
    assert meter.rate() == pytest.approx(100.0)
    meter.add(10.0, 900)  # a stall shows up within the span
    assert meter.rate() < 100.0


def test_tracker_sums_live_reports_per_company() -> None:
    """Reports handed to on_progress are kept live: later changes show without a call."""
    tracker = Tracker(lambda: statistics(requests=7), started=0.0)
    customer, invoice = ResourceReport(1, "customer", "running"), ResourceReport(1, "invoice")
    tracker.on_progress(customer)
    tracker.on_progress(invoice)
    tracker.on_progress(ResourceReport(2, "customer", "done", records=5))
    customer.records, invoice.records = 10, 3
    customer.status = "done"
    by_id = {c.company_id: c for c in tracker.companies}
    assert by_id[1].total("records") == 13
    assert by_id[1].running == ["invoice"]
    assert tracker.records == 18
    assert tracker.fields(4.0)["requests"] == 7


def test_busiest_running_company_comes_first() -> None:
    """Running companies sort before finished ones."""
    tracker = Tracker(statistics, started=0.0)
    tracker.on_progress(ResourceReport(1, "customer", "done"))
    tracker.on_progress(ResourceReport(2, "customer", "running"))
    assert [c.company_id for c in tracker.companies] == [2, 1]


@pytest.mark.parametrize(
    ("budget", "text"),
    [
        (BudgetSnapshot(None, None, None, None, 0.0), "no rate limit reported yet"),
        (BudgetSnapshot(100, 10.0, 63, 4.2, 0.0), "37/100 used per 10s window, resets in 4s"),
        (BudgetSnapshot(100, 10.0, 0, 2.0, 1.5), "100/100 used per 10s window, resets in 2s, "
         "holding 1.5s"),
    ],
)  # fmt: skip
def test_budget_text(budget: BudgetSnapshot, text: str) -> None:
    """What the budget learned, in a few words."""
    assert budget_text(budget) == text


def test_live_table_has_a_row_per_company_and_totals() -> None:
    """Rows beyond the limit fold into '+N more'; the totals row and budget follow."""
    budget = BudgetSnapshot(100, 10.0, 90, 5.0, 0.0)
    tracker = Tracker(lambda: statistics(budget, requests=12, not_modified=3), started=0.0)
    for company in range(1, 5):
        tracker.on_progress(ResourceReport(company, "customer", "running", records=company))
    tracker.sample(1.0)
    console = Console(width=120, record=True)
    console.print(render_table(tracker, now=2.0, max_rows=2))
    text = console.export_text()
    assert "+2 more" in text
    assert "all (4)" in text
    assert "10/100 used" in text
    assert "customer" in text


@pytest.mark.anyio
async def test_lines_are_emitted_every_interval() -> None:
    """Off a terminal, one line per interval with the run's counters."""
    lines: list[tuple[str, dict[str, Any]]] = []
    tracker = Tracker(lambda: statistics(requests=3), started=anyio.current_time())
    tracker.on_progress(ResourceReport(1, "customer", "running", records=4))

    def emit(event: str, **values: Any) -> None:
        lines.append((event, values))

    with anyio.move_on_after(12.5):
        await show(tracker, "lines", interval=5, emit=emit)
    assert len(lines) == 2
    event, values = lines[-1]
    assert event == "sync_progress"
    assert (values["records"], values["requests"], values["companies"]) == (4, 3, 1)


@pytest.mark.anyio
async def test_off_shows_nothing() -> None:
    """--progress off returns at once."""
    tracker = Tracker(statistics, started=0.0)
    with anyio.fail_after(1):
        await show(tracker, "off", interval=0.01, emit=lambda *a, **k: None)
