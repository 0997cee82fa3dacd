"""Webhook subscriptions: ``/event`` and ``/event/subscription``.

Secrets (the callback's auth header value, the HMAC shared secret, credentials in a
target URL) are `Secret`s or stripped before anything is shown: they never reach a log, a
repr or an exception message. Tripletex never sends the write-only ones back, so whether
they changed is known only through a `SubscriptionRegistry`'s keyed fingerprints (see
``webhooks.ensure_subscriptions``).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from ..client._client import CompanyView, TripletexClient
from ..client._envelopes import ListPage, Value
from ..client._errors import ConfigurationError

__all__ = [
    "ACTIVE",
    "EventType",
    "Registration",
    "Secret",
    "Subscription",
    "SubscriptionRegistry",
    "SubscriptionSpec",
    "Subscriptions",
    "shown_url",
]

ACTIVE = "ACTIVE"
_PATH = "/event/subscription"
_PAGE = 1000


class Secret:
    """A secret string that shows as ``***`` in reprs, logs and messages; `reveal` gives
    it. Compared in constant time."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigurationError("a secret must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only for sending it, never for showing it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


def shown_url(url: str) -> str:
    """A target URL safe to show: scheme, host and port only (user info, path and query
    may all carry credentials)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "?", parts.port
    except ValueError:
        return "<invalid url>"
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{rest}"


class EventType(msgspec.Struct, frozen=True, rename="camel"):
    """One entry of ``GET /event``: what fires it and the payload's model (none for
    deletions)."""

    description: str | None = None
    payload_model: str | None = None


class Subscription(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A subscription as Tripletex shows it (the write-only secrets never come back)."""

    id: int
    event: str
    target_url: str
    version: int = 0
    url: str | None = None
    fields: str | None = None
    status: str = ACTIVE
    auth_header_name: str | None = None

    @property
    def disabled(self) -> bool:
        """Not ``ACTIVE``: ``DISABLED``, ``DISABLED_TOO_MANY_ERRORS``, ..."""
        return self.status != ACTIVE

    def __repr__(self) -> str:
        return (
            f"Subscription(id={self.id}, event={self.event!r}, "
            f"target_url={shown_url(self.target_url)!r}, status={self.status!r}, "
            f"fields={self.fields!r})"
        )


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """A subscription wanted: one event to one target URL, with its fields and auth.

    ``fields`` empty means Tripletex's default (``*``-like). Secrets are `Secret`s.
    """

    event: str
    target_url: str
    fields: str = ""
    auth_header_name: str | None = None
    auth_header_value: Secret | None = None
    hmac_secret: Secret | None = None

    def __post_init__(self) -> None:
        for name in ("auth_header_value", "hmac_secret"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Secret):
                raise ConfigurationError(f"{name} must be a Secret, not {type(value).__name__}")
        if (self.auth_header_name is None) != (self.auth_header_value is None):
            raise ConfigurationError("auth_header_name and auth_header_value go together")

    def __repr__(self) -> str:
        return (
            f"SubscriptionSpec(event={self.event!r}, target_url={shown_url(self.target_url)!r}, "
            f"fields={self.fields!r}, auth_header_name={self.auth_header_name!r})"
        )

    def body(self) -> dict[str, Any]:
        """The JSON Tripletex takes to create or update it, secrets included."""
        out: dict[str, Any] = {"event": self.event, "targetUrl": self.target_url}
        out["fields"] = self.fields
        if self.auth_header_name is not None and self.auth_header_value is not None:
            out["authHeaderName"] = self.auth_header_name
            out["authHeaderValue"] = self.auth_header_value.reveal()
        if self.hmac_secret is not None:
            out["hmacSharedSecret"] = self.hmac_secret.reveal()
        return out

    def secrets(self) -> bytes:
        """The write-only parts, for a fingerprint (never shown)."""
        parts = (self.auth_header_value, self.hmac_secret)
        return b"\0".join(b"" if s is None else s.reveal().encode() for s in parts)


@dataclass(frozen=True, slots=True)
class Registration:
    """What a webhook receiver must know of a subscription: whose data it delivers, and
    which fields its payloads carry."""

    subscription_id: int
    company_id: int
    event: str
    fields: str
    #: Keyed fingerprint of the secrets last sent (`SubscriptionRegistry.fingerprint`).
    secrets: str = field(default="", repr=False)


class SubscriptionRegistry(Protocol):
    """Where ``ensure_subscriptions`` notes its subscriptions (a receiver's queue file)."""

    async def registrations(self, company_id: int) -> dict[int, Registration]:
        """Every registration of one company, by subscription id."""
        ...

    async def register(self, registrations: Sequence[Registration]) -> None:
        """Add or replace registrations."""
        ...

    def fingerprint(self, secrets: bytes) -> str:
        """A keyed, one-way fingerprint of secrets (to tell whether they changed)."""
        ...


class Subscriptions:
    """The ``/event`` and ``/event/subscription`` endpoints, acting for one company."""

    def __init__(self, view: TripletexClient | CompanyView) -> None:
        self._view = view

    async def event_types(self) -> dict[str, EventType]:
        """``GET /event``: every event name Tripletex can deliver."""
        return await self._view.get_value("/event", dict[str, EventType])

    async def list_all(self) -> list[Subscription]:
        """Every subscription of the token in this company, paged until a short page."""
        return await self._view.get_all(_PATH, Subscription, page_size=_PAGE)

    async def get(self, subscription_id: int) -> Subscription:
        """One subscription."""
        return await self._view.get_value(f"{_PATH}/{int(subscription_id)}", Subscription)

    async def create(self, spec: SubscriptionSpec) -> Subscription:
        """``POST /event/subscription``."""
        value: Value[Subscription] = await self._view.post(
            _PATH, json=spec.body(), type=Value[Subscription]
        )
        return value.value

    async def create_many(self, specs: Sequence[SubscriptionSpec]) -> list[Subscription]:
        """``POST /event/subscription/list``: several in one request."""
        if not specs:
            return []
        body = [s.body() for s in specs]
        page = await self._view.post(f"{_PATH}/list", json=body, type=ListPage[Subscription])
        return list(page.values)

    async def update(self, subscription_id: int, changes: Mapping[str, Any]) -> Subscription:
        """``PUT /event/subscription/{id}`` (partial): ``changes`` in Tripletex's names."""
        path = f"{_PATH}/{int(subscription_id)}"
        value: Value[Subscription] = await self._view.put(
            path, json=dict(changes), type=Value[Subscription]
        )
        return value.value

    async def update_many(self, changes: Mapping[int, Mapping[str, Any]]) -> list[Subscription]:
        """``PUT /event/subscription/list``: ``changes`` by subscription id."""
        if not changes:
            return []
        body = [{**c, "id": int(i)} for i, c in changes.items()]
        page = await self._view.put(f"{_PATH}/list", json=body, type=ListPage[Subscription])
        return list(page.values)

    async def delete(self, subscription_id: int) -> None:
        """``DELETE /event/subscription/{id}``."""
        await self._view.delete(f"{_PATH}/{int(subscription_id)}")

    async def delete_many(self, ids: Iterable[int]) -> None:
        """``DELETE /event/subscription/list?ids=...``."""
        wanted = ",".join(str(int(i)) for i in ids)
        if wanted:
            await self._view.delete(f"{_PATH}/list", params={"ids": wanted})
