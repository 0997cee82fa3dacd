"""Rows Tripletex hides unless asked (inactive customers and suppliers, closed projects,
contacts among employees) are synced like every other row, and the spec's every row-hiding
default of a synced resource is accounted for."""

from __future__ import annotations

from typing import Any

import pytest

from tripletex_async import sync
from tripletex_async.engine._registry import by_name
from tripletex_async.engine._resources import RESOURCES, WHOLE
from tripletex_async.sinks import MemorySink
from tripletex_async.testing import FakeTripletex

from ..client.conftest import MakeClient
from ..expectations import FROM, TO, expected, stored

pytestmark = pytest.mark.anyio

#: Every boolean query parameter with a default of a synced list endpoint, and how the
#: engine gets every row despite it. A new synced resource with such a parameter fails
#: `test_every_row_hiding_default_is_accounted_for` until it is listed here.
COVERAGE: dict[tuple[str, str], str] = {
    ("customer", "isInactive"): "partition",  # default false hides inactive customers
    ("supplier", "isInactive"): "partition",
    ("employee", "includeContacts"): "sent true",  # true: employees and contacts alike
    ("employee", "onlyContacts"): "default kept",  # false restricts nothing
    # "If isClosed is false, include projects that have been closed within the last 3
    # months": closed projects are fetched by isClosed=true instead.
    ("project", "includeRecentlyClosed"): "partition isClosed",
    # Goods receipts without a purchase order are a query of their own.
    ("purchaseOrder/goodsReceipt", "withoutPurchase"): "partition",
    ("purchaseOrder", "withDeviationOnly"): "default kept",  # false restricts nothing
    ("supplierInvoice/forApproval", "showAll"): "sent true",  # false: only the token's own
    ("ledger/voucher/nonPosted", "includeNonApproved"): "sent true",
    ("balanceSheet", "includeActiveAccountsWithoutMovements"): "sent true",
    ("balanceSheet", "includeSubProjects"): "default kept",  # only with a projectId
    ("inventory/inventories", "onlyProductWithChangedStatus"): "default kept",
    ("municipality", "includePayrollTaxZones"): "default kept",  # true: the fuller list
}


def _param(spec: dict[str, Any], param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param:
        resolved: dict[str, Any] = spec["components"]["parameters"][param["$ref"].split("/")[-1]]
        return resolved
    return param


def test_every_row_hiding_default_is_accounted_for(spec: dict[str, Any]) -> None:
    """Each boolean parameter with a default, of each synced endpoint, is in COVERAGE, and
    the resource really does what COVERAGE says."""
    found = set()
    for name in RESOURCES:
        for param in spec["paths"][by_name()[name].path]["get"].get("parameters", []):
            param = _param(spec, param)
            schema = param.get("schema", {})
            if schema.get("type") == "boolean" and schema.get("default") is not None:
                found.add((name, param["name"]))
    assert found == set(COVERAGE)
    for (name, param), how in COVERAGE.items():
        resource = RESOURCES[name]
        if how == "partition":
            assert {p.name for p in resource.partitions} == {f"{param}=false", f"{param}=true"}
        elif how.startswith("partition "):
            other = how.split()[1]
            assert {p.name for p in resource.partitions} == {f"{other}=false", f"{other}=true"}
        elif how == "sent true":
            assert resource.params[param] == "true"
        else:
            assert param not in resource.params
            assert resource.partitions == (WHOLE,)


async def _sync(make_client: MakeClient, sink: MemorySink, resources: list[str]) -> Any:
    async with make_client() as client:
        report = await sync(
            client, sink, companies="all", resources=resources, date_from=FROM, date_to=TO
        )
    assert report.ok, report.to_dict()["total"]["errors"]
    return report


async def test_inactive_customers_suppliers_and_closed_projects_are_synced(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """What the simulator hides by default, as Tripletex does, still lands in the sink."""
    sink = MemorySink()
    names = ["customer", "supplier", "project", "employee"]
    await _sync(make_client, sink, names)
    hidden = 0
    for name, flag, value in (
        ("customer", "isInactive", True),
        ("supplier", "isInactive", True),
        ("project", "isClosed", True),
    ):
        records = await sink.read(name)
        for company in companies:
            assert stored(records, company) == expected(fake, company, name), name
            hidden += sum(1 for r in fake.records(company, name) if r.get(flag) is value)
    assert hidden > 0  # the portfolio has such rows: the test could fail


async def test_customer_turned_inactive_is_kept_with_its_change(
    make_client: MakeClient, fake: FakeTripletex, companies: list[int]
) -> None:
    """A customer made inactive between runs moves partitions: it stays in the sink, changed."""
    sink = MemorySink()
    await _sync(make_client, sink, ["customer"])
    company = next(c for c in companies if fake.records(c, "customer"))
    active = next(r for r in fake.records(company, "customer") if not r.get("isInactive"))
    fake.update(company, "customer", active["id"], {"isInactive": True})
    await _sync(make_client, sink, ["customer"])
    assert stored(await sink.read("customer"), company) == expected(fake, company, "customer")
    assert stored(await sink.read("customer"), company)[active["id"]]["isInactive"] is True
