"""Simulator: every list endpoint of the registry is served, generated from its schema."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import msgspec
import pytest

from tripletex_async._spec import registry_json
from tripletex_async.models import LIST_MODELS
from tripletex_async.testing import FakeConfig, PortfolioConfig, generate_portfolio
from tripletex_async.testing._resources import MODEL_COLLECTIONS, RESOURCES, stored_resources
from tripletex_async.testing._schema import load_models

from .fakekit import PORTFOLIO, Kit, kit, refs

pytestmark = pytest.mark.anyio

#: Every endpoint of the registry that is not excluded, by name.
SERVED: dict[str, dict[str, Any]] = {
    e["name"]: e for e in json.loads(registry_json())["endpoints"] if e["kind"] != "excluded"
}
YEAR = {"from": "2025-01-01", "to": "2026-01-01"}
GENERATED = [r for r in stored_resources() if RESOURCES[r].generated]
CHILDREN = [n for n, e in SERVED.items() if e["kind"] == "child"]
SNAPSHOTS = [n for n, e in SERVED.items() if e["kind"] == "snapshot"]
DATED = [n for n, e in SERVED.items() if e["kind"] == "dated"]
#: Lists with a required query parameter (a path parameter cannot be left out).
REQUIRED = [
    n
    for n, e in SERVED.items()
    if e.get("date_params") or e.get("params") or (e["kind"] == "child" and "{" not in e["path"])
]
KEYED = [n for n, e in SERVED.items() if e.get("key")]
BY_ITEM_PATH = {RESOURCES[p].item_path: p for p in MODEL_COLLECTIONS.values()}


def _page_of(struct: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """A list envelope whose values are ``struct``s (every field required)."""
    fields = [("fullResultSize", int), ("count", int), ("versionDigest", str)]
    return msgspec.defstruct("Page", [*fields, ("values", list[struct])])  # type: ignore[valid-type]


def _resource(entry: dict[str, Any]) -> str:
    return str(entry["path"]).lstrip("/")


def _dates(entry: dict[str, Any]) -> dict[str, str]:
    names = entry.get("date_params") or []
    if len(names) == 1:
        return {names[0]: "2025-12-31"}
    return {name: YEAR[end] for name, end in zip(names, ("from", "to"), strict=False)}


def _url(entry: dict[str, Any], parent: int | None) -> str:
    path = str(entry["path"])
    if parent is not None and "{" in path:
        return path.replace("{" + entry["parent"]["param"] + "}", str(parent))
    return path


def _params(entry: dict[str, Any], parent: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {**_dates(entry), **entry.get("params", {}), "count": 10_000}
    if parent is not None and "{" not in entry["path"]:
        params[entry["parent"]["param"]] = parent
    return params


def _a_parent(k: Kit, entry: dict[str, Any]) -> int | None:
    """A parent of some child (None for a list that is not a child list)."""
    if entry["kind"] != "child":
        return None
    return next(iter(k.fake.portfolio.parent_ids(k.company, _resource(entry)).values()))


async def _list(k: Kit, name: str, parent: int | None = None, **extra: Any) -> Any:
    entry = SERVED[name]
    return await k.get(_url(entry, parent), **{**_params(entry, parent), **extra})


def _dotted(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("name", sorted(SERVED))
async def test_every_list_answers_records_its_struct_decodes(name: str) -> None:
    """Each served list answers 200 with records that decode strictly into its Struct."""
    async with kit() as k:
        response = await _list(k, name, _a_parent(k, SERVED[name]))
    assert response.status_code == 200, response.text
    page: Any = msgspec.json.decode(response.content, type=_page_of(LIST_MODELS[name]), strict=True)
    assert page.count == len(page.values) > 0


@pytest.mark.parametrize("name", sorted(REQUIRED))
async def test_required_parameters_missing_are_422_15000(name: str) -> None:
    """Without its dates, parent id or fixed flag a list is 422/15000 naming each one."""
    entry = SERVED[name]
    async with kit() as k:
        response = await k.get(entry["path"])
    body = response.json()
    assert (response.status_code, body["code"]) == (422, 15000)
    wanted = set(entry.get("date_params") or []) | set(entry.get("params", {}))
    if entry["kind"] == "child":
        wanted.add(entry["parent"]["param"])
    assert {m["field"] for m in body["validationMessages"]} == wanted


@pytest.mark.parametrize("name", CHILDREN)
async def test_child_list_answers_only_the_parents_children(name: str) -> None:
    """Asked per parent, a child list gives exactly that parent's children, and together
    every child once; every parent it names is in the parent list."""
    entry = SERVED[name]
    resource = _resource(entry)
    async with kit() as k:
        parents = [r["id"] for r in k.fake.records(k.company, entry["parent"]["path"][1:])]
        owner = k.fake.portfolio.parent_ids(k.company, resource)
        seen: list[int] = []
        for parent in parents:
            values = (await _list(k, name, parent)).json()["values"]
            assert {v["id"] for v in values} == {c for c, p in owner.items() if p == parent}
            seen += [v["id"] for v in values]
        everything = [r["id"] for r in k.fake.records(k.company, resource)]
    assert sorted(seen) == everything
    assert set(owner.values()) <= set(parents)


async def test_some_parents_have_no_children() -> None:
    """Child lists leave some parents without children."""
    childless = 0
    for name in CHILDREN:
        entry = SERVED[name]
        company = next(c for c in PORTFOLIO.company_ids() if PORTFOLIO.role(c) == "normal")
        parents = set(PORTFOLIO.id_range(company, entry["parent"]["path"][1:]))
        childless += len(parents - set(PORTFOLIO.parent_ids(company, _resource(entry)).values()))
    assert childless > 0


@pytest.mark.parametrize("name", DATED)
async def test_dated_list_filters_on_its_date_field(name: str) -> None:
    """A window answers exactly the records whose date field (dotted: of the record it
    refers to) lies in it."""
    entry = SERVED[name]
    resource, field = _resource(entry), entry["date_field"]
    lo_name, hi_name = entry["date_params"]
    async with kit() as k:
        records = k.fake.records(k.company, resource)
        head, _, rest = field.partition(".")
        if rest:
            target = load_models()[RESOURCES[resource].model].fields[head].target
            full = {r["id"]: r for r in k.fake.records(k.company, MODEL_COLLECTIONS[target or ""])}
            days = {r["id"]: full[r[head]["id"]][rest] if r[head] else "" for r in records}
        else:
            days = {r["id"]: r[field] for r in records}
        lo, hi = "2025-03-01", "2025-09-01"
        params = {lo_name: lo, hi_name: hi, **entry.get("params", {}), "count": 10_000}
        values = (await k.get(entry["path"], **params)).json()["values"]
    expected = {i for i, d in days.items() if lo <= d < hi}
    assert {v["id"] for v in values} == expected
    assert expected


@pytest.mark.parametrize("name", SNAPSHOTS)
async def test_snapshot_digest_is_stable_and_304s(name: str) -> None:
    """The same report asked again with its digest is 304 Not Modified."""
    entry = SERVED[name]
    async with kit() as k:
        params = _params(entry, None)
        first = await k.conditional(entry["path"], "x", **params)
        digest = first.json()["versionDigest"]
        again = await k.conditional(entry["path"], digest, **params)
    assert first.status_code == 200
    assert again.status_code == 304


@pytest.mark.parametrize("name", KEYED)
async def test_rows_without_id_have_unique_natural_keys(name: str) -> None:
    """Rows of a schema without id carry their natural key, unique within one answer."""
    entry = SERVED[name]
    async with kit() as k:
        values = (await _list(k, name)).json()["values"]
    keys = Counter(_dotted(v, entry["key"]) for v in values)
    assert values
    assert None not in keys
    assert max(keys.values()) == 1


async def test_balance_sheet_closing_balance_opens_the_next_period() -> None:
    """A period's balanceOut is the next period's balanceIn, per account."""
    async with kit() as k:
        first = (await k.get("/balanceSheet", dateFrom="2025-01-01", dateTo="2025-07-01")).json()
        second = (await k.get("/balanceSheet", dateFrom="2025-07-01", dateTo="2026-01-01")).json()
    out = {v["account"]["id"]: v["balanceOut"] for v in first["values"]}
    opening = {v["account"]["id"]: v["balanceIn"] for v in second["values"]}
    assert out == opening
    assert any(out.values())


async def test_inventories_accept_one_day_since_date_to_is_included() -> None:
    """dateFrom == dateTo is a one-day period for /inventory/inventories, a 422 elsewhere."""
    async with kit() as k:
        day: dict[str, Any] = {"dateFrom": "2025-05-05", "dateTo": "2025-05-05"}
        inventories = await k.get("/inventory/inventories", **day)
        balance = await k.get("/balanceSheet", **day)
    assert inventories.status_code == 200
    assert balance.status_code == 422


async def test_fields_subset_on_a_generated_list() -> None:
    """fields=id,fileName returns just those fields of a generated list."""
    async with kit() as k:
        values = (await k.get("/bank/statement", fields="id,fileName")).json()["values"]
    assert values
    assert all(set(v) == {"id", "fileName"} for v in values)


async def test_expanding_a_reference_into_a_generated_list() -> None:
    """fields=bankStatement(fileName) expands a child's parent from its collection."""
    async with kit() as k:
        statements = {r["id"]: r for r in k.fake.records(k.company, "bank/statement")}
        parent = next(iter(statements))
        transactions = await k.get(
            "/bank/statement/transaction",
            bankStatementId=parent,
            fields="id,bankStatement(fileName)",
        )
    for value in transactions.json()["values"]:
        assert value["bankStatement"] == {"fileName": statements[parent]["fileName"]}


async def test_checksum_304_on_a_generated_plain_list() -> None:
    """A generated plain list answers 304 to its own digest."""
    async with kit() as k:
        digest = (await k.conditional("/asset", "x")).json()["versionDigest"]
        again = await k.conditional("/asset", digest)
    assert again.status_code == 304


async def test_digest_is_the_same_in_another_simulator_of_the_same_config() -> None:
    """A rerun against a new simulator of the same config gets the same digests."""
    digests = []
    for _ in range(2):
        portfolio = generate_portfolio(
            PortfolioConfig(seed=11, companies=3, scale=0.03, heavy_companies=0)
        )
        async with kit(portfolio=portfolio) as k:
            response = await k.conditional("/travelExpense/zone", "x")
            digests.append(response.json()["versionDigest"])
    assert digests[0] == digests[1]


async def test_paging_through_a_generated_list() -> None:
    """from/count pages of a generated list concatenate to the whole list in id order."""
    async with kit() as k:
        everything = [r["id"] for r in k.fake.records(k.company, "asset")]
        seen: list[int] = []
        for start in range(0, len(everything) + 2, 2):
            values = (await k.get("/asset", **{"from": start, "count": 2})).json()["values"]
            seen += [v["id"] for v in values]
    assert seen == everything


async def test_result_cap_applies_to_generated_lists() -> None:
    """A generated list matching more rows than the cap is 422/23000."""
    async with kit(FakeConfig(result_cap=1)) as k:
        response = await k.get("/asset", count=1)
    assert (response.status_code, response.json()["code"]) == (422, 23000)


async def test_modules_off_forbid_generated_lists_too() -> None:
    """A company without the travel module gets 403/9000 on travel lists, path-param ones
    included."""
    company = next(c for c in PORTFOLIO.company_ids() if PORTFOLIO.role(c) == "normal")
    config = FakeConfig(modules_off={company: frozenset({"travelExpense"})})
    async with kit(config) as k:
        zone = await k.get("/travelExpense/zone")
        participants = await k.get("/travelExpense/costParticipant/1/costParticipants")
    assert (zone.status_code, zone.json()["code"]) == (403, 9000)
    assert participants.status_code == 403


@pytest.mark.parametrize("resource", GENERATED)
def test_generated_references_name_existing_records(resource: str) -> None:
    """Every reference in a generated record names a record of the same company."""
    for company in PORTFOLIO.company_ids():
        for record in PORTFOLIO.records(company, resource):
            for ref in refs({k: v for k, v in record.items() if k != "changes"}):
                path = BY_ITEM_PATH[ref["url"].split("/v2/", 1)[1].rsplit("/", 1)[0]]
                assert ref["id"] in PORTFOLIO.id_range(company, path), (resource, ref)


def test_generated_records_are_the_same_for_the_same_config() -> None:
    """Two portfolios of one config generate the same records, in any order asked."""
    config = PortfolioConfig(seed=11, companies=3, scale=0.03, heavy_companies=0)
    first, second = generate_portfolio(config), generate_portfolio(config)
    keys = [(c, r) for c in first.company_ids() for r in GENERATED]
    one = {key: first.records(*key) for key in keys}
    other = {key: second.records(*key) for key in reversed(keys)}
    assert one == other


def test_generated_ids_are_unique_and_below_created_ids() -> None:
    """Generated ids never repeat across collections' companies and stay below 2e9."""
    for resource in (r for r in GENERATED if RESOURCES[r].key is None):
        ids = [r["id"] for c in PORTFOLIO.company_ids() for r in PORTFOLIO.records(c, resource)]
        assert len(ids) == len(set(ids)), resource
        assert all(0 < i < 2_000_000_000 for i in ids)
