"""`FakeTransport`: the simulator as an httpx transport, for tests without sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from ._app import FakeTripletex
from ._http import FakeRequest, Fault

__all__ = ["FakeTransport"]


class _TruncatedStream(httpx.AsyncByteStream):
    """Yields part of a body, then fails the way httpx fails on a short read."""

    def __init__(self, part: bytes) -> None:
        self._part = part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._part
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        )


class FakeTransport(httpx.AsyncBaseTransport):
    """Hands httpx requests to a `FakeTripletex` in the same process.

    Faults become what httpx raises for them on a real socket: a dropped connection is
    `httpx.RemoteProtocolError` before any response, a truncated body is the same error
    while the body is read.
    """

    def __init__(self, fake: FakeTripletex) -> None:
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from the simulator."""
        body = await request.aread()
        raw_path, _, query = request.url.raw_path.partition(b"?")
        fake_request = FakeRequest(
            method=request.method,
            raw_path=raw_path.decode("ascii"),
            query=query.decode("ascii"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        response = await self.fake.handle(fake_request)
        if response.fault is Fault.DROP:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        headers = [*response.headers, ("content-length", str(len(response.body)))]
        if response.fault is Fault.TRUNCATE:
            part = response.body[: len(response.body) // 2]
            return httpx.Response(
                response.status, headers=headers, stream=_TruncatedStream(part), request=request
            )
        return httpx.Response(
            response.status, headers=headers, content=response.body, request=request
        )
