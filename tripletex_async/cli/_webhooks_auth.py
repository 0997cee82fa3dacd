"""The webhook receiver's secrets, from the environment only (flags end up in shell
history), for ``serve`` and ``subscribe`` alike: both must hold the same ones."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime

from ..client._errors import ConfigurationError
from ..webhooks import Secret, WebhookAuth

__all__ = ["HMAC_VARIABLE", "PREVIOUS_VARIABLE", "VALUE_VARIABLE", "auth_from"]

HMAC_VARIABLE = "TRIPLETEX_WEBHOOK_HMAC_SECRET"
PREVIOUS_VARIABLE = "TRIPLETEX_WEBHOOK_HMAC_SECRET_PREVIOUS"
VALUE_VARIABLE = "TRIPLETEX_WEBHOOK_AUTH_VALUE"


def auth_from(args: argparse.Namespace, environ: Mapping[str, str]) -> WebhookAuth:
    """The receiver's checks from ``--auth-header``, ``--previous-secret-until`` and the
    secret variables."""
    hmac_secret, value = environ.get(HMAC_VARIABLE), environ.get(VALUE_VARIABLE)
    previous = environ.get(PREVIOUS_VARIABLE)
    until: datetime | None = getattr(args, "previous_secret_until", None)
    if previous and not hmac_secret:
        raise ConfigurationError(
            f"{PREVIOUS_VARIABLE} is set: the new secret goes in {HMAC_VARIABLE}"
        )
    if until is not None and not previous:
        raise ConfigurationError(f"--previous-secret-until needs {PREVIOUS_VARIABLE}")
    if args.auth_header and not value:
        raise ConfigurationError(f"--auth-header needs its value in {VALUE_VARIABLE}")
    if value and not args.auth_header:
        raise ConfigurationError(f"{VALUE_VARIABLE} is set: name its header with --auth-header")
    if not (hmac_secret or value):
        raise ConfigurationError(
            f"set {HMAC_VARIABLE} and/or --auth-header with {VALUE_VARIABLE}: without "
            "them anyone could post deliveries that are acted on"
        )
    return WebhookAuth(
        header_name=args.auth_header or None,
        header_value=Secret(value) if value else None,
        hmac_secret=Secret(hmac_secret) if hmac_secret else None,
        previous_hmac_secret=Secret(previous) if previous else None,
        previous_until=until,
    )
