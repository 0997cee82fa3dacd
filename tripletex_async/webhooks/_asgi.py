"""The little of ASGI the webhook apps speak: a request's body and headers, and a
response (`WebhookReceiver`, and the workers' `BudgetTrigger`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["Message", "Receive", "Scope", "Send", "read_body", "request_headers", "respond"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body; ``None`` when the client went away. Reading stops once it is
    longer than ``limit``: a caller seeing that refuses it (413)."""
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks += message.get("body", b"")
        if len(chunks) > limit or not message.get("more_body", False):
            return bytes(chunks)


def request_headers(scope: Scope) -> dict[str, bytes]:
    """Request headers by lower-case name (the last of repeated ones)."""
    return {bytes(name).decode("latin-1").lower(): bytes(value) for name, value in scope["headers"]}


async def respond(
    send: Send,
    status: int,
    content: bytes,
    content_type: bytes = b"application/json",
    *,
    allow: bytes = b"POST",
) -> None:
    """A whole response: 503 says when to retry, 405 what is allowed."""
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(content))]
    if status == 503:
        headers.append((b"retry-after", b"30"))
    if status == 405:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
