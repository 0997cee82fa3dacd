"""Dates and Europe/Oslo timestamps for the generated portfolio, as precomputed strings.

Record builders work with day numbers (0 is January 1st of the first history year) and
seconds within the day; this module turns them into ``YYYY-MM-DD`` dates and
``YYYY-MM-DDThh:mm:ss+01:00`` timestamps without building a datetime per record.

Invariant: generated times of day lie between 07:00 and 22:00, so the offset of a whole
day is the offset at noon; DST switches at 02:00/03:00 never split a generated day.
"""

from __future__ import annotations

import bisect
from datetime import date, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

__all__ = ["WORKDAY_END", "WORKDAY_START", "Calendar", "DayDistribution"]

OSLO = ZoneInfo("Europe/Oslo")
#: Seconds after midnight of the earliest and latest generated timestamps.
WORKDAY_START = 7 * 3600
WORKDAY_END = 22 * 3600

_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))

#: Activity per month (January first): busy before the VAT terms and year end, quiet in
#: the July holidays ("fellesferie").
_MONTH_WEIGHT = (1.2, 1.0, 1.1, 1.0, 1.0, 1.25, 0.45, 0.9, 1.05, 1.05, 1.15, 1.5)
#: Monday first; bookkeeping happens mostly on working days.
_WEEKDAY_WEIGHT = (1.0, 1.05, 1.05, 1.0, 0.9, 0.12, 0.05)


class Calendar:
    """The days from ``history`` years before ``year`` to the end of ``year + 1``."""

    __slots__ = (
        "_dates",
        "_minutes",
        "_offsets",
        "_stamp_heads",
        "first",
        "year",
        "year_days",
        "year_start",
    )

    def __init__(self, year: int, history: int = 3) -> None:
        self.year = year
        self.first = date(year - history, 1, 1)
        end = date(year + 2, 1, 1)
        days = [self.first + timedelta(days=n) for n in range((end - self.first).days)]
        self._dates = tuple(d.isoformat() for d in days)
        self._offsets = tuple(_oslo_offset(d) for d in days)
        # Timestamps are glued from precomputed pieces ("2025-03-12T", "15:09:", "57",
        # "+01:00"): number formatting was most of the cost of a record's changes.
        self._stamp_heads = tuple(f"{d}T" for d in self._dates)
        self._minutes = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))
        #: Day number of January 1st of ``year``.
        self.year_start = (date(year, 1, 1) - self.first).days
        self.year_days = (date(year + 1, 1, 1) - date(year, 1, 1)).days

    @property
    def last_day(self) -> int:
        """Day number of the last day the calendar knows (December 31st of year + 1)."""
        return len(self._dates) - 1

    @property
    def year_end(self) -> int:
        """Day number of December 31st of ``year``."""
        return self.year_start + self.year_days - 1

    def date(self, day: int) -> str:
        """``YYYY-MM-DD`` of a day number (clamped to the calendar)."""
        return self._dates[min(max(day, 0), len(self._dates) - 1)]

    def timestamp(self, day: int, second: int) -> str:
        """The Oslo local time ``second`` seconds into ``day``, with its UTC offset."""
        hours, rest = divmod(second, 3600)
        return (
            f"{self._dates[day]}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{self._offsets[day]}"
        )

    def weekday(self, day: int) -> int:
        """Monday is 0."""
        return (self.first.weekday() + day) % 7


def _oslo_offset(day: date) -> str:
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=OSLO).utcoffset()
    assert offset is not None  # zoneinfo always knows Oslo's offset
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class DayDistribution:
    """Spreads the i-th of n dated records over the days of ``calendar.year``.

    Dates rise with i (records are created in date order, as voucher numbers are), and
    follow seasonal and weekday weights. One day never gets more than about 0.6 % of a
    collection, so up to 1.5 million rows per company stay under 10,000 per day, and the
    busiest month gets about 12 %, so 12,000 postings give months over 1,000.
    """

    __slots__ = ("_cumulative", "_start")

    def __init__(self, calendar: Calendar, rng: Random) -> None:
        self._start = calendar.year_start
        weights: list[float] = []
        month_noise = [w * (0.9 + 0.2 * rng.random()) for w in _MONTH_WEIGHT]
        for n in range(calendar.year_days):
            day = calendar.year_start + n
            month = int(calendar.date(day)[5:7]) - 1
            weights.append(month_noise[month] * _WEEKDAY_WEIGHT[calendar.weekday(day)])
        total = sum(weights)
        running = 0.0
        self._cumulative: list[float] = []
        for w in weights:
            running += w / total
            self._cumulative.append(running)
        self._cumulative[-1] = 1.0

    def day(self, i: int, n: int) -> int:
        """Day number (in the calendar) of the i-th of n records."""
        return self._start + bisect.bisect_left(self._cumulative, (i + 0.5) / n)
