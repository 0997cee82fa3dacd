"""Properties of pure functions: backoff bounds, expiration dates, fields parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tripletex_async import RetryPolicy
from tripletex_async.client._clock import OSLO
from tripletex_async.client._config import Credentials
from tripletex_async.client._log import Log, Redactor
from tripletex_async.client._session import SessionManager
from tripletex_async.testing._fields import parse_fields


@given(
    attempt=st.integers(min_value=1, max_value=60),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
    base=st.floats(min_value=0.01, max_value=5),
    cap=st.floats(min_value=0.1, max_value=120),
)
def test_backoff_stays_within_full_jitter_bounds(
    attempt: int, draw: float, base: float, cap: float
) -> None:
    """0 <= backoff(n) < min(cap, base * 2**(n-1)) for every attempt and draw."""
    delay = RetryPolicy(base=base, cap=cap).backoff(attempt, draw)
    assert 0 <= delay <= min(cap, base * 2.0 ** (attempt - 1))


class _FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("no sleeping here")


async def _never(method: str, body: object, params: object) -> tuple[int, bytes]:
    raise AssertionError("no requests here")


@given(
    now=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=1, max_value=30),
)
def test_expiration_date_leaves_at_least_an_hour_and_is_after_today(
    now: datetime, days: int
) -> None:
    """The date asked for is after today in Oslo and its midnight is an hour or more away."""
    manager = SessionManager(
        Credentials("test-a", "test-b"),
        _never,
        clock=_FixedClock(now),
        log=Log(Redactor()),
        redactor=Redactor(),
        days=days,
    )
    date, expires = manager.expiration_date()
    assert date > now.astimezone(OSLO).date().isoformat()
    assert expires - now >= timedelta(hours=1)
    assert expires.astimezone(OSLO).hour == 0


_names = st.from_regex(r"[a-z][A-Za-z0-9]{0,8}", fullmatch=True)


@st.composite
def _selection(draw: st.DrawFn, depth: int = 2) -> str:
    items = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
    out = []
    for name in items:
        if depth and draw(st.booleans()):
            out.append(f"{name}({draw(_selection(depth - 1))})")
        else:
            out.append(name)
    return ",".join(out)


@given(_selection())
def test_fields_parser_round_trips(text: str) -> None:
    """Parsing a fields expression and printing it back gives the same expression."""

    def show(selection: object) -> str:
        parts = []
        for name, sub in selection.names.items():  # type: ignore[attr-defined]
            parts.append(name if sub is None else f"{name}({show(sub)})")
        return ",".join(parts)

    assert show(parse_fields(text)) == text
