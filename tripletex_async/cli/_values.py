"""The value parsers of the command line's flags: each turns one argument's text into its
value, or raises `argparse.ArgumentTypeError` with a message saying what was expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo

from ..client._errors import ConfigurationError
from ..engine._resources import RESOURCES, resource_name

__all__ = [
    "DEFAULT_SINK",
    "bounded",
    "companies",
    "deadline",
    "fields",
    "iso_date",
    "resources",
    "scale",
    "seconds",
    "seqs",
    "wait",
    "webhook_resources",
]

DEFAULT_SINK = "sqlite:///tripletex.db"


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def resources(text: str) -> tuple[str, ...]:
    """Names, groups or ``all``, comma-separated (see `_registry.select`)."""
    from ..engine._resources import select

    names = [n for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("no resources given")
    try:
        return select(names)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fields(text: str) -> tuple[str, str]:
    """``RESOURCE=a,b,c(d)``: a synced resource and the fields to sync of it."""
    from ..engine._resources import select

    name, sep, selection = text.partition("=")
    if not sep or not selection.strip():
        raise argparse.ArgumentTypeError(
            f"expected RESOURCE=FIELDS, such as customer=id,name: {text!r}"
        )
    try:
        chosen = select([name])
        if len(chosen) != 1 or resource_name(name) != chosen[0]:
            raise ConfigurationError(f"{name.strip()!r} is not one resource")
        RESOURCES[chosen[0]].with_fields(selection.strip())
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return chosen[0], selection.strip()


def companies(text: str) -> list[int]:
    """``ID[,ID...]``; 0 is the token owner's own company (Tripletex's Basic username 0)."""
    ids = [part.strip() for part in text.split(",")]
    bad = [part for part in ids if not part.isdigit()]
    if bad or not ids:
        raise argparse.ArgumentTypeError(
            f"a company id is a whole number (0: the token's own company): {text!r}"
        )
    return [int(part) for part in ids]


def deadline(text: str, now: datetime | None = None, zone: tzinfo | None = None) -> datetime:
    """``HH:MM``: the next such time on this machine's clock (today, or tomorrow once it
    passed), as a cron schedule reads it; or an ISO date and time (this machine's zone
    unless it says another). Local times follow the zone's rules on the day itself
    (``zone``, else the machine's), so a deadline across a DST change is not an hour off."""
    now = now or datetime.now().astimezone()
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(part) for part in text.split(":"))
            clock = time(hour, minute)
            at = _local(now.date(), clock, zone)
            return at if at > now else _local(now.date() + timedelta(days=1), clock, zone)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HH:MM or an ISO date and time: {text!r}"
        ) from None
    return at if at.utcoffset() is not None else _local(at.date(), at.time(), zone)


def _local(day: date, clock: time, zone: tzinfo | None) -> datetime:
    """``day`` at ``clock`` in ``zone`` (the machine's zone, by its own rules, if None)."""
    if zone is None:
        return datetime.combine(day, clock).astimezone()
    return datetime.combine(day, clock, tzinfo=zone)


def bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number {low}..{high}: {text!r}")
        return int(text)

    return parse


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0: {text!r}")
    return value


def wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0: {text!r}")
    return value


def scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 10:
        raise argparse.ArgumentTypeError(f"expected a scale between 0 and 10: {text!r}")
    return value


def seqs(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")]
    if not parts or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected event numbers (seq), comma-separated: {text!r}")
    return [int(part) for part in parts]


def webhook_resources(text: str) -> tuple[str, ...]:
    """Like ``--resources``, but only resources Tripletex has webhook events for."""
    from ..webhooks._events import known_resources

    chosen = resources(text)
    try:
        return tuple(known_resources(chosen))
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
