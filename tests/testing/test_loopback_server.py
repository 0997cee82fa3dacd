"""The loopback HTTP/1.1 server: request fields, keep-alive, faults, robustness."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest

from tripletex_async.testing._http import FakeRequest, FakeResponse, Fault
from tripletex_async.testing._server import LoopbackServer, ServerThread, serve

#: Tripletex's dates are Oslo's (a session's expirationDate must be after today there).
_OSLO = ZoneInfo("Europe/Oslo")

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(5)]


@pytest.fixture
def anyio_backend() -> str:
    """Pin the asyncio backend."""
    return "asyncio"


class Recorder:
    """A handler that remembers requests and answers with a canned response."""

    def __init__(self, response: FakeResponse | None = None) -> None:
        self.requests: list[FakeRequest] = []
        self.errors: list[Exception] = []
        self.response = response or FakeResponse(200, b'{"value":1}')

    async def __call__(self, request: FakeRequest) -> FakeResponse:
        self.requests.append(request)
        return self.response


async def _failing(request: FakeRequest) -> FakeResponse:
    raise RuntimeError("boom")


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


async def _raw_exchange(server: LoopbackServer, data: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    received = b""
    async with await anyio.connect_tcp(server.host, server.port) as stream:
        await stream.send(data)
        with anyio.fail_after(2):
            while True:
                try:
                    received += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return received


async def test_request_fields_arrive_intact() -> None:
    """Method, raw path with %3E, query, headers and body reach the handler unchanged."""
    recorder = Recorder()
    async with serve(recorder) as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"{server.api_url}/company/%3EwithLoginAccess?count=1&fields=id,name",
            headers=[("X-Dup", "a"), ("X-Dup", "b"), ("Authorization", "Basic abc")],
            content=b"hello body",
        )
    assert response.status_code == 200
    assert response.content == b'{"value":1}'
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.raw_path == "/v2/company/%3EwithLoginAccess"
    assert request.path == "/v2/company/>withLoginAccess"
    assert request.query == "count=1&fields=id,name"
    assert request.headers["x-dup"] == "a, b"
    assert request.headers["authorization"] == "Basic abc"
    assert request.body == b"hello body"


async def test_chunked_request_body_is_read_fully() -> None:
    """A chunked upload arrives as one complete body."""
    recorder = Recorder()

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"a" * 70_000, b"b" * 10, b"c"):
            yield part

    async with serve(recorder) as server, httpx.AsyncClient() as client:
        await client.put(f"{server.api_url}/x", content=chunks())
    assert recorder.requests[0].body == b"a" * 70_000 + b"b" * 10 + b"c"


async def test_response_headers_and_content_length() -> None:
    """Handler headers are sent, content-length is derived, keep-alive is the default."""
    body = b"x" * 200_000
    recorder = Recorder(FakeResponse(201, body, [("X-Request-Id", "r1")]))
    async with serve(recorder) as server, httpx.AsyncClient() as client:
        response = await client.get(f"{server.api_url}/big")
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "r1"
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["connection"] == "keep-alive"
    assert response.content == body


async def test_no_content_has_no_body() -> None:
    """A 204 carries neither a body nor a content-length."""
    recorder = Recorder(FakeResponse(204, b"ignored"))
    async with serve(recorder) as server, httpx.AsyncClient() as client:
        response = await client.delete(f"{server.api_url}/customer/1")
        again = await client.get(f"{server.api_url}/customer/1")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers
    assert again.status_code == 204


async def test_keep_alive_reuses_one_connection() -> None:
    """Sequential requests on one client travel over the same TCP connection."""
    recorder = Recorder()
    async with serve(recorder) as server, httpx.AsyncClient() as client:
        ports = {_local_port(await client.get(f"{server.api_url}/n/{i}")) for i in range(5)}
    assert len(ports) == 1
    assert len(recorder.requests) == 5


async def test_drop_closes_without_response() -> None:
    """Fault.DROP gives the client a transport error, and the server keeps serving."""
    recorder = Recorder(FakeResponse(200, b"never", fault=Fault.DROP))
    async with serve(recorder) as server, httpx.AsyncClient() as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{server.api_url}/drop")
        recorder.response = FakeResponse(200, b"ok")
        assert (await client.get(f"{server.api_url}/after")).content == b"ok"


async def test_truncate_fails_while_reading_body() -> None:
    """Fault.TRUNCATE sends the full content-length, half the body, then closes."""
    body = b"y" * 100_000
    recorder = Recorder(FakeResponse(200, body, fault=Fault.TRUNCATE))
    received: list[bytes] = []
    async with (
        serve(recorder) as server,
        httpx.AsyncClient() as client,
        client.stream("GET", f"{server.api_url}/truncated") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(body))
        with pytest.raises(httpx.RemoteProtocolError):
            await _read_into(response, received)
    assert b"".join(received) == body[: len(body) // 2]


async def _read_into(response: httpx.Response, received: list[bytes]) -> None:
    async for chunk in response.aiter_raw():
        received.append(chunk)


async def test_handler_exception_becomes_500() -> None:
    """An exception in the handler is a Tripletex-shaped 500, reported, not re-raised."""
    errors: list[Exception] = []
    async with serve(_failing, on_error=errors.append) as server, httpx.AsyncClient() as client:
        response = await client.get(f"{server.api_url}/fail")
    assert response.status_code == 500
    payload = json.loads(response.content)
    assert payload["status"] == 500
    assert payload["code"] == 1000
    assert payload["message"] == "Internal error"
    assert payload["developerMessage"] is None
    assert uuid.UUID(payload["requestId"]).version == 4
    assert [str(e) for e in errors] == ["boom"]


async def test_bad_handler_content_length_becomes_500() -> None:
    """A response h11 would refuse (wrong Content-Length) is turned into a 500."""
    errors: list[Exception] = []
    recorder = Recorder(FakeResponse(200, b"abc", [("Content-Length", "10")]))
    async with serve(recorder, on_error=errors.append) as server, httpx.AsyncClient() as client:
        response = await client.get(f"{server.api_url}/bad")
    assert response.status_code == 500
    assert len(errors) == 1


async def test_malformed_request_gets_400_and_close() -> None:
    """Garbage on the wire is answered with a 400 and the connection is closed."""
    async with serve(Recorder()) as server:
        received = await _raw_exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in received.lower()


async def test_client_disconnect_mid_request_is_harmless() -> None:
    """A client that hangs up halfway through a body does not disturb the server."""
    recorder = Recorder()
    errors: list[Exception] = []
    async with serve(recorder, on_error=errors.append) as server:
        head = b"POST /v2/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789"
        assert await _raw_exchange_then_close(server, head) is None
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{server.api_url}/still-up")).status_code == 200
    assert [r.raw_path for r in recorder.requests] == ["/v2/still-up"]
    assert errors == []


async def _raw_exchange_then_close(server: LoopbackServer, data: bytes) -> None:
    async with await anyio.connect_tcp(server.host, server.port) as stream:
        await stream.send(data)


async def test_non_loopback_host_refused() -> None:
    """Binding anything but loopback is a ValueError."""
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(ValueError, match=r"loopback|IP address"):
            async with serve(Recorder(), host=host):
                pass


async def test_localhost_and_ipv6_loopback_accepted() -> None:
    """'localhost' binds 127.0.0.1; ::1 gets a bracketed URL."""
    async with serve(Recorder(), host="localhost") as server:
        assert server.host == "127.0.0.1"
    try:
        async with serve(Recorder(), host="::1") as server6:
            assert server6.url == f"http://[::1]:{server6.port}"
            assert server6.api_url.endswith("/v2")
    except OSError:
        pytest.skip("no IPv6 loopback here")


async def test_exit_leaves_nothing_running() -> None:
    """Leaving the context cancels every task and closes the port, even mid-request."""
    started = anyio.Event()

    async def hang(request: FakeRequest) -> FakeResponse:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    before = set(asyncio.all_tasks())
    # Exits in reverse: the server first, while the request is still in its handler.
    async with (
        httpx.AsyncClient() as client,
        anyio.create_task_group() as tg,
        serve(hang) as server,
    ):
        tg.start_soon(_expect_transport_error, client, f"{server.api_url}/hang")
        await started.wait()
    assert set(asyncio.all_tasks()) == before
    with pytest.raises(OSError, match="connection attempts failed"):
        await anyio.connect_tcp(server.host, server.port)


async def _expect_transport_error(client: httpx.AsyncClient, url: str) -> None:
    with pytest.raises(httpx.TransportError):
        await client.get(url)


async def test_hundred_concurrent_requests() -> None:
    """100 requests are in the handler at the same time, and all complete."""
    all_in = anyio.Event()
    arrived = 0

    async def gate(request: FakeRequest) -> FakeResponse:
        nonlocal arrived
        arrived += 1
        if arrived == 100:
            all_in.set()
        await all_in.wait()
        return FakeResponse(200, request.raw_path.encode())

    results: list[bytes] = []

    async def one(client: httpx.AsyncClient, url: str) -> None:
        results.append((await client.get(url)).content)

    limits = httpx.Limits(max_connections=100)
    async with serve(gate) as server, httpx.AsyncClient(limits=limits) as client:
        with anyio.fail_after(3):
            async with anyio.create_task_group() as tg:
                for i in range(100):
                    tg.start_soon(one, client, f"{server.api_url}/c/{i}")
    assert sorted(results) == sorted(f"/v2/c/{i}".encode() for i in range(100))


def test_server_thread_serves_sync_callers() -> None:
    """ServerThread runs the server on its own loop and stops it on exit."""
    recorder = Recorder(FakeResponse(200, b"sync"))
    with ServerThread(recorder) as thread:
        response = httpx.get(f"{thread.api_url}/ping")
        url = thread.url
    assert response.content == b"sync"
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v2/ping")
    with pytest.raises(RuntimeError):
        _ = thread.url


async def test_end_to_end_through_fake_tripletex() -> None:
    """The simulator answers a session, withLoginAccess and a client's page over loopback."""
    from tripletex_async.testing import FakeTripletex, PortfolioConfig, generate_portfolio

    fake = FakeTripletex(generate_portfolio(PortfolioConfig(companies=2)))
    body = {
        "consumerToken": fake.credentials.consumer_token,
        "employeeToken": fake.credentials.employee_token,
        "expirationDate": (datetime.now(_OSLO).date() + timedelta(days=1)).isoformat(),
    }
    async with serve(fake.handle) as server, httpx.AsyncClient(base_url=server.api_url) as http:
        created = await http.post("/token/session/:create", json=body)
        token = created.json()["value"]["token"]
        clients = await http.get("/company/%3EwithLoginAccess", auth=httpx.BasicAuth("0", token))
        company = clients.json()["values"][0]["id"]
        page = await http.get(
            "/customer", params={"count": 5}, auth=httpx.BasicAuth(str(company), token)
        )
    assert created.status_code == 201
    assert clients.status_code == 200
    assert page.status_code == 200
    assert "x-tlx-request-id" in page.headers
    assert isinstance(page.json()["values"], list)


async def test_head_has_length_but_no_body() -> None:
    """A HEAD response announces the full length and sends no body."""
    recorder = Recorder(FakeResponse(200, b"0123456789"))
    async with serve(recorder) as server, httpx.AsyncClient() as client:
        response = await client.head(f"{server.api_url}/x")
        after = await client.get(f"{server.api_url}/x")
    assert response.headers["content-length"] == "10"
    assert response.content == b""
    assert after.content == b"0123456789"


async def test_expect_100_continue() -> None:
    """A client waiting for 100 Continue gets it, then its response."""
    recorder = Recorder()
    async with (
        serve(recorder) as server,
        await anyio.connect_tcp(server.host, server.port) as stream,
    ):
        await stream.send(
            b"POST /v2/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        with anyio.fail_after(2):
            assert (await stream.receive()).startswith(b"HTTP/1.1 100 ")
            await stream.send(b"abc")
            assert (await stream.receive()).startswith(b"HTTP/1.1 200 ")
    assert recorder.requests[0].body == b"abc"
