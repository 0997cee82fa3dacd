"""Date windows: planning a range and splitting a window."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tripletex_async.engine._windows import UNDATED, Window, plan_windows

DAY = timedelta(days=1)
days = st.dates(min_value=date(2019, 1, 1), max_value=date(2028, 12, 31))


@st.composite
def ranges(draw: st.DrawFn) -> tuple[date, date]:
    start = draw(days)
    return start, start + draw(st.integers(1, 1500)) * DAY


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(days)
    return Window(start, start + draw(st.integers(1, 400)) * DAY)


@given(ranges(), st.lists(windows(), max_size=8))
def test_plan_covers_the_range_exactly_with_disjoint_windows(
    bounds: tuple[date, date], stored: list[Window]
) -> None:
    """Planned windows are in order, touch end to end and cover [from, to) exactly."""
    start, end = bounds
    planned = plan_windows(start, end, stored)
    assert planned[0].start == start
    assert planned[-1].end == end
    for a, b in itertools.pairwise(planned):
        assert a.end == b.start


@given(ranges(), st.lists(windows(), max_size=8))
def test_plan_keeps_stored_windows_that_fit(
    bounds: tuple[date, date], stored: list[Window]
) -> None:
    """A stored window inside the range that overlaps no earlier kept one is reused."""
    start, end = bounds
    planned = set(plan_windows(start, end, stored))
    kept: list[Window] = []
    for w in sorted(stored):
        assert w.start is not None
        assert w.end is not None
        if start <= w.start and w.end <= end and (not kept or kept[-1].end <= w.start):  # type: ignore[operator]
            kept.append(w)
    assert set(kept) <= planned


def test_plan_cuts_fresh_ranges_at_year_boundaries() -> None:
    """A range with nothing stored is cut at each 1 January."""
    planned = plan_windows(date(2024, 6, 1), date(2026, 3, 1))
    assert [w.key for w in planned] == [
        ("2024-06-01", "2025-01-01"),
        ("2025-01-01", "2026-01-01"),
        ("2026-01-01", "2026-03-01"),
    ]


@given(windows())
def test_split_halves_touch_and_cover(window: Window) -> None:
    """Halves cover the window exactly; a one-day window does not split."""
    halves = window.split()
    if window.days < 2:
        assert halves is None
        return
    assert halves is not None
    first, second = halves
    assert (first.start, first.end, second.end) == (window.start, second.start, window.end)
    assert first.days >= 1
    assert second.days >= 1


def test_undated_window_has_empty_key_and_never_splits() -> None:
    """The undated window is keyed ("", "") and cannot be split."""
    assert UNDATED.key == ("", "")
    assert Window.from_key("", "") is UNDATED
    assert UNDATED.split() is None


def test_empty_window_is_refused() -> None:
    """A window must end after it starts."""
    with pytest.raises(ValueError, match="empty window"):
        Window(date(2025, 1, 2), date(2025, 1, 2))
