"""What the command line builds on: `create_app` from a sink URL, and `serve`."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import anyio
import pytest

from tripletex_async import ConfigurationError, TripletexClient
from tripletex_async.sinks import SQLiteSink
from tripletex_async.testing import FakeTripletex
from tripletex_async.webhooks import create_app, serve
from tripletex_async.webhooks._serve import _until_stopped

from ..expectations import stored
from .conftest import AUTH, deliver, specs, subscribe

pytestmark = pytest.mark.anyio


async def test_create_app_writes_to_the_sink_its_url_names(
    fake: FakeTripletex, client: TripletexClient, company: int, tmp_path: Path
) -> None:
    """A receiver made from ``sqlite:///...`` stores deliveries in that file."""
    queue_path = tmp_path / "q.db"
    await subscribe(client, company, queue_path, specs("customer.update"))
    target = fake.records(company, "customer")[0]["id"]
    fake.update(company, "customer", target, {"name": "Fra URL AS"})
    app = create_app(f"sqlite:///{tmp_path}/sink.db", client, auth=AUTH, queue_path=queue_path)
    async with app:
        await deliver(fake, app)
        await app.join()
    sink = SQLiteSink(tmp_path / "sink.db")
    await sink.open([])
    assert stored(await sink.read("customer"), company)[target]["name"] == "Fra URL AS"
    await sink.aclose()


async def test_create_app_refuses_resources_without_events(
    client: TripletexClient, tmp_path: Path
) -> None:
    """Postings have no webhook events: a receiver for them is a configuration error."""
    with pytest.raises(ConfigurationError, match="ledger/posting"):
        create_app(
            "memory:",
            client,
            auth=AUTH,
            queue_path=tmp_path / "q.db",
            resources=["ledger/posting"],
        )


async def test_serve_without_uvicorn_names_the_extra(
    client: TripletexClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without uvicorn installed, serve says which extra to install."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    app = create_app("memory:", client, auth=AUTH, queue_path=tmp_path / "q.db")
    with pytest.raises(ConfigurationError, match=r"tripletex-async\[webhooks\]"):
        await serve(app)


class _Server:
    """Stands for uvicorn.Server: serves until should_exit, then shuts down."""

    def __init__(self) -> None:
        self.should_exit = False
        self.shut_down = False
        self.started = anyio.Event()

    async def serve(self, sockets: object = None) -> None:
        self.started.set()
        while not self.should_exit:
            await anyio.lowlevel.checkpoint()
        self.shut_down = True


async def test_cancelled_serve_shuts_the_server_down_gracefully() -> None:
    """Cancelling serve asks the server to exit and waits for its shutdown."""
    server = _Server()
    async with anyio.create_task_group() as tg:
        with socket.socket() as sock:
            tg.start_soon(_until_stopped, server, 5.0, sock)
            await server.started.wait()
            tg.cancel_scope.cancel()
    assert server.shut_down


def test_connections_to_the_receiver_send_small_writes_at_once() -> None:
    """The listening socket hands out connections with TCP_NODELAY: a response written
    as headers, then body, does not wait 40 ms for the client's delayed ACK."""
    from tripletex_async.webhooks._serve import _bind

    with _bind("127.0.0.1", 0) as sock, socket.create_connection(sock.getsockname()):
        sock.setblocking(True)
        accepted, _ = sock.accept()
        with accepted:
            assert sock.proto == socket.IPPROTO_TCP  # asyncio sets it on such sockets too
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
