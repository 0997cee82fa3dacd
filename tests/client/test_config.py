"""Configuration: tokens, environments and the test/prod separation."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from tripletex_async import (
    ENVIRONMENTS,
    ConfigurationError,
    Limits,
    RetryPolicy,
    TripletexClient,
)
from tripletex_async.testing import FakeTripletex

from .conftest import MakeClient

pytestmark = pytest.mark.anyio


def test_test_token_against_production_is_refused() -> None:
    """A test token (prefix test-) with env='prod' fails before any request."""
    with pytest.raises(ConfigurationError, match="production"):
        TripletexClient("test-abc", "test-def", env="prod", environ={})


def test_production_token_against_test_host_is_refused() -> None:
    """A production token with the test environment fails before any request."""
    with pytest.raises(ConfigurationError, match="test environment"):
        TripletexClient("abc", "def", base_url=ENVIRONMENTS["test"], environ={})


def test_unknown_environment_is_refused() -> None:
    """An environment name other than test or prod is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="unknown Tripletex environment"):
        TripletexClient("test-a", "test-b", env="staging", environ={})


def test_missing_employee_token_is_a_clear_error() -> None:
    """Without an employee token (argument or variable) the error names the variable."""
    with pytest.raises(ConfigurationError, match="TRIPLETEX_EMPLOYEE_TOKEN"):
        TripletexClient("test-a", environ={})


def test_tokens_and_environment_come_from_variables() -> None:
    """TRIPLETEX_* variables configure the client when arguments are absent."""
    environ = {
        "TRIPLETEX_CONSUMER_TOKEN": "test-a",
        "TRIPLETEX_EMPLOYEE_TOKEN": "test-b",
        "TRIPLETEX_ENV": "test",
    }
    client = TripletexClient(environ=environ)
    assert client.base_url == ENVIRONMENTS["test"]


def test_base_url_variable_wins_over_default_environment() -> None:
    """TRIPLETEX_BASE_URL points the client at a proxy or the simulator."""
    environ = {
        "TRIPLETEX_CONSUMER_TOKEN": "a",
        "TRIPLETEX_EMPLOYEE_TOKEN": "b",
        "TRIPLETEX_BASE_URL": "http://127.0.0.1:8080/v2/",
    }
    assert TripletexClient(environ=environ).base_url == "http://127.0.0.1:8080/v2"


def test_repr_shows_no_token() -> None:
    """Neither the client's repr nor its credentials' repr contains a token."""
    client = TripletexClient("test-secret-1", "test-secret-2", env="test", environ={})
    assert "secret" not in repr(client)
    assert "secret" not in repr(client._credentials)


async def test_bad_consumer_token_is_a_configuration_error(make_client: MakeClient) -> None:
    """Tripletex's 422 on :create becomes one clear ConfigurationError, token not shown."""
    async with make_client(consumer_token="test-bogus-consumer") as client:
        with pytest.raises(ConfigurationError, match="consumerToken") as info:
            await client.who_am_i()
    assert "bogus" not in str(info.value)


async def test_closed_client_cannot_be_reopened(make_client: MakeClient) -> None:
    """Once closed, a client refuses both use and a second 'async with'."""
    from tripletex_async import ClosedError

    client = make_client()
    async with client:
        await client.who_am_i()
    with pytest.raises(ClosedError):
        await client.who_am_i()
    with pytest.raises(ClosedError):
        await client.__aenter__()


async def test_close_deletes_the_session(make_client: MakeClient, fake: FakeTripletex) -> None:
    """Leaving the client deletes its session on the server."""
    async with make_client() as client:
        await client.who_am_i()
    assert fake.statistics().by_path.get("token/session/{token}") == 1
    assert fake._sessions.sessions == {}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the default transport there
@pytest.mark.parametrize("root", ["https://api-test.tripletex.tech/v2", "HTTPS://example.no/v2"])
async def test_an_https_root_verifies_certificates(root: str) -> None:
    """Whatever the scheme's case, an https root gets a TLS context that checks the
    server's certificate and host name (only a plain http root goes without one)."""
    client = TripletexClient("test-a", "test-b", base_url=root, environ={})
    client._transport.start()  # type: ignore[attr-defined] - as opening the client does
    context = client._transport._inner.ssl_context  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(
    "make",
    [
        lambda: Limits(max_in_flight=0),
        lambda: Limits(per_company=0),
        lambda: Limits(per_company=-1),
        lambda: Limits(timeout=0),
        lambda: Limits(connect_timeout=float("nan")),
        lambda: RetryPolicy(attempts=0),
        lambda: RetryPolicy(base=-1),
        lambda: RetryPolicy(cap=float("nan")),
        lambda: RetryPolicy(total=0),
        lambda: RetryPolicy(rate_limited_attempts=-1),
    ],
    ids=[
        "max_in_flight=0",
        "per_company=0",
        "per_company=-1",
        "timeout=0",
        "connect_timeout=nan",
        "attempts=0",
        "base=-1",
        "cap=nan",
        "total=0",
        "rate_limited_attempts=-1",
    ],
)
def test_limits_and_retry_policy_refuse_values_that_cannot_work(make: Any) -> None:
    """A value that would hang (no slot) or never send (no attempt) fails at construction."""
    with pytest.raises(ConfigurationError, match="must be"):
        make()


def test_limits_and_retry_policy_accept_the_smallest_working_values() -> None:
    """One slot, one attempt, no delay and no 429 allowance are all valid."""
    Limits(max_in_flight=1, per_company=1, timeout=0.1, connect_timeout=0.1)
    RetryPolicy(attempts=1, base=0, cap=0, total=0.1, rate_limited_attempts=0)
