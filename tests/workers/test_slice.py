"""`run_budget_slice`: one budget, one slice, what is left said plainly; nothing sent
when the budget cannot be run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tripletex_async import SyncOptions
from tripletex_async.sinks import MemorySink
from tripletex_async.sinks._lease import Holder
from tripletex_async.testing import (
    FakeTripletex,
)
from tripletex_async.workers import Secrets, budget_id, run_budget_slice

from ..expectations import expected, stored
from .conftest import KEY, accountant, client_factory

pytestmark = pytest.mark.anyio

LATER = datetime.now(UTC) + timedelta(hours=1)


async def test_a_slice_with_time_enough_is_done_and_exact(fake: FakeTripletex) -> None:
    budget, secrets = accountant(fake)
    sink = MemorySink()
    result = await run_budget_slice(
        budget, sink, secrets=secrets, deadline=LATER, client=client_factory(fake)
    )
    assert result.status == "done"
    assert result.requests > 0
    records = await sink.read("customer")
    for company in fake.portfolio.company_ids():
        assert stored(records, company) == expected(fake, company, "customer")


async def test_a_slice_cut_short_says_more_and_the_next_one_finishes(fake: FakeTripletex) -> None:
    """A bound reached mid-way leaves windows for the next slice; slices end exact."""
    budget, secrets = accountant(fake)
    sink = MemorySink()
    bounded = SyncOptions(max_requests=2, page_size=5)
    statuses = []
    for _ in range(50):
        result = await run_budget_slice(
            budget,
            sink,
            secrets=secrets,
            deadline=LATER,
            client=client_factory(fake),
            options=bounded,
        )
        statuses.append(result.status)
        if result.status == "done":
            break
    assert statuses[0] == "more"
    assert statuses[-1] == "done"
    records = await sink.read("customer")
    for company in fake.portfolio.company_ids():
        assert stored(records, company) == expected(fake, company, "customer")


async def test_a_budget_held_by_a_live_job_is_busy_and_sends_nothing(fake: FakeTripletex) -> None:
    budget, secrets = accountant(fake)
    sink = MemorySink()
    other = Holder("another-host", 1, "2026-12-07T00:05:00+00:00")
    await sink.acquire_lease([budget.scope], other, 60.0)
    result = await run_budget_slice(
        budget, sink, secrets=secrets, deadline=LATER, client=client_factory(fake)
    )
    assert result.status == "busy"
    assert "another-host" in result.message
    assert fake.statistics().requests == 0


async def test_a_missing_token_needs_reauth_and_sends_nothing(fake: FakeTripletex) -> None:
    budget, _ = accountant(fake)
    result = await run_budget_slice(
        budget, MemorySink(), secrets=Secrets({}), deadline=LATER, client=client_factory(fake)
    )
    assert result.status == "needs_reauth"
    assert "env:CONSUMER" in result.message
    assert fake.statistics().requests == 0


async def test_refused_tokens_need_reauth(fake: FakeTripletex) -> None:
    budget, _ = accountant(fake)
    wrong = Secrets({"CONSUMER": fake.credentials.consumer_token, "EMPLOYEE": "not-a-token"})
    result = await run_budget_slice(
        budget, MemorySink(), secrets=wrong, deadline=LATER, client=client_factory(fake)
    )
    assert result.status == "needs_reauth"
    assert "not-a-token" not in result.message


def test_a_budget_id_names_the_tokens_under_the_key_without_showing_them() -> None:
    one = budget_id("consumer-token", "employee-token", KEY)
    assert one == budget_id("consumer-token", "employee-token", KEY)
    assert one != budget_id("consumer-token", "employee-token", b"another-server-key")
    assert one != budget_id("consumer-token", "other-employee", KEY)
    assert "token" not in one
    assert len(one) == 32
