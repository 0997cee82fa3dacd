"""Telling Tripletex's webhook calls from anyone else's: the subscription's auth header
and its HMAC signature, both compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..client._errors import ConfigurationError
from ._subscriptions import Secret

__all__ = ["IDEMPOTENCY_KEY", "SIGNATURE", "WebhookAuth", "signature"]

IDEMPOTENCY_KEY = "idempotency-key"
SIGNATURE = "x-request-signature"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def signature(secret: Secret, idempotency_key: bytes, body: bytes) -> bytes:
    """``base64(HmacSHA512(idempotency-key + "&" + body))``, as Tripletex signs."""
    message = idempotency_key + b"&" + body
    mac = hmac.new(secret.reveal().encode(), message, hashlib.sha512)
    return base64.b64encode(mac.digest())


@dataclass(frozen=True, slots=True)
class WebhookAuth:
    """What a delivery must carry: the auth header (``header_name: header_value``), a valid
    ``x-request-signature`` made with ``hmac_secret``, or both (both recommended: the
    signature also proves the body and idempotency key were not altered).

    The same values go into the subscriptions (`subscription_specs`), so Tripletex sends
    what the receiver expects.
    """

    header_name: str | None = None
    header_value: Secret | None = None
    hmac_secret: Secret | None = None

    def __post_init__(self) -> None:
        if (self.header_name is None) != (self.header_value is None):
            raise ConfigurationError("header_name and header_value go together")
        if self.header_name is not None and not _TOKEN.fullmatch(self.header_name):
            raise ConfigurationError(f"{self.header_name!r} is not a valid header name")
        if self.header_value is None and self.hmac_secret is None:
            raise ConfigurationError(
                "a webhook receiver needs an auth header, an HMAC secret or both: "
                "without them anyone could write to the sink"
            )
        for secret in (self.header_value, self.hmac_secret):
            if secret is not None and not isinstance(secret, Secret):
                raise ConfigurationError("webhook secrets must be Secret objects")

    def __repr__(self) -> str:
        return (
            f"WebhookAuth(header_name={self.header_name!r}, "
            f"header_value={self.header_value!r}, hmac_secret={self.hmac_secret!r})"
        )

    def secrets(self) -> list[str]:
        """The secret values, for a log redactor."""
        return [s.reveal() for s in (self.header_value, self.hmac_secret) if s is not None]

    def verify(self, headers: Mapping[str, bytes], body: bytes) -> bool:
        """Whether a call with ``headers`` (lower-case names) and ``body`` is genuine.

        Every configured check runs, whatever the outcome of the others, and each
        comparison takes the same time whatever the bytes compared.
        """
        ok = True
        if self.header_name is not None and self.header_value is not None:
            given = headers.get(self.header_name.lower(), b"")
            ok &= hmac.compare_digest(given, self.header_value.reveal().encode())
        if self.hmac_secret is not None:
            key, signed = headers.get(IDEMPOTENCY_KEY), headers.get(SIGNATURE)
            if key is None or signed is None:
                ok = False
            else:
                expected = signature(self.hmac_secret, key, body)
                ok &= hmac.compare_digest(expected, signed.strip())
        return ok
