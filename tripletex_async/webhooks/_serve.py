"""What a command line needs: `create_app` from a sink URL or object, and `serve` with
uvicorn when it is installed (the receiver itself never imports it)."""

from __future__ import annotations

import errno
import importlib
import os
import socket
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, Protocol

import anyio

from ..client._client import CompanyView, TripletexClient
from ..client._errors import ConfigurationError
from ..engine._resources import Resource
from ..sinks import Sink, open_sink
from ._queue import EventQueue
from ._receiver import WebhookReceiver
from ._verify import WebhookAuth

__all__ = ["create_app", "serve"]


def create_app(
    sink: Sink | str,
    client: TripletexClient | CompanyView,
    *,
    auth: WebhookAuth,
    queue_path: str | os.PathLike[str],
    resources: Iterable[str | Resource] | None = None,
    max_pending: int = 100_000,
    max_body: int = 1 << 20,
    stalled_after: float = 300.0,
) -> WebhookReceiver:
    """A receiver writing to ``sink`` (a `Sink`, or a URL for `open_sink`, then owned and
    closed by the receiver) through the queue file at ``queue_path``.

    ``resources``: those the receiver writes (default: every resource with events).
    ``stalled_after``: seconds the oldest pending event may wait before ``GET /health``
    says ``stalled`` (503).
    """
    owned = isinstance(sink, str)
    target = open_sink(sink) if isinstance(sink, str) else sink
    return WebhookReceiver(
        client=client,
        sink=target,
        queue=EventQueue(queue_path, max_pending=max_pending),
        auth=auth,
        resources=resources,
        max_body=max_body,
        owns_sink=owned,
        stalled_after=stalled_after,
    )


class ASGIApp(Protocol):
    """What `serve` serves: an ASGI 3 application."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


async def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    grace: float = 10.0,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` with uvicorn until it stops (SIGINT, SIGTERM) or this is cancelled.

    The port is bound first: one that is taken (or a host that is not this machine's)
    is a `ConfigurationError` at once, before anything is opened or announced, rather
    than a uvicorn error line in a process that lingers. ``on_listening`` is called with
    the URL once bound. Uvicorn runs the ASGI lifespan, which starts and stops the
    receiver's worker; on cancellation uvicorn is asked to shut down gracefully, for at
    most ``grace`` seconds. It needs asyncio and the extra: ``pip install
    "tripletex-async[webhooks]"``. Put it behind a TLS-terminating proxy: Tripletex
    only calls HTTPS URLs.
    """
    uvicorn = require_server()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        log_level=log_level,
        access_log=False,
    )
    sock = _bind(host, port)
    try:
        bound = sock.getsockname()[1]
        if on_listening is not None:
            on_listening(f"http://{host}:{bound}/")
        await _until_stopped(uvicorn.Server(config), grace, sock)
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, as uvicorn would make it; a
    `ConfigurationError` naming the address when it cannot be had.

    Made with its protocol (``IPPROTO_TCP``, not 0): asyncio sets ``TCP_NODELAY`` only
    on connections of such a socket. Without it, a response written in two parts (the
    headers, then the body) waits for the client's delayed ACK: 40 ms on Linux, every
    delivery, which capped the receiver at 23 deliveries/s per connection."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = "the port is taken" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigurationError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def require_server() -> ModuleType:
    """uvicorn, or the `ConfigurationError` saying which extra installs it (checked
    before anything is opened or announced)."""
    try:
        return importlib.import_module("uvicorn")
    except ImportError:
        raise ConfigurationError(
            'serving webhooks needs uvicorn: pip install "tripletex-async[webhooks]"'
        ) from None


async def _until_stopped(server: Any, grace: float, sock: socket.socket) -> None:
    """Run a uvicorn server on ``sock``; when cancelled, let it shut down (lifespan
    included) first."""
    stopped = anyio.Event()
    shield = anyio.CancelScope(shield=True)

    async def run() -> None:
        try:
            with shield:
                await server.serve(sockets=[sock])
        finally:
            stopped.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        try:
            await stopped.wait()
        finally:
            server.should_exit = True
            with anyio.move_on_after(grace, shield=True):
                await stopped.wait()
            shield.cancel()
