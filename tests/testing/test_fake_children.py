"""Simulator: child changes reach the parent's list and digest, not its version
(tripletex-api2#107; Tripletex's checksum docs: "an orderline change updates the /order
digest"), and expanded relations stay out of the digest but not out of the data."""

from __future__ import annotations

from typing import Any

import pytest

from tripletex_async.testing._plan import DERIVED
from tripletex_async.testing._resources import CHILD_LINKS, RESOURCES
from tripletex_async.testing._schema import load_models

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio

ORDER_DATES = {"orderDateFrom": "2000-01-01", "orderDateTo": "2100-01-01"}
VOUCHER_DATES = {"dateFrom": "2000-01-01", "dateTo": "2100-01-01"}
INVOICE_DATES = {"invoiceDateFrom": "2000-01-01", "invoiceDateTo": "2100-01-01"}


def _order(k: Kit, order_id: int) -> dict[str, Any]:
    return next(o for o in k.fake.records(k.company, "order") if o["id"] == order_id)


def _line_ids(k: Kit, order_id: int) -> list[int]:
    return [ref["id"] for ref in _order(k, order_id)["orderLines"]]


async def _order_digest(k: Kit) -> str:
    response = await k.conditional("/order", "x", **ORDER_DATES)
    return str(response.json()["versionDigest"])


async def _post_line(k: Kit, order_id: int) -> int:
    body = {"order": {"id": order_id}, "description": "Ekstra arbeid", "count": 2.0}
    response = await k.http.post("/order/orderline", json=body, headers=k.auth(k.company))
    assert response.status_code == 201, response.text
    return int(response.json()["value"]["id"])


async def _change_a_line(k: Kit, change: str) -> int:
    """Create, update or delete an order line over HTTP; the id of its order."""
    order = k.fake.records(k.company, "order")[0]
    if change == "create":
        await _post_line(k, order["id"])
        return int(order["id"])
    line = order["orderLines"][0]["id"]
    path = f"/order/orderline/{line}"
    if change == "update":
        body = {"description": "Endret"}
        response = await k.http.put(path, json=body, headers=k.auth(k.company))
    else:
        response = await k.http.delete(path, headers=k.auth(k.company))
    assert response.status_code in (200, 204), response.text
    return int(order["id"])


async def test_new_order_line_appears_in_its_orders_order_lines() -> None:
    """POST /order/orderline adds the line to its order's orderLines, at the end."""
    async with kit() as k:
        order_id = k.fake.records(k.company, "order")[0]["id"]
        before = _line_ids(k, order_id)
        line = await _post_line(k, order_id)
        served = (await k.get(f"/order/{order_id}", fields="orderLines")).json()["value"]
    assert [ref["id"] for ref in served["orderLines"]] == [*before, line]
    assert _line_ids(k, order_id) == [*before, line]


@pytest.mark.parametrize("change", ["create", "update", "delete"])
async def test_order_line_change_moves_the_order_list_digest(change: str) -> None:
    """After a line is created, changed or deleted, the old /order digest gets a 200."""
    async with kit() as k:
        digest = await _order_digest(k)
        await _change_a_line(k, change)
        again = await k.conditional("/order", digest, **ORDER_DATES)
    assert again.status_code == 200
    assert again.json()["versionDigest"] != digest


@pytest.mark.parametrize("change", ["create", "update", "delete"])
async def test_order_line_change_leaves_the_orders_version_and_changes(change: str) -> None:
    """A line change does not bump its order's version nor add to its changes."""
    async with kit() as k:
        before = _order(k, k.fake.records(k.company, "order")[0]["id"])
        order_id = await _change_a_line(k, change)
        after = (await k.get(f"/order/{order_id}", fields="version,changes")).json()["value"]
    assert (after["version"], after["changes"]) == (before["version"], before["changes"])


async def test_deleted_order_line_disappears_from_its_order() -> None:
    """DELETE /order/orderline/{id} takes the line out of its order's orderLines."""
    async with kit() as k:
        order = k.fake.records(k.company, "order")[0]
        first, *rest = [ref["id"] for ref in order["orderLines"]]
        await k.http.delete(f"/order/orderline/{first}", headers=k.auth(k.company))
        served = (await k.get(f"/order/{order['id']}", fields="orderLines")).json()["value"]
    assert [ref["id"] for ref in served["orderLines"]] == rest


async def test_changed_order_line_is_served_fresh_in_an_expanded_order() -> None:
    """orderLines(*) on /order shows a line's new description right after the change."""
    async with kit() as k:
        await k.get("/order", fields="id,orderLines(*)", **ORDER_DATES)  # fill the cache
        await _change_a_line(k, "update")
        values = (await k.get("/order", fields="id,orderLines(*)", **ORDER_DATES)).json()
    descriptions = [line["description"] for v in values["values"] for line in v["orderLines"]]
    assert "Endret" in descriptions


async def test_order_line_moved_to_another_order_leaves_the_first() -> None:
    """A line whose order changes moves from one orderLines list to the other."""
    async with kit() as k:
        first, second = k.fake.records(k.company, "order")[:2]
        line = first["orderLines"][0]["id"]
        k.fake.update(k.company, "order/orderline", line, {"order": {"id": second["id"]}})
        assert line not in _line_ids(k, first["id"])
        assert line in _line_ids(k, second["id"])


def _add_posting(k: Kit, voucher_id: int) -> dict[str, Any]:
    data = {"voucher": {"id": voucher_id}, "amount": 0.0}
    return k.fake.add(k.company, "ledger/posting", data)


async def test_new_posting_appears_in_its_vouchers_postings() -> None:
    """FakeTripletex.add of a posting lists it last in its voucher's postings."""
    async with kit() as k:
        voucher = k.fake.records(k.company, "ledger/voucher")[0]
        posting = _add_posting(k, voucher["id"])
        stored = k.fake.records(k.company, "ledger/voucher")[0]
    new = {"id": posting["id"], "url": posting["url"]}
    assert stored["postings"] == [*voucher["postings"], new]
    assert stored["version"] == voucher["version"]


async def test_new_posting_moves_the_voucher_list_digest() -> None:
    """After a posting is added, the old /ledger/voucher digest gets a 200."""
    async with kit() as k:
        first = await k.conditional("/ledger/voucher", "x", **VOUCHER_DATES)
        digest = first.json()["versionDigest"]
        _add_posting(k, k.fake.records(k.company, "ledger/voucher")[0]["id"])
        again = await k.conditional("/ledger/voucher", digest, **VOUCHER_DATES)
    assert again.status_code == 200


async def test_child_change_keeps_other_collections_checksums() -> None:
    """A new order line leaves /customer's digest valid (304): only /order moves on."""
    async with kit() as k:
        digest = (await k.conditional("/customer", "x")).json()["versionDigest"]
        await _change_a_line(k, "create")
        again = await k.conditional("/customer", digest)
    assert again.status_code == 304


async def test_expanded_relation_change_keeps_the_digest() -> None:
    """A customer's new name does not move /invoice?fields=id,customer(id,name)'s digest."""
    async with kit() as k:
        query = {"fields": "id,customer(id,name)", **INVOICE_DATES}
        first = (await k.conditional("/invoice", "x", **query)).json()
        customer = next(v["customer"] for v in first["values"] if v["customer"])
        k.fake.update(k.company, "customer", customer["id"], {"name": "Nytt Navn AS"})
        again = await k.conditional("/invoice", first["versionDigest"], **query)
    assert again.status_code == 304


async def test_expanded_relation_change_is_served_fresh() -> None:
    """A 200 after a customer's rename carries the new name, under the unchanged digest."""
    async with kit() as k:
        query = {"fields": "id,customer(id,name)", **INVOICE_DATES}
        first = (await k.conditional("/invoice", "x", **query)).json()
        customer = next(v["customer"] for v in first["values"] if v["customer"])
        k.fake.update(k.company, "customer", customer["id"], {"name": "Nytt Navn AS"})
        again = (await k.conditional("/invoice", "x", **query)).json()
    names = {v["customer"]["name"] for v in again["values"] if v["customer"]}
    assert "Nytt Navn AS" in names
    assert again["versionDigest"] == first["versionDigest"]


def test_child_links_are_the_generated_children_and_follow_the_spec() -> None:
    """Each child link is a parent/child pair of the portfolio, by the spec's references."""
    models = load_models()
    assert {c: link.parent for c, link in CHILD_LINKS.items()} == dict(DERIVED)
    for child, link in CHILD_LINKS.items():
        child_model, parent_model = RESOURCES[child].model, RESOURCES[link.parent].model
        up = models[child_model].field(link.parent_field)
        down = models[parent_model].field(link.children_field)
        assert up is not None
        assert down is not None
        assert (up.kind, up.target) == ("ref", parent_model)
        assert (down.kind, down.target) == ("ref_array", child_model)
