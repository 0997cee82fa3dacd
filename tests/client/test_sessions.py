"""Session tokens: one shared creation, 401 replay, renewal before midnight in Oslo."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tripletex_async import LoopClock, TripletexClient
from tripletex_async.testing import FakeConfig, FakeTripletex

from .conftest import MakeClient, client_id

pytestmark = pytest.mark.anyio


async def _many(client: TripletexClient, company: int, n: int = 100) -> list[Any]:
    results: list[Any] = []

    async def one() -> None:
        results.append(await client.company(company).get_list("/customer", dict[str, Any]))

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return results


async def test_concurrent_first_use_creates_one_session(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """100 tasks needing a token at once cause exactly one :create call."""
    results = await _many(client, client_id(fake))
    assert len(results) == 100
    assert fake.statistics().sessions_created == 1


async def test_concurrent_requests_at_expiry_create_one_session(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """When the token reaches its renewal time, 100 concurrent requests renew it once."""
    await client.who_am_i()
    token = client.connection.session.current
    assert token is not None
    await anyio.sleep((token.renew_at - client.connection.session._clock.now()).total_seconds())
    await _many(client, client_id(fake))
    assert fake.statistics().sessions_created == 2


async def test_concurrent_401s_cause_one_refresh_and_all_succeed(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """100 requests answered 401 at once: one new session, every request replayed once."""
    await client.who_am_i()
    fake.expire_sessions()
    results = await _many(client, client_id(fake))
    assert len(results) == 100
    assert fake.statistics().sessions_created == 2
    assert client.statistics().replayed_401 == 100


async def test_stale_generation_does_not_invalidate_fresh_token(client: TripletexClient) -> None:
    """A late 401 from an old token generation leaves the current token alone."""
    await client.who_am_i()
    session = client.connection.session
    first = session.current
    assert first is not None
    assert session.invalidate(first.generation)
    await client.who_am_i()
    second = session.current
    assert second is not None
    assert not session.invalidate(first.generation)
    assert session.current is second


async def test_second_401_raises_authentication_error(
    client: TripletexClient, fake: FakeTripletex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 on the replayed request is not replayed again: AuthenticationError."""
    from tripletex_async import AuthenticationError

    await client.who_am_i()
    original = fake.handle

    async def always_expired(request: Any) -> Any:
        fake.expire_sessions()
        return await original(request)

    monkeypatch.setattr(fake, "handle", always_expired)
    with pytest.raises(AuthenticationError) as info:
        await client.company(client_id(fake)).get_list("/customer", dict[str, Any])
    assert info.value.status == 401
    assert "request id" in str(info.value)


async def test_session_created_with_post_json_body(
    client: TripletexClient, fake: FakeTripletex
) -> None:
    """The session is created with POST and a JSON body, so tokens never sit in a URL."""
    await client.who_am_i()
    assert fake.statistics().by_path.get("token/session/:create") == 1
    assert client.connection.session._use_put is False


async def test_falls_back_to_put_when_post_is_unsupported(
    make_client: MakeClient, portfolio_small: Any, clock: LoopClock
) -> None:
    """Where POST :create does not exist, the legacy PUT with query parameters is used."""

    old = FakeTripletex(portfolio_small, FakeConfig(post_session_create=False), clock=clock.now)
    async with make_client(
        sim=old,
    ) as client:
        info = await client.who_am_i()
    assert info.companyId == old.credentials.company_id
    assert old.statistics().sessions_created == 1


async def test_cancelled_refresher_does_not_leave_others_hanging(
    make_client: MakeClient, fake: FakeTripletex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the task creating the session is cancelled, a waiting task creates it instead."""
    original = fake.handle
    calls = 0

    async def slow_create(request: Any) -> Any:
        nonlocal calls
        if request.path.endswith(":create"):
            calls += 1
            if calls == 1:
                await anyio.sleep(10)
        return await original(request)

    monkeypatch.setattr(fake, "handle", slow_create)
    async with make_client() as client:
        results: list[Any] = []

        async def first() -> None:
            with anyio.move_on_after(1):
                await client.who_am_i()

        async def second() -> None:
            await anyio.sleep(0.1)
            results.append(await client.who_am_i())

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            tg.start_soon(second)
        assert len(results) == 1
