"""Simulator: rate-limit windows, seeded faults, mutations and statistics."""

from __future__ import annotations

import httpx
import pytest

from tripletex_async.testing import FakeConfig, Faults, RateLimit

from .fakekit import kit

pytestmark = pytest.mark.anyio


async def test_every_response_carries_rate_limit_headers() -> None:
    """X-Rate-Limit-Limit/Remaining/Reset are on every answer inside the window."""
    async with kit(FakeConfig(rate_limit=RateLimit(5, 10))) as k:
        response = await k.get("/customer")
    # :create counted once, this call once.
    assert response.headers["x-rate-limit-limit"] == "5"
    assert response.headers["x-rate-limit-remaining"] == "3"
    assert response.headers["x-rate-limit-reset"] == "10"


async def test_exhausted_window_is_429_until_it_ends_without_reset_header() -> None:
    """After the limit every call is 429 (no reset header) until the window ends."""
    async with kit(FakeConfig(rate_limit=RateLimit(3, 10))) as k:
        statuses = [(await k.get("/customer")).status_code for _ in range(4)]
        limited = await k.get("/customer")
        k.clock.advance(seconds=10)
        after = await k.get("/customer")
    assert statuses == [200, 200, 429, 429]
    assert "x-rate-limit-reset" not in limited.headers
    assert after.status_code == 200


async def test_reset_header_on_429_when_configured() -> None:
    """reset_header_on_429 puts the reset back on 429s."""
    async with kit(FakeConfig(rate_limit=RateLimit(1, 10, reset_header_on_429=True))) as k:
        response = await k.get("/customer")
    assert response.status_code == 429
    assert response.headers["x-rate-limit-reset"] == "10"


@pytest.mark.parametrize(
    ("fault", "check"),
    [("error_500", 500), ("error_503", 503), ("drop", "drop"), ("truncate", "truncate")],
)
async def test_seeded_fault_happens_at_its_rate(fault: str, check: object) -> None:
    """A fault with probability 0.5 hits roughly half of 100 calls, deterministically."""
    async with kit(FakeConfig(faults=Faults(seed=5, **{fault: 0.5}))) as k:
        hits = 0
        for _ in range(100):
            try:
                response = await k.get("/customer")
                await response.aread()
                hits += response.status_code == check
            except httpx.RemoteProtocolError:
                hits += check in ("drop", "truncate")
    assert 30 < hits < 70


async def test_session_death_makes_the_session_401() -> None:
    """session_death kills the session used: that call and later ones are 401."""
    async with kit(FakeConfig(faults=Faults(session_death=1.0))) as k:
        first = await k.get("/customer")
    assert first.status_code == 401


async def test_update_bumps_version_and_appends_a_change() -> None:
    """update() raises version and adds an UPDATE change."""
    async with kit() as k:
        record = k.fake.records(k.company, "customer")[0]
        updated = k.fake.update(k.company, "customer", record["id"], {"name": "Nytt AS"})
    assert updated["version"] == record["version"] + 1
    assert updated["changes"][-1]["changeType"] == "UPDATE"


async def test_put_with_stale_version_is_409_8000() -> None:
    """A PUT carrying an old version is a RevisionException."""
    async with kit() as k:
        record = k.fake.records(k.company, "customer")[0]
        k.fake.update(k.company, "customer", record["id"], {"name": "Før AS"})
        response = await k.http.put(
            f"/customer/{record['id']}",
            json={"name": "Etter AS", "version": record["version"]},
            headers=k.auth(k.company),
        )
    assert (response.status_code, response.json()["code"]) == (409, 8000)


async def test_post_rejects_unknown_fields_with_16000() -> None:
    """Unknown body fields are refused (422/16000), not ignored."""
    async with kit() as k:
        response = await k.http.post(
            "/customer", json={"name": "X", "isDayTrip": True}, headers=k.auth(k.company)
        )
    assert (response.status_code, response.json()["code"]) == (422, 16000)


async def test_statistics_count_paths_statuses_and_companies() -> None:
    """statistics() counts requests by path, status and company, and session creations."""
    async with kit() as k:
        await k.get("/customer")
        await k.get("/invoice")
        stats = k.fake.statistics()
    assert stats.sessions_created == 1
    assert stats.by_path["customer"] == 1
    assert stats.by_status[422] == 1
    assert stats.by_company[k.company] == 2
    assert stats.in_flight == 0


async def test_faults_spare_session_calls_unless_asked() -> None:
    """With drop=1.0, :create still answers; with on_token_calls it is dropped too."""
    async with kit(FakeConfig(faults=Faults(drop=1.0))) as k:
        assert k.token
    with pytest.raises(httpx.RemoteProtocolError):
        async with kit(FakeConfig(faults=Faults(drop=1.0, on_token_calls=True))):
            pass
