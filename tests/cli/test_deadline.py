"""``--deadline``: when a nightly run stops asking, read as a cron schedule reads time."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import pytest

from tripletex_async.cli._args import deadline

NOW = datetime(2026, 12, 7, 1, 30, tzinfo=timezone(timedelta(hours=1)))


def test_a_time_later_today_is_today() -> None:
    """A run started at 01:30 with --deadline 06:00 stops at 06:00 the same day."""
    assert deadline("06:00", NOW) == NOW.replace(hour=6, minute=0)


def test_a_time_already_passed_today_is_tomorrow() -> None:
    """A run started at 01:30 with --deadline 01:00 has until 01:00 the next day."""
    assert deadline("01:00", NOW) == NOW.replace(hour=1, minute=0) + timedelta(days=1)


def test_an_iso_time_without_a_zone_is_in_this_machines_zone() -> None:
    """The machine's zone, as for HH:MM; one with an offset keeps it."""
    assert deadline("2026-12-07T05:00", NOW) == NOW.replace(hour=5, minute=0)
    assert deadline("2026-12-07T05:00+00:00", NOW).utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["25:00", "6", "soon", "06:00:00:00"])
def test_anything_else_is_refused_saying_what_is_expected(text: str) -> None:
    """A clear message for argparse to print in one line."""
    with pytest.raises(argparse.ArgumentTypeError, match="HH:MM"):
        deadline(text, NOW)
