"""Simulator: the query filters of list endpoints (issue 19): applied before paging and
checksums, reported when not applied, ignored when unknown."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tripletex_async._spec import registry_json
from tripletex_async.engine._resources import RESOURCES as ENGINE_RESOURCES
from tripletex_async.testing import PortfolioConfig, generate_portfolio
from tripletex_async.testing._filters import (
    UNAPPLIED_HEADER,
    FilterSpec,
    filter_specs,
    parse_filters,
)
from tripletex_async.testing._resources import RESOURCES

from .fakekit import Kit, kit

pytestmark = pytest.mark.anyio

#: One company with enough rows that every filter of the issue has both kinds of rows.
FILTERING = generate_portfolio(
    PortfolioConfig(
        seed=7,
        companies=1,
        empty_companies=0,
        heavy_companies=0,
        scale=0.05,
        sizes={"customer": 120, "order": 200, "product": 80, "project": 60},
    )
)
EVER: dict[str, Any] = {"orderDateFrom": "2000-01-01", "orderDateTo": "2100-01-01"}
SERVED: dict[str, dict[str, Any]] = {
    e["path"].lstrip("/"): e
    for e in json.loads(registry_json())["endpoints"]
    if e["kind"] != "excluded"
}
APPLIED = ("equals", "ref_equals", "ids", "containing", "range_from", "range_to", "boolean")
#: Served lists with at least one filter the simulator applies.
FILTERED = sorted(
    path
    for path in SERVED
    if any(s.kind in APPLIED for s in filter_specs(path, RESOURCES[path].id_param).values())
)


async def _values(k: Kit, path: str, **params: Any) -> list[dict[str, Any]]:
    response = await k.get(f"/{path}", count=10_000, **params)
    assert response.status_code == 200, response.text
    assert UNAPPLIED_HEADER.lower() not in response.headers
    values: list[dict[str, Any]] = response.json()["values"]
    return values


def _ids(values: list[dict[str, Any]]) -> list[int]:
    return [v["id"] for v in values]


async def test_is_closed_false_lists_only_open_orders() -> None:
    """/order?isClosed=false leaves out closed orders, and =true lists only them."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "order", **EVER)
        assert {v["isClosed"] for v in every} == {True, False}
        open_ = await _values(k, "order", isClosed="false", **EVER)
        closed = await _values(k, "order", isClosed="TRUE", **EVER)
    assert _ids(open_) == [v["id"] for v in every if not v["isClosed"]]
    assert _ids(closed) == [v["id"] for v in every if v["isClosed"]]


async def test_customer_id_lists_only_that_customers_orders() -> None:
    """/order?customerId=X lists the orders of customer X only."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "order", **EVER)
        customer = every[0]["customer"]["id"]
        got = await _values(k, "order", customerId=customer, **EVER)
    assert _ids(got) == [v["id"] for v in every if v["customer"]["id"] == customer]
    assert len(got) < len(every)


async def test_organization_number_finds_the_customer() -> None:
    """/customer?organizationNumber= lists the customers with exactly that number."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "customer")
        target = [v for v in every if v["organizationNumber"]][3]
        number = target["organizationNumber"]
        got = await _values(k, "customer", organizationNumber=number)
    assert _ids(got) == [v["id"] for v in every if v["organizationNumber"] == number]
    assert target["id"] in _ids(got)


async def test_customer_name_is_a_case_insensitive_containing() -> None:
    """/customer?customerName= lists the customers whose name contains it, in any case."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "customer")
        part = every[5]["name"][1:5]
        got = await _values(k, "customer", customerName=part.upper())
    assert _ids(got) == [v["id"] for v in every if part.lower() in v["name"].lower()]
    assert 0 < len(got) < len(every)


@pytest.mark.parametrize(("path", "number"), [("ledger/account", "1920"), ("ledger/vatType", "3")])
async def test_number_lists_only_that_number(path: str, number: str) -> None:
    """/ledger/account?number=1920 and /ledger/vatType?number=3 list that one row."""
    async with kit(portfolio=FILTERING) as k:
        got = await _values(k, path, number=number)
    assert [str(v["number"]) for v in got] == [number]


async def test_a_list_of_ids_matches_any_of_them() -> None:
    """/order?customerId=a,b lists the orders of either customer."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "order", **EVER)
        wanted = sorted({v["customer"]["id"] for v in every})[:2]
        got = await _values(k, "order", customerId=f"{wanted[0]}, {wanted[1]}", **EVER)
    assert _ids(got) == [v["id"] for v in every if v["customer"]["id"] in wanted]


async def test_a_range_includes_from_and_excludes_to() -> None:
    """/product?priceExcludingVatCurrencyFrom=a&...To=b lists a <= price < b."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "product")
        prices = sorted(v["priceExcludingVatCurrency"] for v in every)
        lo, hi = prices[len(prices) // 4], prices[3 * len(prices) // 4]
        got = await _values(
            k, "product", priceExcludingVatCurrencyFrom=lo, priceExcludingVatCurrencyTo=hi
        )
    expected = [v["id"] for v in every if lo <= v["priceExcludingVatCurrency"] < hi]
    assert _ids(got) == expected
    assert expected


async def test_containing_matches_a_substring_of_the_field() -> None:
    """/product?name= lists the products whose name contains the text."""
    async with kit(portfolio=FILTERING) as k:
        every = await _values(k, "product")
        part = every[0]["name"][-4:].lower()
        got = await _values(k, "product", name=part)
    assert _ids(got) == [v["id"] for v in every if part in v["name"].lower()]


async def test_filters_apply_before_paging() -> None:
    """Pages of a filtered list concatenate to the filtered list."""
    async with kit(portfolio=FILTERING) as k:
        whole = _ids(await _values(k, "order", isClosed="false", **EVER))
        pages: list[int] = []
        for start in range(0, len(whole) + 7, 7):
            params: dict[str, Any] = {"from": start, "count": 7, "isClosed": "false", **EVER}
            pages += _ids((await k.get("/order", **params)).json()["values"])
    assert pages == whole


async def test_an_unapplied_filter_is_named_in_a_header_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A known filter the simulator cannot apply gets X-Simulator-Unapplied-Filters and a
    WARNING of the tripletex_async.testing logger; the rows are the unfiltered ones."""
    async with kit(portfolio=FILTERING) as k:
        every = await k.get("/employee", count=10_000)
        with caplog.at_level(logging.WARNING, logger="tripletex_async.testing"):
            got = await k.get(
                "/employee", count=10_000, onlyProjectManagers="true", hasSystemAccess="true"
            )
    assert got.headers[UNAPPLIED_HEADER] == "hasSystemAccess,onlyProjectManagers"
    assert got.json()["values"] == every.json()["values"]
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "onlyProjectManagers" in caplog.records[0].getMessage()


async def test_an_unapplied_filter_at_its_noop_value_is_not_reported() -> None:
    """withDeviationOnly=false (the spec's default) asks for what the simulator answers."""
    async with kit(portfolio=FILTERING) as k:
        response = await k.get("/purchaseOrder", withDeviationOnly="false")
    assert response.status_code == 200
    assert UNAPPLIED_HEADER.lower() not in response.headers


async def test_unknown_parameters_are_ignored_without_a_header() -> None:
    """A parameter the spec does not give the list changes nothing and is not reported."""
    async with kit(portfolio=FILTERING) as k:
        plain = await k.get("/customer")
        odd = await k.get("/customer", invoiceStatus="UNPAID")
    assert odd.json()["values"] == plain.json()["values"]
    assert UNAPPLIED_HEADER.lower() not in odd.headers


async def test_a_filtered_and_an_unfiltered_query_never_share_a_checksum() -> None:
    """Even a filter every row passes gives its own versionDigest, and a digest of one
    query does not answer 304 to the other."""
    async with kit(portfolio=FILTERING) as k:
        digest = (await k.conditional("/ledger/vatType", "x")).json()["versionDigest"]
        matching_all = await k.conditional("/ledger/vatType", digest, name="")
        assert matching_all.status_code == 304  # an empty value filters nothing
        every_row = await k.conditional("/customer", "x")
        ids = ",".join(str(v["id"]) for v in every_row.json()["values"])
        digest = every_row.json()["versionDigest"]
        same_rows = await k.conditional("/customer", digest, accountManagerId="", email="")
        assert same_rows.status_code == 304
        filtered = await k.conditional("/customer", digest, customerAccountNumber="0," + ids)
        assert filtered.status_code == 200
        assert filtered.json()["versionDigest"] != digest


async def test_a_filtered_page_is_not_served_from_the_unfiltered_cache() -> None:
    """The page cache keys on the filters: the same page with and without differs."""
    async with kit(portfolio=FILTERING) as k:
        first = await _values(k, "order", **EVER)
        closed = await _values(k, "order", isClosed="true", **EVER)
        again = await _values(k, "order", **EVER)
    assert first == again
    assert closed != first


async def test_a_malformed_number_is_422() -> None:
    """A number filter that is not a number is 422 'Wrong data format', as Tripletex."""
    async with kit(portfolio=FILTERING) as k:
        response = await k.get("/order", customerId="abc", **EVER)
    assert response.status_code == 422
    assert "Wrong data format" in response.text


async def test_hidden_defaults_stay_with_hidden() -> None:
    """isInactive on /customer is still `_hidden`'s: its default hides inactive ones."""
    async with kit(portfolio=FILTERING) as k:
        shown = await _values(k, "customer")
        inactive = await _values(k, "customer", isInactive="true")
    assert not any(v["isInactive"] for v in shown)
    assert all(v["isInactive"] for v in inactive)


@pytest.mark.parametrize("resource", sorted(ENGINE_RESOURCES))
def test_a_syncs_own_parameters_are_never_reported_unapplied(resource: str) -> None:
    """What the engine sends (fixed params, partitions) is applied or a no-op: a sync
    against the simulator logs no unapplied-filter warning."""
    synced = ENGINE_RESOURCES[resource]
    info = RESOURCES[synced.path.lstrip("/")]
    for partition in synced.partitions:
        _, unapplied = parse_filters(info, {**synced.params, **partition.params})
        assert unapplied == (), partition.name


# -- every applied filter of every served list -----------------------------------------


def _required(k: Kit, path: str) -> tuple[str, dict[str, Any]] | None:
    """The URL and required params of a list (None: a child list without children)."""
    entry, url = SERVED[path], "/" + path
    params: dict[str, Any] = {**entry.get("params", {})}
    names = entry.get("date_params") or []
    if len(names) == 1:
        params[names[0]] = "2025-12-31"
    elif names:
        params.update(dict(zip(names, ("2000-01-01", "2100-01-01"), strict=True)))
    if entry["kind"] == "child":
        parents = k.fake.portfolio.parent_ids(k.company, path)
        if not parents:
            return None
        parent, param = next(iter(parents.values())), entry["parent"]["param"]
        if "{" + param + "}" in url:
            url = url.replace("{" + param + "}", str(parent))
        else:
            params[param] = parent
    return url, params


def _get(row: dict[str, Any], field: str) -> Any:
    for step in field.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(step)  # type: ignore[assignment]
    return row


def _case(
    spec: FilterSpec, rows: list[dict[str, Any]]
) -> tuple[str, Callable[[dict[str, Any]], bool]] | None:
    """A query value for ``spec`` taken from ``rows``, and which rows it should admit."""
    # An empty value filters nothing (as ``id=``), so it is no test of a filter.
    values = [v for v in (_get(r, spec.field) for r in rows) if v not in (None, "")]
    if not values or (spec.match_all and values[0] == spec.match_all):
        return None
    first, field = values[0], spec.field
    if spec.kind == "boolean":
        wanted = True if spec.only_true else bool(first)
        return str(wanted).lower(), lambda r: bool(_get(r, field)) is wanted
    if spec.kind == "containing":
        part = str(first)[1:4]
        return part.upper(), lambda r: part.lower() in str(_get(r, field) or "").lower()
    if spec.kind == "ids":
        both = {first, values[-1]}
        return ",".join(map(str, both)), lambda r: _get(r, field) in both
    if spec.kind == "range_from":
        return str(first), lambda r: (v := _get(r, field)) is not None and v >= first
    if spec.kind == "range_to":
        if spec.inclusive:
            return str(first), lambda r: (v := _get(r, field)) is not None and v <= first
        return str(first), lambda r: (v := _get(r, field)) is not None and v < first
    return str(first), lambda r: _get(r, field) == first


@pytest.mark.parametrize("path", FILTERED)
async def test_every_applied_filter_selects_the_rows_it_names(path: str) -> None:
    """Each applied filter of the list, with a value from its rows, answers exactly the
    rows of the unfiltered list that the filter admits."""
    async with kit() as k:
        found = _required(k, path)
        if found is None:
            pytest.skip(f"{path}: no parent with children in the portfolio")
        url, params = found
        every = (await k.get(url, count=10_000, **params)).json()["values"]
        for name, spec in filter_specs(path, RESOURCES[path].id_param).items():
            case = _case(spec, every) if spec.kind in APPLIED else None
            if case is None:
                continue
            value, admits = case
            query: dict[str, Any] = {**params, name: value}
            response = await k.get(url, count=10_000, **query)
            assert response.status_code == 200, (name, response.text)
            assert response.json()["values"] == [r for r in every if admits(r)], name
