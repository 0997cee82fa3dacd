"""A loopback HTTP/1.1 server for the simulator, built on anyio listeners and h11.

It exists so that integration tests and benchmarks talk to the simulator over real
sockets, and so that faults are faithful: ``Fault.DROP`` closes the TCP connection
without a byte, ``Fault.TRUNCATE`` sends a full ``Content-Length`` and half the body.
A framework server would fix those responses up for us; h11 plus raw writes does not.

It refuses any address but loopback: it is a test server, with simulator tokens.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import ExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import NamedTuple, Self

import anyio
import anyio.abc
import h11
from anyio.from_thread import start_blocking_portal

from ._http import FakeRequest, FakeResponse, Fault

__all__ = ["Handler", "LoopbackServer", "ServerThread", "loopback_host", "serve"]

Handler = Callable[[FakeRequest], Awaitable[FakeResponse]]
#: Called with an exception the handler raised (after it became a 500). Optional.
ErrorHook = Callable[[Exception], None]

_CHUNK = 64 * 1024
#: Bodies up to this size go out in the same ``send`` as the headers.
_JOIN_LIMIT = 64 * 1024
#: Request heads (line + headers) may be this large; ``fields=`` queries get long.
_MAX_HEAD = 64 * 1024
_CLOSE_TIMEOUT = 1.0
_NO_BODY_STATUSES = frozenset({204, 304})
_REASONS = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}
_JSON = "application/json; charset=utf-8"
_GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, OSError)


@dataclass(frozen=True, slots=True)
class LoopbackServer:
    """Where a running loopback server listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Tripletex base URL: ``url + "/v2"``."""
        return f"{self.url}/v2"


def loopback_host(host: str) -> str:
    """The address to bind for ``host``, or ValueError if it is not a loopback address.

    ``localhost`` becomes ``127.0.0.1``: binding both families with port 0 would give
    two different ports, and a server needs one URL.
    """
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"not an IP address or 'localhost': {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the simulator serves on loopback only, not on {host!r}")
    return str(address)


@asynccontextmanager
async def serve(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_error: ErrorHook | None = None,
) -> AsyncIterator[LoopbackServer]:
    """Serve ``handler`` on a loopback port for the duration of the ``async with`` block.

    Leaving the block stops accepting, closes every connection and waits for their
    tasks, so nothing is left running. ``port=0`` picks a free port.
    """
    bind_host = loopback_host(host)
    listener = await anyio.create_tcp_listener(local_host=bind_host, local_port=port)
    bound_port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
    # Yielding inside the task group is the structured-concurrency shape of a context
    # manager: the caller's block runs inside it and its exceptions cancel the server.
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _Connection.factory(handler, on_error), tg)
        try:
            yield LoopbackServer(bind_host, bound_port)
        finally:
            tg.cancel_scope.cancel()


def _flush_before_close(stream: anyio.abc.SocketStream) -> None:
    # anyio's asyncio stream aborts its transport on close, discarding bytes still in
    # the userspace buffer (up to the 64 KiB high-water mark). With limits of zero,
    # ``send`` returns only once everything reached the kernel, so a close after a
    # response (Connection: close, a truncated body) never loses its tail. Trio's
    # ``send_all`` already behaves so; there is no transport there.
    transport = getattr(stream, "_transport", None)
    if isinstance(transport, asyncio.WriteTransport):
        transport.set_write_buffer_limits(high=0, low=0)


class _Connection:
    """One client connection: requests are read and answered one after another."""

    def __init__(
        self, stream: anyio.abc.SocketStream, handler: Handler, on_error: ErrorHook | None
    ):
        _flush_before_close(stream)
        self._stream = stream
        self._handler = handler
        self._on_error = on_error
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)
        self._eof = False

    @classmethod
    def factory(
        cls, handler: Handler, on_error: ErrorHook | None
    ) -> Callable[[anyio.abc.SocketStream], Awaitable[None]]:
        """The per-connection task ``Listener.serve`` starts for each accepted stream."""

        async def serve_connection(stream: anyio.abc.SocketStream) -> None:
            await cls(stream, handler, on_error).run()

        return serve_connection

    async def run(self) -> None:
        """Serve until the client leaves, a response demands a close, or cancellation."""
        try:
            await self._serve_requests()
        except h11.RemoteProtocolError:
            # Garbage gets a 400; a client that hung up mid-request gets nothing.
            if not self._eof:
                await self._send_bad_request()
        except _GONE:
            pass  # the client disconnected; that is its right, not our error
        except h11.LocalProtocolError as exc:  # h11 refused what we sent: report, go on
            if self._on_error is not None:
                self._on_error(exc)
        finally:
            await self._close()

    async def _serve_requests(self) -> None:
        while True:
            request = await self._read_request()
            if request is None:
                return
            if not await self._send(await self._respond(request)):
                return
            if self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
                return  # MUST_CLOSE: the client or the response said Connection: close
            self._h11.start_next_cycle()

    async def _next_event(self) -> h11.Event | type[h11.PAUSED] | type[h11.NEED_DATA]:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self._h11.they_are_waiting_for_100_continue:
                await self._stream.send(
                    self._h11.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            try:
                data = await self._stream.receive(_CHUNK)
            except anyio.EndOfStream:
                data = b""
            self._eof = not data
            self._h11.receive_data(data)

    async def _read_request(self) -> FakeRequest | None:
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return None  # ConnectionClosed: the client left between requests
        chunks: list[bytes] = []
        while not isinstance(body_event := await self._next_event(), h11.EndOfMessage):
            if not isinstance(body_event, h11.Data):
                return None  # h11 raises on EOF mid-body; anything else ends the connection
            chunks.append(body_event.data)
        target = event.target.decode("latin-1")
        raw_path, _, query = target.partition("?")
        headers: dict[str, str] = {}
        for name, value in event.headers:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return FakeRequest(event.method.decode("ascii"), raw_path, query, headers, b"".join(chunks))

    async def _respond(self, request: FakeRequest) -> _Outgoing:
        # Only Exception: cancellation (a BaseException on every backend) propagates.
        # A response h11 would refuse (bad header, wrong Content-Length) is the
        # handler's bug too, so it is checked here and also becomes a 500.
        try:
            return _outgoing(request, await self._handler(request))
        except Exception as exc:
            if self._on_error is not None:
                self._on_error(exc)
            return _outgoing(request, _internal_error())

    async def _send(self, out: _Outgoing) -> bool:
        """Write the response; False if the connection must close now (a fault)."""
        if out.fault is Fault.DROP:
            return False
        head = self._h11.send(out.head)
        if out.fault is Fault.TRUNCATE:
            # Bypass h11: it would refuse to end the message short of Content-Length.
            await self._stream.send(head + out.body[: len(out.body) // 2])
            return False
        # Passthrough: with Content-Length framing h11 hands back the body itself, uncopied.
        data = self._h11.send_with_data_passthrough(h11.Data(data=out.body)) if out.body else None
        pieces = [head, *(data or ()), self._h11.send(h11.EndOfMessage())]
        if len(out.body) <= _JOIN_LIMIT:
            await self._stream.send(b"".join(pieces))
        else:
            # One send per piece: the 1 MB body is written once, never copied into a join.
            for piece in pieces:
                if piece:
                    await self._stream.send(piece)
        return True

    async def _send_bad_request(self) -> None:
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = _error_body(400, 4000, "Bad request")
        headers = [("content-type", _JSON), ("connection", "close")]
        bad = FakeRequest("GET", "/")
        try:
            out = _outgoing(bad, FakeResponse(400, body, headers))
            await self._stream.send(self._h11.send(out.head) + body)
        except (*_GONE, h11.LocalProtocolError):
            pass

    async def _close(self) -> None:
        # Shielded with a timeout: runs while the server is being cancelled, and a peer
        # that never reads must not hold shutdown up.
        with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
            with suppress(*_GONE):
                await self._stream.send_eof()
            await self._stream.aclose()


class _Outgoing(NamedTuple):
    """A response checked and framed for h11, with the body that will really be sent."""

    head: h11.Response
    body: bytes
    fault: Fault | None


def _outgoing(request: FakeRequest, response: FakeResponse) -> _Outgoing:
    status = response.status
    may_have_body = status >= 200 and status not in _NO_BODY_STATUSES
    has_body = may_have_body and request.method != "HEAD"
    headers = list(response.headers)
    names = {name.lower(): value for name, value in headers}
    if "content-length" in names:
        if has_body and int(names["content-length"]) != len(response.body):
            raise ValueError("the handler's Content-Length does not match its body")
    elif may_have_body and "transfer-encoding" not in names:
        headers.append(("content-length", str(len(response.body))))
    if "connection" not in names:
        headers.append(("connection", "keep-alive"))
    # The constructor validates names and values, before h11's state is touched.
    head = h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
    return _Outgoing(head, response.body if has_body else b"", response.fault)


def _error_body(status: int, code: int, message: str) -> bytes:
    return json.dumps(
        {
            "status": status,
            "code": code,
            "message": message,
            "link": "https://tripletex.no/v2-docs/",
            "developerMessage": None,
            "validationMessages": None,
            "requestId": str(uuid.uuid4()),
        },
        separators=(",", ":"),
    ).encode()


def _internal_error() -> FakeResponse:
    """The 500 Tripletex sends for an unexpected failure, with a fresh request id."""
    headers = [("content-type", _JSON)]
    return FakeResponse(500, _error_body(500, 1000, "Internal error"), headers)


class ServerThread:
    """`serve` for synchronous callers: the server runs in a background thread.

    This is the one place in the package that starts an event loop (through
    ``anyio.from_thread.start_blocking_portal``), for benchmarks and CLI tests that
    are not async themselves. The handler runs on that thread's loop, so it must not
    be bound to another loop.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_error: ErrorHook | None = None,
        backend: str = "asyncio",
    ) -> None:
        self._handler = handler
        self._host = loopback_host(host)
        self._port = port
        self._on_error = on_error
        self._backend = backend
        self._stack: ExitStack | None = None
        self._server: LoopbackServer | None = None

    def __enter__(self) -> Self:
        with ExitStack() as stack:
            portal = stack.enter_context(start_blocking_portal(self._backend))
            server = serve(self._handler, host=self._host, port=self._port, on_error=self._on_error)
            self._server = stack.enter_context(portal.wrap_async_context_manager(server))
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack, self._server = self._stack, None, None
        if stack is not None:
            stack.__exit__(exc_type, exc, tb)

    @property
    def server(self) -> LoopbackServer:
        """Where the server listens; only inside the ``with`` block."""
        if self._server is None:
            raise RuntimeError("ServerThread is not running; use it as a context manager")
        return self._server

    @property
    def url(self) -> str:
        """``http://HOST:PORT``."""
        return self.server.url

    @property
    def api_url(self) -> str:
        """``http://HOST:PORT/v2``."""
        return self.server.api_url
