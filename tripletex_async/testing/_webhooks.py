"""Webhooks of the simulator: ``/event``, ``/event/subscription`` and deliveries, as
tripletex-api2's docs/webhooks describe them.

Deliveries are queued when data changes and sent when a test (or the loopback server's
owner) awaits `Webhooks.deliver`, so a test decides when they arrive, in which order, and
can replay one. The command line's ``--deliver-webhooks`` awaits it on a timer
(`_delivery`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import msgspec

from . import _fields
from ._errors import ApiFailure, method_not_allowed, not_found, validation_failed
from ._http import FakeRequest, FakeResponse, json_response
from ._lists import NO_DIGEST, envelope
from ._resources import RESOURCES
from ._schema import ModelSchema

if TYPE_CHECKING:
    from ._auth import Session
    from ._store import Mutation, Store

__all__ = ["Delivery", "FailureHook", "Webhooks"]

#: Resource path -> event subject, as in Tripletex's event catalogue.
SUBJECTS: dict[str, tuple[str, str]] = {
    "customer": ("customer", "Customer"),
    "supplier": ("supplier", "Supplier"),
    "employee": ("employee", "Employee"),
    "order": ("order", "Order"),
    "product": ("product", "Product"),
    "ledger/account": ("account", "Account"),
    "project": ("project", "Project"),
    "contact": ("contact", "Contact"),
    "ledger/voucher": ("voucher", "Voucher"),
}
WRITE_ONLY = ("authHeaderValue", "hmacSharedSecret")
#: Failed deliveries after which a subscription is disabled.
MAX_ERRORS = 10
_decode = msgspec.json.Decoder(Any).decode
#: Told of a delivery that failed and why ("HTTP 500", "ConnectError").
FailureHook = Callable[["Delivery", str], None]


def event_catalogue() -> dict[str, dict[str, str]]:
    """``GET /event``: event name -> description and payload model."""
    out: dict[str, dict[str, str]] = {}
    for subject, model in SUBJECTS.values():
        for verb in ("create", "update"):
            out[f"{subject}.{verb}"] = {
                "description": f"Fires when a {subject} is {verb}d.",
                "payloadModel": model,
            }
        out[f"{subject}.delete"] = {"description": f"Fires when a {subject} is deleted."}
    out["invoice.charged"] = {
        "description": "Fires when an invoice is charged.",
        "payloadModel": "Invoice",
    }
    return dict(sorted(out.items()))


@dataclass(slots=True)
class Delivery:
    """One webhook call waiting to be (re)sent."""

    subscription_id: int
    target_url: str
    headers: dict[str, str]
    body: bytes
    attempts: int = 0


@dataclass(slots=True)
class _Subscription:
    data: dict[str, Any]
    owner: tuple[str, int]
    errors: int = 0


@dataclass(slots=True)
class Webhooks:
    """Subscriptions and the queue of deliveries."""

    store: Store
    models: Mapping[str, ModelSchema]
    clock: Callable[[], datetime]
    pending: deque[Delivery] = field(default_factory=deque)
    delivered: list[Delivery] = field(default_factory=list)
    _subs: dict[int, _Subscription] = field(default_factory=dict)
    _next_id: int = 500

    # -- HTTP side ---------------------------------------------------------------------

    def event_types(self, route: str) -> FakeResponse:
        """``GET /event`` (no authentication needed) and ``GET /event/{name}``."""
        catalogue = event_catalogue()
        if route == "event":
            return json_response(200, {"value": catalogue})
        name = route.split("/", 1)[1]
        if name not in catalogue:
            raise not_found()
        return json_response(200, {"value": {"name": name, **catalogue[name], "examples": []}})

    def handle(
        self, request: FakeRequest, route: str, session: Session, company: int
    ) -> FakeResponse:
        """The ``/event/subscription`` family."""
        owner = (session.employee.employee_token, company)
        rest = route.removeprefix("event/subscription").strip("/")
        method = request.method
        if rest == "":
            if method == "GET":
                return self._list(owner, [s for s in self._subs.values() if s.owner == owner])
            if method == "POST":
                return json_response(
                    201, {"value": self._public(self._create(owner, _body(request)))}
                )
            raise method_not_allowed()
        if rest == "list":
            return self._bulk(request, owner)
        if not rest.isdigit():
            raise not_found()
        sub = self._subs.get(int(rest))
        if sub is None or sub.owner != owner:
            raise not_found()
        if method == "GET":
            return json_response(200, {"value": self._public(sub)})
        if method == "PUT":
            return json_response(200, {"value": self._public(self._update(sub, _body(request)))})
        if method == "DELETE":
            del self._subs[int(rest)]
            return FakeResponse(204)
        raise method_not_allowed()

    def _bulk(self, request: FakeRequest, owner: tuple[str, int]) -> FakeResponse:
        if request.method == "DELETE":
            ids = request.params().get("ids", "")
            for raw in filter(None, ids.split(",")):
                sub = self._subs.get(int(raw))
                if sub is not None and sub.owner == owner:
                    del self._subs[int(raw)]
            return FakeResponse(204)
        items = _decode(request.body or b"[]")
        if not isinstance(items, list):
            raise validation_failed([("body", "Forventet en liste.")], code=16000)
        if request.method == "POST":
            created = [self._create(owner, item) for item in items]
            return self._list(owner, created, status=201)
        if request.method == "PUT":
            updated = []
            for item in items:
                sub = self._subs.get(int(item.get("id", 0)))
                if sub is None or sub.owner != owner:
                    raise not_found()
                updated.append(self._update(sub, item))
            return self._list(owner, updated)
        raise method_not_allowed()

    def _create(self, owner: tuple[str, int], data: dict[str, Any]) -> _Subscription:
        self._validate(data, creating=True)
        self._next_id += 1
        sid = self._next_id
        host = self.store.portfolio.config.host
        record = {
            "id": sid,
            "version": 0,
            "url": f"{host}/v2/event/subscription/{sid}",
            "status": "ACTIVE",
            "fields": "",
            "authHeaderName": None,
        }
        record.update(data)
        sub = _Subscription(record, owner)
        self._subs[sid] = sub
        return sub

    def _update(self, sub: _Subscription, data: dict[str, Any]) -> _Subscription:
        self._validate(data, creating=False)
        if "version" in data and data["version"] != sub.data["version"]:
            raise ApiFailure(409, 8000, "RevisionException")
        sub.data.update({k: v for k, v in data.items() if k not in ("id", "version", "url")})
        sub.data["version"] += 1
        if sub.data.get("status") == "ACTIVE":
            sub.errors = 0
        return sub

    def _validate(self, data: dict[str, Any], *, creating: bool) -> None:
        model = self.models["Subscription"]
        unknown = [(k, "Feltet eksisterer ikke i objektet.") for k in data if not model.field(k)]
        if unknown:
            raise ApiFailure(422, 16000, "Request mapping failed", validation=unknown)
        problems = []
        if (creating or "event" in data) and data.get("event") not in event_catalogue():
            problems.append(("event", "Ugyldig hendelse."))
        if (creating or "targetUrl" in data) and not _acceptable_target(data.get("targetUrl")):
            problems.append(("targetUrl", "Må være en absolutt HTTPS-adresse."))
        if problems:
            raise validation_failed(problems, code=18000)

    def _public(self, sub: _Subscription) -> dict[str, Any]:
        return {k: v for k, v in sub.data.items() if k not in WRITE_ONLY}

    def _list(
        self, owner: tuple[str, int], subs: list[_Subscription], status: int = 200
    ) -> FakeResponse:
        values = [msgspec.json.encode(self._public(s)) for s in subs]
        body = envelope(full_size=len(values), start=0, values=values, digest=NO_DIGEST)
        return FakeResponse(status, body, [("content-type", "application/json")])

    # -- deliveries --------------------------------------------------------------------

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription as stored (write-only fields included), for assertions."""
        return [dict(s.data) for s in self._subs.values()]

    def on_mutation(self, mutation: Mutation) -> None:
        """Queue deliveries for a change of the simulator's data."""
        subject = SUBJECTS.get(mutation.resource)
        if mutation.resource == "invoice" and mutation.kind == "create":
            event = "invoice.charged"
        elif subject is not None:
            event = f"{subject[0]}.{mutation.kind}"
        else:
            return
        for sid, sub in self._subs.items():
            data = sub.data
            if data["event"] != event or sub.owner[1] != mutation.company_id:
                continue
            if data.get("status") != "ACTIVE":
                continue
            value = None if mutation.kind == "delete" else self._payload_value(mutation, data)
            payload = {"subscriptionId": sid, "event": event, "id": mutation.id, "value": value}
            self.pending.append(self._signed(sub, msgspec.json.encode(payload)))

    def _payload_value(self, mutation: Mutation, data: dict[str, Any]) -> dict[str, Any]:
        model = self.models[RESOURCES[mutation.resource].model]
        selection = _fields.parse_fields(str(data.get("fields") or ""))
        resolve = self.store.resolver(mutation.company_id)
        return _fields.project(mutation.record, selection, model, self.models, resolve)

    def _signed(self, sub: _Subscription, body: bytes) -> Delivery:
        key = str(uuid.uuid4())
        headers = {"content-type": "application/json", "idempotency-key": key}
        name, value = sub.data.get("authHeaderName"), sub.data.get("authHeaderValue")
        if name and value:
            headers[str(name)] = str(value)
        secret = sub.data.get("hmacSharedSecret")
        if secret:
            mac = hmac.new(str(secret).encode(), key.encode() + b"&" + body, hashlib.sha512)
            headers["x-request-signature"] = base64.b64encode(mac.digest()).decode()
        return Delivery(int(sub.data["id"]), str(sub.data["targetUrl"]), headers, body)

    async def deliver(
        self,
        client: httpx.AsyncClient,
        *,
        limit: int | None = None,
        on_failure: FailureHook | None = None,
    ) -> int:
        """Send queued deliveries in order; return how many a receiver acknowledged.

        A delivery that fails (non-2xx or a transport error) goes back to the end of the
        queue; a subscription with too many failures becomes DISABLED_TOO_MANY_ERRORS.
        ``on_failure`` is told of each failure, after that bookkeeping, with the reason.
        """
        sent = 0
        for _ in range(len(self.pending) if limit is None else min(limit, len(self.pending))):
            delivery = self.pending.popleft()
            delivery.attempts += 1
            try:
                response = await client.post(
                    delivery.target_url, content=delivery.body, headers=delivery.headers
                )
                ok, reason = 200 <= response.status_code < 300, f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                ok, reason = False, type(exc).__name__
            if ok:
                sent += 1
                self.delivered.append(delivery)
            else:
                self._failed(delivery)
                if on_failure is not None:
                    on_failure(delivery, reason)
        return sent

    def subscribed_companies(self, event: str) -> set[int]:
        """Companies with an ACTIVE subscription to ``event``."""
        return {
            s.owner[1]
            for s in self._subs.values()
            if s.data["event"] == event and s.data.get("status") == "ACTIVE"
        }

    def _failed(self, delivery: Delivery) -> None:
        sub = self._subs.get(delivery.subscription_id)
        if sub is None:
            return
        sub.errors += 1
        if sub.errors >= MAX_ERRORS:
            sub.data["status"] = "DISABLED_TOO_MANY_ERRORS"
        else:
            self.pending.append(delivery)


def _acceptable_target(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    # Tripletex demands HTTPS; the simulator also takes plain HTTP to loopback receivers.
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return parts.scheme == "https" or (parts.scheme == "http" and loopback)


def _body(request: FakeRequest) -> dict[str, Any]:
    data = _decode(request.body or b"{}")
    if not isinstance(data, dict):
        raise validation_failed([("body", "Forventet et objekt.")], code=16000)
    return data
