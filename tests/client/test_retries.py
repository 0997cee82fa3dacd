"""Retries: each simulated fault is survived by GETs; writes are not replayed."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tripletex_async import DecodeError, RetryPolicy, ServerError
from tripletex_async.testing import FakeConfig, FakeTripletex, Faults

from .conftest import MakeClient, client_id, sibling

pytestmark = pytest.mark.anyio


def _faulty(fake: FakeTripletex, **faults: float) -> FakeTripletex:
    config = FakeConfig(faults=Faults(seed=3, **faults))
    return sibling(fake, config)


@pytest.mark.parametrize(
    ("fault", "rate"),
    [
        ("error_500", 0.3),
        ("error_503", 0.3),
        ("drop", 0.3),
        ("truncate", 0.3),
        # A 401 is replayed once only, so a dying session must be rarer than a 5xx.
        ("session_death", 0.05),
    ],
)
async def test_get_survives_each_fault(
    make_client: MakeClient, fake: FakeTripletex, fault: str, rate: float
) -> None:
    """With a seeded fault on many requests, every one of 40 GETs still succeeds."""
    faulty = _faulty(fake, **{fault: rate})
    company = client_id(fake)
    async with make_client(sim=faulty, retry=RetryPolicy(attempts=8)) as client:
        for _ in range(40):
            page = await client.company(company).get_list("/customer", dict[str, Any])
            assert page.values
        stats = client.statistics()
    assert faulty.statistics().faults.get(fault.removeprefix("error_"), 0) > 0
    assert stats.retries + stats.replayed_401 > 0


async def test_post_is_not_retried_after_a_server_error(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A POST answered 500 raises at once: it may have reached Tripletex."""
    faulty = _faulty(fake, error_500=1.0)
    company = client_id(fake)
    async with make_client(sim=faulty) as client:
        with pytest.raises(ServerError):
            await client.company(company).post("/customer", json={"name": "Ny Kunde AS"})
    assert faulty.statistics().by_path.get("customer") == 1


async def test_retries_give_up_after_the_attempt_cap(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A GET failing every time raises ServerError after exactly `attempts` tries."""
    faulty = _faulty(fake, error_503=1.0)
    company = client_id(fake)
    async with make_client(sim=faulty, retry=RetryPolicy(attempts=4)) as client:
        with pytest.raises(ServerError) as info:
            await client.company(company).get_list("/customer", dict[str, Any])
    assert info.value.status == 503
    assert faulty.statistics().by_path.get("customer") == 4


def test_backoff_is_full_jitter_within_the_cap() -> None:
    """The delay for attempt n lies in [0, min(cap, base * 2**(n-1)))."""
    policy = RetryPolicy(base=0.5, cap=4.0)
    assert policy.backoff(1, 0.999) < 0.5
    assert policy.backoff(10, 0.999) < 4.0
    assert policy.backoff(3, 0.0) == 0.0


async def test_malformed_body_is_retried_for_a_get(
    make_client: MakeClient, fake: FakeTripletex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 200 whose body is not the expected JSON is fetched again, then decoded."""
    original = fake.handle
    mangled = 0

    async def once_garbled(request: Any) -> Any:
        nonlocal mangled
        response = await original(request)
        if request.path.endswith("/customer") and not mangled:
            mangled += 1
            response.body = b'{"values": [{"id": "not-a-number"'
        return response

    monkeypatch.setattr(fake, "handle", once_garbled)
    company = client_id(fake)
    async with make_client() as client:
        page = await client.company(company).get_list("/customer", dict[str, Any])
        assert client.statistics().retries == 1
    assert page.values
    assert mangled == 1


async def test_wrong_struct_fails_at_once_naming_endpoint_company_and_field(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A complete body that does not fit the Struct is not transient: no retry."""

    class Wrong(msgspec.Struct):
        id: int
        name: int  # names are strings

    company = client_id(fake)
    async with make_client() as client:
        with pytest.raises(DecodeError) as info:
            await client.company(company).get_list("/customer", Wrong, params={"fields": "id,name"})
        assert client.statistics().retries == 0
    assert fake.statistics().by_path.get("customer") == 1
    text = str(info.value)
    assert "/customer" in text
    assert f"company {company}" in text
    assert "$.values[0].name" in text


async def test_a_501_not_implemented_is_not_asked_again(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """501 says the server does not do this at all (the simulator: "not simulated"):
    one request, then the error, however many attempts a retry policy allows."""
    company = client_id(fake)
    async with make_client(retry=RetryPolicy(attempts=5)) as client:
        with pytest.raises(ServerError) as info:
            await client.company(company).get("/incomingInvoice/1")
    assert info.value.status == 501
    assert "not simulated" in str(info.value)
    assert client.statistics().retries == 0
