"""Telling Tripletex's webhook calls from anyone else's: the subscription's auth header
and its HMAC signature, both compared in constant time.

Rotating the HMAC secret: `subscribe` sends the new one to every subscription while the
receiver accepts signatures by the new and, for a grace period, the previous one, so no
delivery signed in between is refused. A delivery verified by the previous secret is
counted, and logged once per subscription (its subscription still has the old one).

A refusal says which check failed, as far as that is free to tell: ``unauthorized`` (the
auth header is missing or wrong, or the signature headers are missing: not a Tripletex
call, or a subscription made without these secrets) or ``bad_signature`` (the auth
header passes, or there is none, and the signature is there but does not verify: the
body was altered, or the HMAC secrets of the receiver and the subscription differ).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from ..client._errors import ConfigurationError
from ..client._log import Log, Redactor
from ._subscriptions import Secret

__all__ = [
    "AUTH_REFUSALS",
    "BAD_SIGNATURE",
    "IDEMPOTENCY_KEY",
    "SIGNATURE",
    "UNAUTHORIZED",
    "WebhookAuth",
    "claimed_subscription",
    "signature",
]

IDEMPOTENCY_KEY = "idempotency-key"
SIGNATURE = "x-request-signature"
#: The refusals of `WebhookAuth.refusal` (see the module's text).
UNAUTHORIZED = "unauthorized"
BAD_SIGNATURE = "bad_signature"
AUTH_REFUSALS = frozenset({UNAUTHORIZED, BAD_SIGNATURE})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def signature(secret: Secret, idempotency_key: bytes, body: bytes) -> bytes:
    """``base64(HmacSHA512(idempotency-key + "&" + body))``, as Tripletex signs."""
    message = idempotency_key + b"&" + body
    mac = hmac.new(secret.reveal().encode(), message, hashlib.sha512)
    return base64.b64encode(mac.digest())


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Envelope(msgspec.Struct, rename="camel"):
    subscription_id: int | None = None


_decode_envelope = msgspec.json.Decoder(_Envelope).decode


def claimed_subscription(body: bytes) -> int | None:
    """The ``subscriptionId`` a body claims (None when it does not parse), for log
    lines: an id names no secret, and tells whose deliveries fail."""
    try:
        return _decode_envelope(body).subscription_id
    except msgspec.MsgspecError:
        return None


class _OldSecretUse:
    """Deliveries verified by the previous HMAC secret: a count, and which subscriptions
    were logged already (each once)."""

    __slots__ = ("_logged", "count")

    def __init__(self) -> None:
        self.count = 0
        self._logged: set[int | None] = set()

    def note(self, body: bytes, log: Callable[[], Log]) -> None:
        self.count += 1
        subscription_id = claimed_subscription(body)
        if subscription_id not in self._logged:
            self._logged.add(subscription_id)
            log().info("webhook_old_secret", subscription_id=subscription_id, count=self.count)


@dataclass(frozen=True, slots=True)
class WebhookAuth:
    """What a delivery must carry: the auth header (``header_name: header_value``), a valid
    ``x-request-signature`` made with ``hmac_secret``, or both (both recommended: the
    signature also proves the body and idempotency key were not altered).

    ``previous_hmac_secret`` is the secret being rotated out: signatures made with it
    verify too, until ``previous_until`` (timezone-aware; None: until it is removed).

    The same values go into the subscriptions (`subscription_specs`), so Tripletex sends
    what the receiver expects; the previous secret never does.
    """

    header_name: str | None = None
    header_value: Secret | None = None
    hmac_secret: Secret | None = None
    previous_hmac_secret: Secret | None = None
    previous_until: datetime | None = None
    #: The current time, timezone-aware (for ``previous_until``).
    clock: Callable[[], datetime] = field(default=_utc_now, repr=False, compare=False)
    _old: _OldSecretUse = field(
        default_factory=_OldSecretUse, init=False, repr=False, compare=False
    )

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
        for secret in (self.header_value, self.hmac_secret, self.previous_hmac_secret):
            if secret is not None and not isinstance(secret, Secret):
                raise ConfigurationError("webhook secrets must be Secret objects")
        if self.previous_hmac_secret is not None and self.hmac_secret is None:
            raise ConfigurationError("a previous HMAC secret needs the new one (hmac_secret)")
        if self.previous_until is not None and self.previous_hmac_secret is None:
            raise ConfigurationError("previous_until needs previous_hmac_secret")
        if self.previous_until is not None and self.previous_until.utcoffset() is None:
            raise ConfigurationError("previous_until must be timezone-aware")

    def __repr__(self) -> str:
        return (
            f"WebhookAuth(header_name={self.header_name!r}, "
            f"header_value={self.header_value!r}, hmac_secret={self.hmac_secret!r}, "
            f"previous_hmac_secret={self.previous_hmac_secret!r}, "
            f"previous_until={self.previous_until!r})"
        )

    @property
    def old_secret_deliveries(self) -> int:
        """Deliveries verified by the previous HMAC secret so far."""
        return self._old.count

    def secrets(self) -> list[str]:
        """The secret values, for a log redactor."""
        held = (self.header_value, self.hmac_secret, self.previous_hmac_secret)
        return [s.reveal() for s in held if s is not None]

    def verify(self, headers: Mapping[str, bytes], body: bytes) -> bool:
        """Whether a call with ``headers`` (lower-case names) and ``body`` is genuine."""
        return self.refusal(headers, body) is None

    def refusal(self, headers: Mapping[str, bytes], body: bytes) -> str | None:
        """Why a call with ``headers`` (lower-case names) and ``body`` is refused:
        `UNAUTHORIZED` or `BAD_SIGNATURE` (see the module's text); None when genuine.

        Every configured check runs, whatever the outcome of the others, and each
        comparison takes the same time whatever the bytes compared: with a previous
        secret, both signatures are computed and compared every time.
        """
        header_ok = True
        if self.header_name is not None and self.header_value is not None:
            given = headers.get(self.header_name.lower(), b"")
            header_ok = hmac.compare_digest(given, self.header_value.reveal().encode())
        signed_ok = True
        if self.hmac_secret is not None:
            key, signed = headers.get(IDEMPOTENCY_KEY), headers.get(SIGNATURE)
            if key is None or signed is None:
                return UNAUTHORIZED
            signed = signed.strip()
            current = hmac.compare_digest(signature(self.hmac_secret, key, body), signed)
            previous = self._by_previous(key, body, signed)
            signed_ok = current | previous
            if header_ok and previous and not current:
                self._old.note(body, self._log)
        if not header_ok:
            return UNAUTHORIZED
        return None if signed_ok else BAD_SIGNATURE

    def _by_previous(self, key: bytes, body: bytes, signed: bytes) -> bool:
        """Whether ``signed`` is by the previous secret, and that is still accepted."""
        if self.previous_hmac_secret is None:
            return False
        matched = hmac.compare_digest(signature(self.previous_hmac_secret, key, body), signed)
        expired = self.previous_until is not None and self.clock() >= self.previous_until
        return matched and not expired

    def _log(self) -> Log:
        return Log(Redactor(self.secrets()), component="webhooks")
