"""Simulator: writes answer as Tripletex's do (issue 19): new objects have every field a
real one has, references are completed or refused, an order's lines and a voucher's
postings become objects of their own, and bodies Tripletex refuses are refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tripletex_async.testing._resources import MODEL_COLLECTIONS, RESOURCES
from tripletex_async.testing._schema import load_models
from tripletex_async.testing._write_checks import required_fields

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio


def _ref(k: Kit, path: str, index: int = 0) -> dict[str, Any]:
    """``{"id": n}`` of the company's ``index``-th object of ``path``."""
    return {"id": k.fake.records(k.company, path)[index]["id"]}


async def _post(k: Kit, path: str, body: dict[str, Any], **params: str) -> httpx.Response:
    return await k.http.post(f"/{path}", json=body, params=params, headers=k.auth(k.company))


def _order(k: Kit, **extra: Any) -> dict[str, Any]:
    body = {"customer": _ref(k, "customer"), "orderDate": "2025-03-03"}
    return {**body, "deliveryDate": "2025-03-10", **extra}


def _voucher(*amounts: float) -> dict[str, Any]:
    postings = [{"amountGross": a, "description": f"Rad {i}"} for i, a in enumerate(amounts)]
    return {"date": "2025-02-14", "description": "Kontantsalg", "postings": postings}


def _messages(response: httpx.Response) -> list[tuple[str, str]]:
    body = response.json()
    assert (response.status_code, body["code"]) == (422, 18000), response.text
    return [(m["field"], m["message"]) for m in body["validationMessages"]]


async def test_posted_supplier_has_the_fields_a_real_supplier_has() -> None:
    """POST /supplier {name} answers a whole supplier: next number, displayName, NOK,
    flags false, language NO, version 0, url."""
    async with kit() as k:
        last = max(s["supplierNumber"] for s in k.fake.records(k.company, "supplier"))
        nok = k.fake.records(k.company, "currency")[0]
        value = (await _post(k, "supplier", {"name": "Fjord Rør AS"})).json()["value"]
    assert value["supplierNumber"] == last + 1
    assert value["displayName"] == f"Fjord Rør AS ({last + 1})"
    assert value["currency"] == {"id": nok["id"], "url": nok["url"]}
    assert (value["isCustomer"], value["isInactive"], value["isSupplier"]) == (False, False, True)
    assert (value["language"], value["version"]) == ("NO", 0)
    assert value["url"].endswith(f"/v2/supplier/{value['id']}")
    assert set(value) == set(load_models()["Supplier"].fields) - {"changes"}


async def test_customer_numbers_follow_in_sequence() -> None:
    """Two new customers get the two numbers after the company's highest."""
    async with kit() as k:
        last = max(c["customerNumber"] for c in k.fake.records(k.company, "customer"))
        first = (await _post(k, "customer", {"name": "En AS"})).json()["value"]
        second = (await _post(k, "customer", {"name": "To AS"})).json()["value"]
    assert (first["customerNumber"], second["customerNumber"]) == (last + 1, last + 2)


async def test_created_object_has_a_create_change() -> None:
    """fields=changes of a new object is one CREATE."""
    async with kit() as k:
        value = (await _post(k, "customer", {"name": "Endring AS"}, fields="changes")).json()
    assert [c["changeType"] for c in value["value"]["changes"]] == ["CREATE"]


async def test_order_with_lines_reads_back_with_its_lines() -> None:
    """POST /order with orderLines makes line objects; orderLines(*) reads them back."""
    lines = [{"description": "Montering", "count": 2, "unitPriceExcludingVatCurrency": 450.0}]
    async with kit() as k:
        created = (await _post(k, "order", _order(k, orderLines=lines))).json()["value"]
        read = await k.get(f"/order/{created['id']}", fields="id,orderLines(*)")
    assert read.status_code == 200, read.text
    (line,) = read.json()["value"]["orderLines"]
    assert line["id"] == created["orderLines"][0]["id"]
    assert line["order"] == {"id": created["id"], "url": created["url"]}
    assert (line["description"], line["amountExcludingVatCurrency"]) == ("Montering", 900.0)
    assert line["url"].endswith(f"/v2/order/orderline/{line['id']}")


async def test_voucher_with_postings_reads_back_dated_as_the_voucher() -> None:
    """POST /ledger/voucher makes posting objects dated as the voucher; postings(*) reads
    them back, rows numbered in order."""
    async with kit() as k:
        created = (await _post(k, "ledger/voucher", _voucher(100.0, -100.0))).json()["value"]
        read = await k.get(f"/ledger/voucher/{created['id']}", fields="*,postings(*)")
    assert read.status_code == 200, read.text
    postings = read.json()["value"]["postings"]
    assert [(p["date"], p["row"], p["amountGross"]) for p in postings] == [
        ("2025-02-14", 1, 100.0),
        ("2025-02-14", 2, -100.0),
    ]
    assert {p["voucher"]["id"] for p in postings} == {created["id"]}


async def test_customer_without_name_is_refused_naming_the_field() -> None:
    """POST /customer {} is 422/18000 with a validation message for name."""
    async with kit() as k:
        response = await _post(k, "customer", {})
    assert _messages(response) == [("name", "Kan ikke være null.")]


async def test_unbalanced_voucher_is_refused() -> None:
    """Postings of 100 and -50 are 422/18000 naming postings; nothing is stored."""
    async with kit() as k:
        before = len(k.fake.records(k.company, "ledger/posting"))
        response = await _post(k, "ledger/voucher", _voucher(100.0, -50.0))
        after = len(k.fake.records(k.company, "ledger/posting"))
    assert [field for field, _ in _messages(response)] == ["postings"]
    assert after == before


async def test_order_for_a_missing_customer_is_refused() -> None:
    """An order naming a customer the company does not have is 422 naming customer.id."""
    async with kit() as k:
        response = await _post(k, "order", _order(k, customer={"id": 1}))
    assert [field for field, _ in _messages(response)] == ["customer.id"]


async def test_missing_required_fields_are_named_together() -> None:
    """POST /order {} names each of Order's required fields in one answer."""
    async with kit() as k:
        response = await _post(k, "order", {})
    fields = [field for field, _ in _messages(response)]
    assert fields == ["customer", "deliveryDate", "orderDate"]


async def test_sent_reference_is_completed_with_its_url() -> None:
    """A reference sent as {"id": n} is answered as {"id": n, "url": <its url>}."""
    async with kit() as k:
        department = k.fake.records(k.company, "department")[0]
        body = {"name": "Ref AS", "department": {"id": department["id"]}}
        value = (await _post(k, "customer", body)).json()["value"]
    assert value["department"] == {"id": department["id"], "url": department["url"]}


async def test_new_address_sent_in_place_becomes_an_object() -> None:
    """A postalAddress sent without id is created, referenced, and expands."""
    address = {"addressLine1": "Storgata 1", "postalCode": "0155", "city": "Oslo"}
    async with kit() as k:
        value = await _post(k, "customer", {"name": "Adr AS", "postalAddress": address})
        read = await k.get(f"/customer/{value.json()['value']['id']}", fields="postalAddress(*)")
    expanded = read.json()["value"]["postalAddress"]
    assert (expanded["city"], expanded["displayName"]) == ("Oslo", "Storgata 1, 0155 Oslo")


async def test_nested_line_with_an_id_is_refused_on_create() -> None:
    """An order line with an id inside POST /order is 422 (ids are never sent on create)."""
    async with kit() as k:
        response = await _post(k, "order", _order(k, orderLines=[{"id": 5}]))
    assert [field for field, _ in _messages(response)] == ["orderLines.id"]


async def test_nested_unknown_field_is_a_mapping_failure() -> None:
    """An order line field OrderLine lacks is 422/16000 naming orderLines.field."""
    async with kit() as k:
        response = await _post(k, "order", _order(k, orderLines=[{"isDayTrip": True}]))
    body = response.json()
    assert (response.status_code, body["code"]) == (422, 16000)
    assert body["validationMessages"][0]["field"] == "orderLines.isDayTrip"


async def test_put_with_an_unknown_reference_is_refused_and_changes_nothing() -> None:
    """PUT naming a department that does not exist is 422; the object keeps its version."""
    async with kit() as k:
        customer = k.fake.records(k.company, "customer")[0]
        response = await k.http.put(
            f"/customer/{customer['id']}",
            json={"department": {"id": 1}},
            headers=k.auth(k.company),
        )
        after = k.fake.records(k.company, "customer")[0]
    assert [field for field, _ in _messages(response)] == ["department.id"]
    assert after["version"] == customer["version"]


async def test_put_that_empties_a_required_field_is_refused() -> None:
    """PUT {"name": ""} on a customer is 422 naming name; leaving name out is fine."""
    async with kit() as k:
        customer = k.fake.records(k.company, "customer")[0]
        path, auth = f"/customer/{customer['id']}", k.auth(k.company)
        emptied = await k.http.put(path, json={"name": ""}, headers=auth)
        other = await k.http.put(path, json={"description": "Ny"}, headers=auth)
    assert _messages(emptied) == [("name", "Feltet må fylles ut.")]
    assert other.status_code == 200


async def test_put_with_a_new_line_adds_it_to_the_order() -> None:
    """PUT /order/{id} with a line without id creates it; the order lists it last."""
    async with kit() as k:
        order = k.fake.records(k.company, "order")[0]
        response = await k.http.put(
            f"/order/{order['id']}",
            json={"orderLines": [{"description": "Tillegg"}]},
            headers=k.auth(k.company),
        )
    lines = response.json()["value"]["orderLines"]
    assert [ref["id"] for ref in lines[:-1]] == [ref["id"] for ref in order["orderLines"]]
    assert len(lines) == len(order["orderLines"]) + 1


async def test_put_of_a_missing_object_is_404() -> None:
    """PUT /customer/{id} of no such customer is 404/6000, before any validation."""
    async with kit() as k:
        response = await k.http.put("/customer/7", json={"name": ""}, headers=k.auth(k.company))
    assert (response.status_code, response.json()["code"]) == (404, 6000)


async def test_rename_moves_the_display_name_on() -> None:
    """A customer's new name shows in its displayName, with its number."""
    async with kit() as k:
        customer = k.fake.records(k.company, "customer")[0]
        updated = k.fake.update(k.company, "customer", customer["id"], {"name": "Nytt Navn AS"})
    assert updated["displayName"] == f"Nytt Navn AS ({customer['customerNumber']})"


async def test_back_door_add_fills_the_same_defaults() -> None:
    """FakeTripletex.add of {name} gives a whole customer, as a POST would."""
    async with kit() as k:
        record = k.fake.add(k.company, "customer", {"name": "Bakdør AS"})
    assert record["displayName"] == f"Bakdør AS ({record['customerNumber']})"
    assert set(record) == set(load_models()["Customer"].fields)


def _bodies(k: Kit) -> dict[str, dict[str, Any]]:
    """A body Tripletex accepts for each collection the simulator takes a POST on."""
    employee = _ref(k, "employee")
    return {
        "customer": {"name": "Les AS"},
        "supplier": {"name": "Les Lev AS"},
        "contact": {"firstName": "Kari", "lastName": "Nordmann", "customer": _ref(k, "customer")},
        "employee": {"firstName": "Ola", "lastName": "Nordmann"},
        "department": {"name": "Lager"},
        "product": {"name": "Skrue", "vatType": _ref(k, "ledger/vatType")},
        "project": {
            "name": "Nybygg",
            "isInternal": False,
            "projectManager": employee,
            "startDate": "2025-01-02",
        },
        "activity": {"name": "Befaring", "activityType": "GENERAL_ACTIVITY"},
        "ledger/account": {"name": "Kasse 2", "number": 1901},
        "order": _order(k, orderLines=[{"description": "Arbeid", "count": 1}]),
        "order/orderline": {"order": _ref(k, "order"), "description": "Ekstra"},
        "invoice": {
            "invoiceDate": "2025-03-03",
            "invoiceDueDate": "2025-03-17",
            "orders": [_ref(k, "order")],
        },
        "ledger/voucher": _voucher(250.0, -250.0),
        "timesheet/entry": {
            "activity": _ref(k, "activity"),
            "date": "2025-03-03",
            "employee": employee,
            "hours": 7.5,
        },
    }


def _expanding(path: str) -> str:
    """``*`` plus ``name(*)`` for every reference of the model into a stored collection."""
    model = load_models()[RESOURCES[path].model]
    names = [
        name
        for name, spec in model.fields.items()
        if spec.kind in ("ref", "ref_array") and spec.target in MODEL_COLLECTIONS
    ]
    return ",".join(["*", *(f"{name}(*)" for name in names)])


#: Every collection the simulator takes a POST on.
POSTED = [p for p, info in RESOURCES.items() if "POST" in info.collection_methods]


def test_every_collection_taking_a_post_has_a_body_here() -> None:
    """The read-back test below covers every collection the simulator takes a POST on."""
    assert len(POSTED) == 14


@pytest.mark.parametrize("path", POSTED)
async def test_created_object_reads_back_whole_and_expanded(path: str) -> None:
    """An object created by POST reads back by id with fields=* and with every
    reference expanded, never a 500."""
    async with kit() as k:
        created = await _post(k, path, _bodies(k)[path])
        assert created.status_code == 201, created.text
        item = f"/{path}/{created.json()['value']['id']}"
        whole = await k.get(item, fields="*")
        expanded = await k.get(item, fields=_expanding(path))
    assert (whole.status_code, expanded.status_code) == (200, 200), expanded.text


#: (collection, required field) for every collection taking a POST: the spec contract
#: of write validation, from the Swagger 2 spec's ``required`` lists.
REQUIRED = [
    (path, field) for path in POSTED for field in required_fields().get(RESOURCES[path].model, ())
]


@pytest.mark.parametrize(("path", "field"), REQUIRED)
async def test_each_required_field_left_out_is_refused_naming_it(path: str, field: str) -> None:
    """A valid body without one of its model's required fields is 422/18000 naming it,
    and nothing is created."""
    async with kit() as k:
        body = {name: value for name, value in _bodies(k)[path].items() if name != field}
        before = len(k.fake.records(k.company, path))
        response = await _post(k, path, body)
        after = len(k.fake.records(k.company, path))
    assert (response.status_code, response.json()["code"]) == (422, 18000), response.text
    assert field in {name for name, _ in _messages(response)}
    assert after == before
