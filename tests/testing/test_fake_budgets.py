"""Simulator: rate windows keyed per budget (consumer token, employee token), overlapping
sessions of one budget, and the per-budget statistics."""

from __future__ import annotations

import json

import httpx
import pytest

from tripletex_async.testing import (
    Budget,
    Credentials,
    FakeConfig,
    PortfolioConfig,
    RateLimit,
    generate_portfolio,
)

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio

PORTFOLIO = generate_portfolio(
    PortfolioConfig(seed=11, companies=2, standalone=2, scale=0.03, heavy_companies=0)
)
CLIENT, OTHER_CLIENT = PORTFOLIO.company_ids()


def _creds(budget: Budget) -> Credentials:
    return Credentials(budget.consumer_token, budget.employee_token, budget.companies[0], False)


async def _get(k: Kit, token: str, company: int = CLIENT) -> httpx.Response:
    """``GET /customer`` of ``company`` with session ``token``."""
    return await k.http.get("/customer", params={"fields": "id"}, headers=k.auth(company, token))


# -- rate windows ------------------------------------------------------------------------


async def test_sessions_of_one_budget_share_a_rate_window() -> None:
    """Two sessions of one budget draw on one window, not one each."""
    async with kit(FakeConfig(rate_limit=RateLimit(4, 10)), portfolio=PORTFOLIO) as k:
        first = k.token
        second = await k.session()  # 2 calls: the two :creates
        statuses = [(await _get(k, t)).status_code for t in (first, second, first)]
    assert statuses == [200, 200, 429]


async def test_companies_of_one_accountant_share_a_rate_window() -> None:
    """The accountant's calls for different clients draw on one window."""
    async with kit(FakeConfig(rate_limit=RateLimit(2, 10)), portfolio=PORTFOLIO) as k:
        statuses = [(await _get(k, k.token, c)).status_code for c in (CLIENT, OTHER_CLIENT)]
    assert statuses == [200, 429]


async def test_each_employee_token_has_its_own_rate_window() -> None:
    """Another employee token of the same consumer token has a window of its own."""
    async with kit(FakeConfig(rate_limit=RateLimit(2, 10)), portfolio=PORTFOLIO) as k:
        limited = [(await _get(k, k.token)).status_code for _ in range(2)]
        await k.session(_creds(k.fake.budgets()[1]))
        response = await k.get("/customer", company=0)
    assert (limited, response.status_code) == ([200, 429], 200)
    assert response.headers["x-rate-limit-remaining"] == "0"


async def test_each_consumer_token_has_its_own_rate_window() -> None:
    """The same employee token under another consumer token has a window of its own."""
    async with kit(FakeConfig(rate_limit=RateLimit(2, 10)), portfolio=PORTFOLIO) as k:
        limited = [(await _get(k, k.token)).status_code for _ in range(2)]
        own = k.fake.credentials
        other = Credentials(k.fake.add_consumer().consumer_token, own.employee_token, 0, True)
        response = await _get(k, await k.session(other))
        labels = set(k.fake.statistics().by_budget)
    assert (limited, response.status_code) == ([200, 429], 200)
    assert labels == {"accountant", "accountant/c2"}


# -- overlaps ----------------------------------------------------------------------------


@pytest.mark.parametrize("order", [["old", "new", "old"], ["new", "old"]])
async def test_a_superseded_session_sending_is_an_overlap(order: list[str]) -> None:
    """Once a newer session of a budget has sent, a request with an older one counts."""
    async with kit(portfolio=PORTFOLIO) as k:
        tokens = {"old": k.token, "new": await k.session()}
        for name in order:
            assert (await _get(k, tokens[name])).status_code == 200
        stats = k.fake.statistics()
    assert stats.budget_overlaps == 1
    assert stats.by_budget["accountant"].overlaps == 1


async def test_sequential_sessions_of_one_budget_are_no_overlap() -> None:
    """A session that falls silent before the next one speaks counts nothing."""
    async with kit(portfolio=PORTFOLIO) as k:
        for _ in range(3):
            for _ in range(2):
                assert (await _get(k, k.token)).status_code == 200
            await k.session()
        stats = k.fake.statistics()
    assert (stats.budget_overlaps, stats.budgets_active) == (0, 1)


async def test_interleaved_sessions_of_two_budgets_are_no_overlap() -> None:
    """Sessions of different budgets interleave freely."""
    async with kit(portfolio=PORTFOLIO) as k:
        accountant = k.token
        alone = await k.session(_creds(k.fake.budgets()[1]))
        for token, company in [(accountant, CLIENT), (alone, 0)] * 3:
            assert (await _get(k, token, company)).status_code == 200
        stats = k.fake.statistics()
    assert (stats.budget_overlaps, stats.budgets_active) == (0, 2)


async def test_a_dead_superseded_session_is_no_overlap() -> None:
    """A request with an expired old session fails authentication and is not counted."""
    async with kit(portfolio=PORTFOLIO) as k:
        old = k.token
        assert (await _get(k, old)).status_code == 200
        k.fake.expire_sessions()
        assert (await _get(k, await k.session())).status_code == 200
        assert (await _get(k, old)).status_code == 401
        stats = k.fake.statistics()
    assert stats.budget_overlaps == 0


# -- per-budget statistics ---------------------------------------------------------------


async def test_requests_and_429s_are_counted_per_budget() -> None:
    """by_budget counts each budget's requests (not :create) and its 429s."""
    async with kit(FakeConfig(rate_limit=RateLimit(3, 10)), portfolio=PORTFOLIO) as k:
        statuses = [(await _get(k, k.token)).status_code for _ in range(3)]
        await k.session(_creds(k.fake.budgets()[2]))
        await k.get("/customer", company=0)
        stats = k.fake.statistics()
    label = k.fake.budgets()[2].label
    counts = {b: (s.requests, s.rate_limited) for b, s in stats.by_budget.items()}
    assert statuses == [200, 200, 429]
    assert counts == {"accountant": (3, 1), label: (1, 0)}
    assert stats.budgets_active == 2


async def test_window_use_counts_only_windows_with_calls() -> None:
    """Windows with calls and the calls they allowed; idle time and 429s add nothing."""
    async with kit(FakeConfig(rate_limit=RateLimit(4, 10)), portfolio=PORTFOLIO) as k:
        await _get(k, k.token)  # window 1: :create and this, 2 of 4
        k.clock.advance(seconds=100)
        for _ in range(5):  # window 2: 4 of 4, then a 429
            await _get(k, k.token)
        stats = k.fake.statistics()
    accountant = stats.by_budget["accountant"]
    assert (accountant.windows, accountant.window_calls) == (2, 6)
    assert (stats.budget_windows, stats.budget_window_calls) == (2, 6)
    assert stats.budget_window_use == pytest.approx(6 / 8)


async def test_without_a_rate_limit_there_is_no_window_use() -> None:
    """No rate limit: no windows, and the use share is None."""
    async with kit(portfolio=PORTFOLIO) as k:
        await _get(k, k.token)
        stats = k.fake.statistics()
    assert (stats.budget_windows, stats.budget_window_use) == (0, None)
    assert stats.by_budget["accountant"].requests == 1


async def test_statistics_endpoint_shows_budgets_by_label_and_no_token() -> None:
    """GET /_fake/statistics has the budget fields, keyed by label, and no token."""
    async with kit(FakeConfig(rate_limit=RateLimit(10, 10)), portfolio=PORTFOLIO) as k:
        await _get(k, k.token)
        response = await k.http.get("http://tripletex.test/_fake/statistics")
    body = response.json()
    assert body["budgets_active"] == 1
    assert body["budget_overlaps"] == 0
    assert body["by_budget"]["accountant"] == {
        "requests": 1,
        "rate_limited": 0,
        "overlaps": 0,
        "windows": 1,
        "window_calls": 2,
    }
    text = json.dumps(body)
    creds = k.fake.credentials
    assert creds.consumer_token not in text
    assert creds.employee_token not in text
    assert k.token not in text
