"""Simulator: event catalogue, subscription CRUD and signed deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio

TARGET = "https://receiver.example/tripletex"


class Receiver:
    """Records webhook calls and answers with a fixed status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls: list[httpx.Request] = []

    def client(self) -> httpx.AsyncClient:
        async def handle(request: httpx.Request) -> httpx.Response:
            await request.aread()
            self.calls.append(request)
            return httpx.Response(self.status)

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def _subscribe(k: Kit, **fields: Any) -> httpx.Response:
    body = {"event": "customer.update", "targetUrl": TARGET, **fields}
    return await k.http.post("/event/subscription", json=body, headers=k.auth(k.company))


async def test_event_catalogue_needs_no_authentication() -> None:
    """GET /event lists event names with payload models, without Authorization."""
    async with kit(session=False) as k:
        value = (await k.http.get("/event")).json()["value"]
    assert value["customer.update"]["payloadModel"] == "Customer"
    assert "payloadModel" not in value["customer.delete"]


async def test_subscription_is_created_active_without_write_only_fields() -> None:
    """POST /event/subscription answers 201 ACTIVE and never echoes secrets."""
    async with kit() as k:
        response = await _subscribe(k, hmacSharedSecret="s3cret", authHeaderValue="v")
    value = response.json()["value"]
    assert response.status_code == 201
    assert value["status"] == "ACTIVE"
    assert "hmacSharedSecret" not in value
    assert "authHeaderValue" not in value


async def test_unknown_event_is_refused() -> None:
    """A subscription to an event not in the catalogue is a 422."""
    async with kit() as k:
        response = await _subscribe(k, event="timesheet.create")
    assert response.status_code == 422


async def test_update_delivers_fields_filtered_value() -> None:
    """An update sends {subscriptionId, event, id, value} with the subscription's fields."""
    async with kit() as k:
        sub = (await _subscribe(k, fields="id,version,name")).json()["value"]
        record = k.fake.records(k.company, "customer")[0]
        target = record["id"]
        k.fake.update(k.company, "customer", target, {"name": "Oppdatert AS"})
        receiver = Receiver()
        async with receiver.client() as http:
            assert await k.fake.webhooks.deliver(http) == 1
    payload = json.loads(receiver.calls[0].content)
    assert payload == {
        "subscriptionId": sub["id"],
        "event": "customer.update",
        "id": target,
        "value": {"id": target, "version": record["version"] + 1, "name": "Oppdatert AS"},
    }


async def test_delivery_carries_auth_header_and_valid_hmac_signature() -> None:
    """x-request-signature is base64 HMAC-SHA512 of idempotency-key + '&' + body."""
    async with kit() as k:
        await _subscribe(
            k, hmacSharedSecret="s3cret", authHeaderName="x-auth", authHeaderValue="token-1"
        )
        target = k.fake.records(k.company, "customer")[0]["id"]
        k.fake.update(k.company, "customer", target, {"name": "Signert AS"})
        receiver = Receiver()
        async with receiver.client() as http:
            await k.fake.webhooks.deliver(http)
    call = receiver.calls[0]
    key = call.headers["idempotency-key"]
    mac = hmac.new(b"s3cret", key.encode() + b"&" + call.content, hashlib.sha512).digest()
    assert call.headers["x-request-signature"] == base64.b64encode(mac).decode()
    assert call.headers["x-auth"] == "token-1"


async def test_delete_event_has_null_value() -> None:
    """A delete delivers value null; the id says what went."""
    async with kit() as k:
        await _subscribe(k, event="customer.delete")
        target = k.fake.records(k.company, "customer")[0]["id"]
        k.fake.delete(k.company, "customer", target)
        receiver = Receiver()
        async with receiver.client() as http:
            await k.fake.webhooks.deliver(http)
    payload = json.loads(receiver.calls[0].content)
    assert (payload["id"], payload["value"]) == (target, None)


async def test_failing_receiver_disables_the_subscription() -> None:
    """After repeated failed deliveries the status becomes DISABLED_TOO_MANY_ERRORS."""
    async with kit() as k:
        sub = (await _subscribe(k)).json()["value"]
        target = k.fake.records(k.company, "customer")[0]["id"]
        k.fake.update(k.company, "customer", target, {"name": "Feil AS"})
        receiver = Receiver(status=500)
        async with receiver.client() as http:
            for _ in range(12):
                await k.fake.webhooks.deliver(http)
        got = await k.http.get(f"/event/subscription/{sub['id']}", headers=k.auth(k.company))
    assert got.json()["value"]["status"] == "DISABLED_TOO_MANY_ERRORS"
    assert len(receiver.calls) == 10


async def test_bulk_create_list_and_delete() -> None:
    """/event/subscription/list creates several; DELETE ?ids= removes them."""
    async with kit() as k:
        body = [
            {"event": "customer.create", "targetUrl": TARGET},
            {"event": "customer.delete", "targetUrl": TARGET},
        ]
        created = await k.http.post(
            "/event/subscription/list", json=body, headers=k.auth(k.company)
        )
        ids = [v["id"] for v in created.json()["values"]]
        listed = await k.http.get("/event/subscription", headers=k.auth(k.company))
        assert sorted(v["id"] for v in listed.json()["values"]) == sorted(ids)
        gone = await k.http.delete(
            "/event/subscription/list",
            params={"ids": ",".join(map(str, ids))},
            headers=k.auth(k.company),
        )
        after = await k.http.get("/event/subscription", headers=k.auth(k.company))
    assert gone.status_code == 204
    assert after.json()["values"] == []
