"""``--deadline``: when a nightly run stops asking, read as a cron schedule reads time."""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tripletex_async.cli._args import deadline

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 12, 7, 1, 30, tzinfo=OSLO)


def test_a_time_later_today_is_today() -> None:
    """A run started at 01:30 with --deadline 06:00 stops at 06:00 the same day."""
    assert deadline("06:00", NOW, OSLO) == datetime(2026, 12, 7, 6, 0, tzinfo=OSLO)


def test_a_time_already_passed_today_is_tomorrow() -> None:
    """A run started at 01:30 with --deadline 01:00 has until 01:00 the next day."""
    assert deadline("01:00", NOW, OSLO) == datetime(2026, 12, 8, 1, 0, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("started", "offset"),
    [
        (datetime(2026, 3, 29, 1, 30, tzinfo=OSLO), 2),
        (datetime(2026, 10, 25, 1, 30, tzinfo=OSLO), 1),
    ],
)
def test_a_deadline_across_a_dst_change_keeps_its_wall_clock_time(
    started: datetime, offset: int
) -> None:
    """06:00 on the night clocks change is 06:00 in the new offset, not an hour off."""
    at = deadline("06:00", started, OSLO)
    assert (at.hour, at.utcoffset()) == (6, timedelta(hours=offset))


def test_an_iso_time_without_a_zone_is_in_this_machines_zone() -> None:
    """The machine's zone, as for HH:MM; one with an offset keeps it."""
    assert deadline("2026-12-07T05:00", NOW, OSLO) == datetime(2026, 12, 7, 5, 0, tzinfo=OSLO)
    assert deadline("2026-12-07T05:00+00:00", NOW, OSLO).utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["25:00", "6", "soon", "06:00:00:00"])
def test_anything_else_is_refused_saying_what_is_expected(text: str) -> None:
    """A clear message for argparse to print in one line."""
    with pytest.raises(argparse.ArgumentTypeError, match="HH:MM"):
        deadline(text, NOW, OSLO)


def test_the_machines_own_zone_rules_apply_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the CLI calls it: the start time has a fixed offset (``astimezone()``), and
    06:00 after the spring change must still be 06:00 local, in the summer offset."""
    monkeypatch.setenv("TZ", "Europe/Oslo")
    time.tzset()
    try:
        started = datetime(2026, 3, 29, 1, 30).astimezone()
        assert started.utcoffset() == timedelta(hours=1)
        at = deadline("06:00", started)
        assert (at.hour, at.utcoffset()) == (6, timedelta(hours=2))
    finally:
        monkeypatch.undo()
        time.tzset()
