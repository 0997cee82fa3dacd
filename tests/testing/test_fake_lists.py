"""Simulator: list envelopes, paging, required dates, the cap, sorting."""

from __future__ import annotations

import pytest

from tripletex_async.testing import FakeConfig, FullResultSize

from .fakekit import kit

pytestmark = pytest.mark.anyio


async def test_envelope_has_the_five_fields_and_count_is_values_returned() -> None:
    """count is the number of values returned, not the number asked for."""
    async with kit() as k:
        body = (await k.get("/customer", count=10_000)).json()
    assert list(body) == ["fullResultSize", "from", "count", "versionDigest", "values"]
    assert body["count"] == len(body["values"]) > 0
    assert body["versionDigest"] == "'If-None-Match' header not specified"


async def test_from_and_count_page_through_in_id_order() -> None:
    """Pages of 3 concatenate to the whole list, in id order, ending with a short page."""
    async with kit() as k:
        customers = k.fake.records(k.company, "customer")
        everything = [r["id"] for r in customers if not r["isInactive"]]
        seen: list[int] = []
        start = 0
        while True:
            values = (await k.get("/customer", **{"from": start, "count": 3})).json()["values"]
            seen += [v["id"] for v in values]
            start += 3
            if len(values) < 3:
                break
    assert seen == everything


async def test_count_above_10000_is_rejected() -> None:
    """count=10001 is a 422."""
    async with kit() as k:
        response = await k.get("/customer", count=10_001)
    assert response.status_code == 422


@pytest.mark.parametrize("mode", list(FullResultSize))
async def test_full_result_size_follows_the_configured_mode(mode: FullResultSize) -> None:
    """fullResultSize is exact, inexact (wrong) or zero as configured."""
    async with kit(FakeConfig(full_result_size=mode)) as k:
        body = (await k.get("/customer", count=1)).json()
        true = sum(not r["isInactive"] for r in k.fake.records(k.company, "customer"))
    expected = {FullResultSize.EXACT: true, FullResultSize.ZERO: 0}
    if mode is FullResultSize.INEXACT:
        assert body["fullResultSize"] != true
    else:
        assert body["fullResultSize"] == expected[mode]


async def test_missing_dates_are_422_15000_naming_both() -> None:
    """A dated resource without its dates is 422/15000 'Kan ikke være null.' per param."""
    async with kit() as k:
        response = await k.get("/invoice")
    body = response.json()
    assert (response.status_code, body["code"], body["message"]) == (
        422,
        15000,
        "Validation failed",
    )
    assert {m["field"] for m in body["validationMessages"]} == {
        "invoiceDateFrom",
        "invoiceDateTo",
    }
    assert body["validationMessages"][0]["message"] == "Kan ikke være null."


async def test_date_to_is_exclusive() -> None:
    """Postings dated exactly dateTo are not returned; those dated dateFrom are."""
    async with kit() as k:
        postings = k.fake.records(k.company, "ledger/posting")
        day = postings[len(postings) // 2]["date"]
        on_day = {p["id"] for p in postings if p["date"] == day}
        from datetime import date, timedelta

        nxt = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        got = (await k.get("/ledger/posting", dateFrom=day, dateTo=nxt, count=10_000)).json()
        before = (await k.get("/ledger/posting", dateFrom="2000-01-01", dateTo=day)).json()
    assert {v["id"] for v in got["values"]} == on_day
    assert not on_day & {v["id"] for v in before["values"]}


async def test_result_set_cap_applies_whatever_count_is() -> None:
    """A query matching more rows than the cap is 422/23000 even with count=1."""
    async with kit(FakeConfig(result_cap=1)) as k:
        response = await k.get("/customer", count=1)
    assert response.status_code == 422
    assert response.json()["code"] == 23000


@pytest.mark.parametrize("sorting", ["id", "-id", "-invoiceDate"])
async def test_sorting_orders_values(sorting: str) -> None:
    """sorting=id, -id and a date field order the values."""
    async with kit() as k:
        body = (
            await k.get(
                "/invoice",
                invoiceDateFrom="2000-01-01",
                invoiceDateTo="2100-01-01",
                sorting=sorting,
                count=10_000,
            )
        ).json()
    key = sorting.lstrip("-")
    values = [v[key] for v in body["values"]]
    assert values == sorted(values, reverse=sorting.startswith("-"))


async def test_unknown_query_parameters_are_ignored() -> None:
    """An unknown parameter changes nothing."""
    async with kit() as k:
        plain = (await k.get("/customer")).json()["values"]
        odd = (await k.get("/customer", customerOrganizationNumber="x")).json()["values"]
    assert plain == odd


async def test_changed_since_returns_only_changed_customers() -> None:
    """changedSince on /customer returns objects changed at or after that instant."""
    async with kit() as k:
        k.clock.advance(days=3650)
        await k.session()  # the first one expired meanwhile
        since = k.clock.now.isoformat()
        target = k.fake.records(k.company, "customer")[0]["id"]
        k.fake.update(k.company, "customer", target, {"name": "Endret Navn AS"})
        body = (await k.get("/customer", changedSince=since)).json()
    assert [v["id"] for v in body["values"]] == [target]


async def test_get_by_id_and_non_numeric_id() -> None:
    """GET /customer/{id} is a value envelope; a non-numeric id is 422/21000."""
    async with kit() as k:
        record = k.fake.records(k.company, "customer")[0]
        body = (await k.get(f"/customer/{record['id']}")).json()
        bad = await k.get("/customer/whoAmI")
    assert body["value"]["id"] == record["id"]
    assert (bad.status_code, bad.json()["code"]) == (422, 21000)


async def test_order_orderline_has_no_list_endpoint() -> None:
    """GET /order/orderline is Tripletex's 400/4000 'HTTP 405 Method Not Allowed'."""
    async with kit() as k:
        response = await k.get("/order/orderline")
    assert (response.status_code, response.json()["code"]) == (400, 4000)
