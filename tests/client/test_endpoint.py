"""A wrong API root is a `ConfigurationError` from the first call: refused, unknown host,
unreachable, or a root that answers 404 where the session call should be."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from tripletex_async import ConfigurationError, RetryPolicy, TransportError
from tripletex_async.testing import FakeResponse, FakeTransport, FakeTripletex

from .conftest import BASE_URL, MakeClient, client_id

pytestmark = pytest.mark.anyio


class Failing(httpx.AsyncBaseTransport):
    """Raises ``error`` for every request while ``failing``; else asks the simulator."""

    def __init__(self, fake: FakeTripletex, error: Exception) -> None:
        self.inner = FakeTransport(fake)
        self.error = error
        self.failing = True
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failing:
            self.attempts += 1
            raise self.error
        return await self.inner.handle_async_request(request)


def connect_error(cause: BaseException, cls: type[httpx.TransportError]) -> Exception:
    """What httpx (ConnectError) or httpx-aiohttp (ConnectTimeout) raise, with its cause."""
    error = cls("Cannot connect to host")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("cls", [httpx.ConnectError, httpx.ConnectTimeout])
async def test_refused_first_connection_is_a_configuration_error_at_once(
    make_client: MakeClient, fake: FakeTripletex, cls: type[httpx.TransportError]
) -> None:
    """Nobody listening at the root: one attempt, then a ConfigurationError naming it."""
    refused = ConnectionRefusedError(111, "Connect call failed")
    transport = Failing(fake, connect_error(refused, cls))
    async with make_client(transport=transport) as client:
        with pytest.raises(ConfigurationError) as info:
            await client.who_am_i()
    assert str(info.value).startswith(f"cannot reach {BASE_URL}: connection refused;")
    assert transport.attempts == 1


async def test_unknown_host_is_a_configuration_error(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A host name that does not resolve is a ConfigurationError saying so."""
    unknown = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    transport = Failing(fake, connect_error(unknown, httpx.ConnectError))
    async with make_client(transport=transport) as client:
        with pytest.raises(ConfigurationError, match="host name not found"):
            await client.who_am_i()
    assert transport.attempts == 1


async def test_first_connection_timing_out_is_retried_then_a_configuration_error(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A connect that times out may be a blip: retried, and only then a ConfigurationError."""
    transport = Failing(fake, httpx.ConnectTimeout("timed out"))
    async with make_client(transport=transport, retry=RetryPolicy(attempts=3)) as client:
        with pytest.raises(ConfigurationError, match="cannot reach"):
            await client.who_am_i()
    assert transport.attempts == 3


async def test_refused_connection_after_the_first_answer_is_a_transport_error(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """Once Tripletex has answered, a refused connection is an outage, not configuration."""
    refused = connect_error(ConnectionRefusedError(111, "refused"), httpx.ConnectError)
    transport = Failing(fake, refused)
    transport.failing = False
    async with make_client(transport=transport, retry=RetryPolicy(attempts=2)) as client:
        await client.who_am_i()
        transport.failing = True
        with pytest.raises(TransportError) as info:
            await client.company(client_id(fake)).get_list("/customer", dict[str, Any])
        transport.failing = False
    assert not isinstance(info.value, ConfigurationError)


async def test_root_without_v2_is_a_configuration_error(
    make_client: MakeClient, fake: FakeTripletex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 404 where the session call should be: the base URL is not the API root."""

    async def nothing_here(request: Any) -> FakeResponse:
        return FakeResponse(404, b"<html>Not Found</html>", [("content-type", "text/html")])

    monkeypatch.setattr(fake, "handle", nothing_here)
    async with make_client() as client:
        with pytest.raises(ConfigurationError) as info:
            await client.who_am_i()
    assert str(info.value) == (
        f"{BASE_URL}/token/session/:create answered 404: is the base URL the API root, "
        "ending in /v2?"
    )


async def test_a_password_in_the_root_is_not_shown(
    make_client: MakeClient, fake: FakeTripletex
) -> None:
    """A proxy's password in the base URL stays out of the error."""
    refused = connect_error(ConnectionRefusedError(111, "refused"), httpx.ConnectError)
    root = "http://proxy:hunter2@tripletex.test/v2"
    async with make_client(transport=Failing(fake, refused), base_url=root) as client:
        with pytest.raises(ConfigurationError) as info:
            await client.who_am_i()
    assert "hunter2" not in str(info.value)
    assert "http://proxy:***@tripletex.test/v2" in str(info.value)
