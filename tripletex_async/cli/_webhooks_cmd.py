"""``tripletex-async webhooks serve``: the webhook receiver behind uvicorn.

Secrets come from the environment only (flags end up in shell history):
``TRIPLETEX_WEBHOOK_HMAC_SECRET`` (the subscriptions' ``hmacSharedSecret``) and/or
``TRIPLETEX_WEBHOOK_AUTH_VALUE`` with ``--auth-header NAME``; while rotating the HMAC
secret, ``TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS`` is the one being replaced, accepted
until ``--previous-secret-until`` (or for as long as it is set). Deliveries are acknowledged
once durably queued in ``--queue``, then applied to ``--sink``; fetches by id go through
the same session and rate budget as a sync.
"""

from __future__ import annotations

import argparse

from ..webhooks import create_app, serve
from ..webhooks._serve import require_server
from ._connect import open_client, resolve
from ._run import EXIT_OK, Context
from ._webhooks_auth import HMAC_VARIABLE, PREVIOUS_VARIABLE, VALUE_VARIABLE, auth_from

__all__ = [
    "HMAC_VARIABLE",
    "PREVIOUS_VARIABLE",
    "STOP_HINT",
    "VALUE_VARIABLE",
    "auth_from",
    "run",
    "serve_command",
]

#: What a SIGTERM or Ctrl-C of the receiver means.
STOP_HINT = (
    "the receiver stopped; every delivery it acknowledged is in the queue and is applied "
    "when it starts again"
)


async def run(args: argparse.Namespace, ctx: Context) -> int:
    """The ``webhooks`` commands: ``serve``, ``subscribe``, ``status``, ``dead``."""
    if args.webhooks_command == "serve":
        return await serve_command(args, ctx)
    from ._webhooks_ops import run as operate

    return await operate(args, ctx)


async def serve_command(args: argparse.Namespace, ctx: Context) -> int:
    """The ``webhooks serve`` command: serve until Ctrl-C."""
    auth = auth_from(args, ctx.environ)
    for secret in auth.secrets():
        ctx.logs.scrubber.add(secret)
    require_server()  # before anything is opened or announced
    endpoint = resolve(args, ctx.environ, ctx.logs.scrubber, ctx.err)
    async with open_client(endpoint, ctx.logs.scrubber) as client:
        app = create_app(args.sink, client, auth=auth, queue_path=args.queue)

        def listening(url: str) -> None:
            print(
                f"receiving Tripletex webhooks on {url} (queue {args.queue}; GET /health, "
                "GET /metrics); Ctrl-C stops",
                file=ctx.err,
                flush=True,
            )

        await serve(app, host=args.host, port=args.port, on_listening=listening)
    return EXIT_OK
