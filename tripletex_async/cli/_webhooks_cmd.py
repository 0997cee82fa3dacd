"""``tripletex-async webhooks serve``: the webhook receiver behind uvicorn.

Secrets come from the environment only (flags end up in shell history):
``TRIPLETEX_WEBHOOK_HMAC_SECRET`` (the subscriptions' ``hmacSharedSecret``) and/or
``TRIPLETEX_WEBHOOK_AUTH_VALUE`` with ``--auth-header NAME``. Deliveries are acknowledged
once durably queued in ``--queue``, then applied to ``--sink``; fetches by id go through
the same session and rate budget as a sync.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from ..client._errors import ConfigurationError
from ..webhooks import Secret, WebhookAuth, create_app, serve
from ..webhooks._serve import require_server
from ._connect import open_client, resolve
from ._run import EXIT_OK, Context

__all__ = ["HMAC_VARIABLE", "STOP_HINT", "VALUE_VARIABLE", "auth_from", "run"]

HMAC_VARIABLE = "TRIPLETEX_WEBHOOK_HMAC_SECRET"
VALUE_VARIABLE = "TRIPLETEX_WEBHOOK_AUTH_VALUE"
#: What a SIGTERM or Ctrl-C of the receiver means.
STOP_HINT = (
    "the receiver stopped; every delivery it acknowledged is in the queue and is applied "
    "when it starts again"
)


def auth_from(args: argparse.Namespace, environ: Mapping[str, str]) -> WebhookAuth:
    """The receiver's checks from ``--auth-header`` and the two secret variables."""
    hmac_secret, value = environ.get(HMAC_VARIABLE), environ.get(VALUE_VARIABLE)
    if args.auth_header and not value:
        raise ConfigurationError(f"--auth-header needs its value in {VALUE_VARIABLE}")
    if value and not args.auth_header:
        raise ConfigurationError(f"{VALUE_VARIABLE} is set: name its header with --auth-header")
    if not (hmac_secret or value):
        raise ConfigurationError(
            f"set {HMAC_VARIABLE} and/or --auth-header with {VALUE_VARIABLE}: without "
            "them anyone could write to the sink"
        )
    return WebhookAuth(
        header_name=args.auth_header or None,
        header_value=Secret(value) if value else None,
        hmac_secret=Secret(hmac_secret) if hmac_secret else None,
    )


async def run(args: argparse.Namespace, ctx: Context) -> int:
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
