"""Date windows: how a requested range is cut into queries under the 10,000-row cap.

A window is ``[start, end)`` in days, "to" exclusive like the API. A range starts cut at
year boundaries; a window that proves too big is split in halves, down to one day. Windows
a previous run settled on (kept in the sink's state) are reused, so a rerun neither
rediscovers the splits nor loses the digests that make it cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["UNDATED", "Window", "plan_windows"]


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """``[start, end)``; both ``None`` for an undated resource (one window: everything)."""

    start: date | None
    end: date | None

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValueError("a window has both ends or neither")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"empty window {self.start}..{self.end}")

    @classmethod
    def from_key(cls, start: str, end: str) -> Window:
        """The window of a state key (``("", "")`` is `UNDATED`)."""
        if not start:
            return UNDATED
        return cls(date.fromisoformat(start), date.fromisoformat(end))

    @property
    def key(self) -> tuple[str, str]:
        """``("2025-01-01", "2026-01-01")``; ``("", "")`` when undated."""
        if self.start is None or self.end is None:
            return "", ""
        return self.start.isoformat(), self.end.isoformat()

    @property
    def days(self) -> int:
        """Length in days (0 when undated)."""
        if self.start is None or self.end is None:
            return 0
        return (self.end - self.start).days

    def split(self) -> tuple[Window, Window] | None:
        """Two halves, or ``None`` for a single day or an undated window."""
        if self.start is None or self.days < 2:
            return None
        middle = self.start + timedelta(days=self.days // 2)
        return Window(self.start, middle), Window(middle, self.end)

    def __str__(self) -> str:
        return "all" if self.start is None else f"{self.start}..{self.end}"


UNDATED = Window(None, None)


def _year_cuts(start: date, end: date) -> list[Window]:
    out = []
    while start < end:
        cut = min(date(start.year + 1, 1, 1), end)
        out.append(Window(start, cut))
        start = cut
    return out


def plan_windows(start: date, end: date, stored: Iterable[Window] = ()) -> list[Window]:
    """Disjoint windows covering ``[start, end)`` exactly, in order.

    Stored windows lying wholly inside the range are kept (the first of any overlapping
    ones wins); the gaps between them are cut at year boundaries.
    """
    if end <= start:
        raise ValueError(f"empty date range {start}..{end}")
    kept: list[Window] = []
    for w in sorted(w for w in stored if w.start is not None):
        assert w.start is not None
        assert w.end is not None
        inside = start <= w.start and w.end <= end
        if inside and (not kept or kept[-1].end <= w.start):  # type: ignore[operator]
            kept.append(w)
    out: list[Window] = []
    cursor = start
    for w in kept:
        assert w.start is not None
        assert w.end is not None
        if cursor < w.start:
            out.extend(_year_cuts(cursor, w.start))
        out.append(w)
        cursor = w.end
    if cursor < end:
        out.extend(_year_cuts(cursor, end))
    return out
