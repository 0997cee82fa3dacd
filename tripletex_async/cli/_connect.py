"""From flags and environment to an open client and sink, closed even on Ctrl-C.

Tokens are resolved (and test/production checked) before anything else happens, so a
missing or mismatched token costs no request; they go to the log scrubber first of all.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from ..client._client import TripletexClient
from ..client._config import Credentials, resolve_endpoint
from ..sinks import Sink
from ._logging import Scrubber

__all__ = ["Endpoint", "closing", "open_client", "resolve", "safe_url"]

#: Closing deletes the session and the pool; bounded so a dead network cannot hang exit.
CLOSE_SECONDS = 10.0
_TOKEN_VARIABLES = ("TRIPLETEX_CONSUMER_TOKEN", "TRIPLETEX_EMPLOYEE_TOKEN")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send requests, and with which tokens (never shown by ``repr``)."""

    root: str
    credentials: Credentials


def resolve(
    args: argparse.Namespace, environ: Mapping[str, str], scrubber: Scrubber, err: TextIO
) -> Endpoint:
    """The API root and tokens from flags and ``environ``; `ConfigurationError` if
    missing, unknown, or of the other environment."""
    for flag in ("consumer_token", "employee_token"):
        value: str | None = getattr(args, flag)
        if value:
            scrubber.add(value)
            option = "--" + flag.replace("_", "-")
            print(
                f"warning: {option} puts the token in your shell history and the process "
                f"list; prefer the TRIPLETEX_{flag.upper()} variable",
                file=err,
            )
    for name in _TOKEN_VARIABLES:
        scrubber.add(environ.get(name, ""))
    root, credentials = resolve_endpoint(
        consumer_token=args.consumer_token,
        employee_token=args.employee_token,
        env=args.env,
        base_url=args.base_url,
        environ=environ,
        spelling="cli",
    )
    return Endpoint(root, credentials)


@asynccontextmanager
async def open_client(
    endpoint: Endpoint,
    scrubber: Scrubber,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[TripletexClient]:
    """An open client whose session tokens the scrubber learns; closed under a shield."""
    client = TripletexClient(
        endpoint.credentials.consumer_token,
        endpoint.credentials.employee_token,
        base_url=endpoint.root,
        transport=transport,
        environ={},
    )
    await client.__aenter__()
    scrubber.follow(client.connection.redactor)
    try:
        yield client
    finally:
        # Cancelled by Ctrl-C or not, the session is deleted and the pool closed.
        with anyio.move_on_after(CLOSE_SECONDS, shield=True):
            await client.aclose()


@asynccontextmanager
async def closing(sink: Sink) -> AsyncIterator[Sink]:
    """``sink``, closed under a shield when the block ends (a commit may be finishing)."""
    try:
        yield sink
    finally:
        with anyio.move_on_after(CLOSE_SECONDS, shield=True):
            await sink.aclose()


def safe_url(url: str) -> str:
    """A sink URL fit for a report: any password replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))
