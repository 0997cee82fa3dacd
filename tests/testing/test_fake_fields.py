"""Simulator: the fields filter and checksums."""

from __future__ import annotations

import pytest

from .fakekit import kit

pytestmark = pytest.mark.anyio

DATES = {"invoiceDateFrom": "2000-01-01", "invoiceDateTo": "2100-01-01"}


async def test_comma_list_returns_only_those_fields() -> None:
    """fields=id,name returns exactly id and name."""
    async with kit() as k:
        values = (await k.get("/customer", fields="id,name")).json()["values"]
    assert all(set(v) == {"id", "name"} for v in values)


async def test_unexpanded_reference_is_id_and_url_without_scheme() -> None:
    """A bare reference field is {id, url} with a url like host/v2/customer/1."""
    async with kit() as k:
        values = (await k.get("/invoice", fields="id,customer", **DATES)).json()["values"]
    ref = next(v["customer"] for v in values if v["customer"])
    assert set(ref) == {"id", "url"}
    assert ref["url"] == f"api-test.tripletex.tech/v2/customer/{ref['id']}"


async def test_nested_selection_expands_the_reference() -> None:
    """customer(id,name) expands the referenced customer to those fields."""
    async with kit() as k:
        values = (await k.get("/invoice", fields="id,customer(id,name)", **DATES)).json()["values"]
        names = {c["id"]: c["name"] for c in k.fake.records(k.company, "customer")}
    expanded = [v["customer"] for v in values if v["customer"]]
    assert expanded
    assert all(names[c["id"]] == c["name"] and set(c) == {"id", "name"} for c in expanded)


async def test_star_is_every_field_but_changes() -> None:
    """* returns the stored fields except changes; references stay unexpanded."""
    async with kit() as k:
        value = (await k.get("/customer", fields="*")).json()["values"][0]
    assert "changes" not in value
    assert len(value) >= 15


async def test_changes_only_when_asked_for() -> None:
    """*,changes adds the change log."""
    async with kit() as k:
        value = (await k.get("/customer", fields="*,changes")).json()["values"][0]
    assert value["changes"][0]["changeType"] == "CREATE"


async def test_field_star_expands_a_list_of_references() -> None:
    """orderLines(*) expands every order line of an order."""
    async with kit() as k:
        values = (
            await k.get(
                "/order",
                fields="id,orderLines(*)",
                orderDateFrom="2000-01-01",
                orderDateTo="2100-01-01",
            )
        ).json()["values"]
    lines = [line for v in values for line in v["orderLines"]]
    assert lines
    assert all("description" in line or "count" in line for line in lines)


async def test_unknown_field_is_400_illegal_field() -> None:
    """An unknown field gives Tripletex's 400 'Illegal field in fields filter'."""
    async with kit() as k:
        response = await k.get("/invoice", fields="id,amountUnpaid", **DATES)
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "Illegal field in fields filter: amountUnpaid. amountUnpaid does not match a field "
        "in the model: InvoiceDTO"
    )


async def test_checksum_repeat_is_304_without_body() -> None:
    """With If-None-Match the digest is real; sending it back gives 304 and no body."""
    async with kit() as k:
        headers = {**k.auth(k.company), "if-none-match": "x"}
        first = await k.http.get("/customer", headers=headers)
        digest = first.json()["versionDigest"]
        assert digest != "'If-None-Match' header not specified"
        again = await k.http.get(
            "/customer", headers={**k.auth(k.company), "if-none-match": digest}
        )
    assert again.status_code == 304
    assert again.content == b""


async def test_checksum_changes_after_a_mutation() -> None:
    """An update anywhere in the matched set changes the digest (200 again)."""
    async with kit() as k:
        headers = {**k.auth(k.company), "if-none-match": "x"}
        digest = (await k.http.get("/customer", headers=headers)).json()["versionDigest"]
        last = k.fake.records(k.company, "customer")[-1]["id"]
        k.fake.update(k.company, "customer", last, {"name": "Ny Versjon AS"})
        again = await k.http.get(
            "/customer", headers={**k.auth(k.company), "if-none-match": digest}
        )
    assert again.status_code == 200
    assert again.json()["versionDigest"] != digest
