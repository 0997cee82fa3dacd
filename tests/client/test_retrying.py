"""One call's retries: as many tries as the policy allows, within its total time."""

from __future__ import annotations

import random

import anyio
import pytest

from tripletex_async import LoopClock, RetryPolicy
from tripletex_async.client._retry import Retrying

pytestmark = pytest.mark.anyio


class Failed(Exception):
    pass


async def tries_until_given_up(clock: LoopClock, policy: RetryPolicy) -> tuple[int, float]:
    """How many tries a call that always fails makes, and the seconds it spends."""
    retrying, tries = Retrying(policy, clock, random.Random(1)), 0
    started = anyio.current_time()
    while True:
        tries += 1
        try:
            await retrying.wait(Failed(tries))
        except Failed as exc:
            last = exc.args[0]
            break
    assert last == tries  # the last failure is what the caller gets
    return tries, anyio.current_time() - started


async def test_a_call_is_tried_as_often_as_the_attempts_say(clock: LoopClock) -> None:
    """``attempts`` counts the first try; the last failure is what the caller gets."""
    tries, _ = await tries_until_given_up(clock, RetryPolicy(attempts=4, base=1, cap=1))
    assert tries == 4


async def test_a_call_gives_up_before_a_wait_would_pass_its_total_time(clock: LoopClock) -> None:
    """No retry is started that could only end after ``total`` seconds."""
    policy = RetryPolicy(attempts=1000, base=10, cap=10, total=60)
    tries, spent = await tries_until_given_up(clock, policy)
    assert spent <= 60
    assert 2 <= tries < 1000


async def test_last_says_when_the_next_try_is_the_final_one(clock: LoopClock) -> None:
    """Callers that answer differently on their last try (the session call) can tell."""
    retrying = Retrying(RetryPolicy(attempts=2, base=0), clock, random.Random(1))
    assert not retrying.last
    await retrying.wait(Failed())
    assert retrying.last
