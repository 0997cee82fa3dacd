"""The simulator's data agrees with Tripletex's OpenAPI spec.

``models.json`` must be what the code generator makes of the spec today, and generated
records must validate against the spec itself (not against our distillation of it), so
a mistake in the generator cannot hide a mistake in the records.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tools import distil_spec
from tripletex_async._spec import models_json
from tripletex_async.testing._portfolio import Portfolio, PortfolioConfig, generate_portfolio
from tripletex_async.testing._resources import (
    CORE_RESOURCES,
    MODEL_COLLECTIONS,
    RESOURCES,
    stored_resources,
)
from tripletex_async.testing._schema import list_envelopes, load_models

from ..conftest import SPEC_PATH

HOST = "api-test.tripletex.tech"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SAMPLE = 40
#: Collection by the path of its records' urls (``travelExpense/costParticipant``).
BY_ITEM_PATH = {RESOURCES[p].item_path: p for p in MODEL_COLLECTIONS.values()}


@pytest.fixture(scope="module")
def schemas(spec: dict[str, Any]) -> Mapping[str, Any]:
    return spec["components"]["schemas"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate_portfolio(
        PortfolioConfig(seed=7, companies=3, scale=0.1, heavy_companies=0, host=HOST)
    )


# -- a tiny validator against the real spec -----------------------------------------------


def _target(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def validate(value: Any, model: str, schemas: Mapping[str, Any], path: str) -> Iterator[str]:
    """Every way in which ``value`` is not a valid ``model`` object (empty if valid)."""
    if not isinstance(value, dict):
        yield f"{path}: expected an object, got {type(value).__name__}"
        return
    props = schemas[model].get("properties", {})
    for name, field_value in value.items():
        if name not in props:
            yield f"{path}.{name}: not a field of {model}"
        else:
            yield from _check(field_value, props[name], schemas, f"{path}.{name}")


def _check(
    value: Any, prop: Mapping[str, Any], schemas: Mapping[str, Any], path: str
) -> Iterator[str]:
    if value is None:
        return  # Tripletex sends null for anything unset
    target = _target(prop)
    if target is not None:
        yield from _check_ref(value, target, schemas, path)
        return
    kind = prop.get("type")
    if kind == "array":
        if not isinstance(value, list):
            yield f"{path}: expected an array"
            return
        for i, item in enumerate(value):
            yield from _check(item, prop.get("items", {}), schemas, f"{path}[{i}]")
        return
    yield from _check_scalar(value, kind, prop, path)


def _check_ref(value: Any, target: str, schemas: Mapping[str, Any], path: str) -> Iterator[str]:
    if "id" not in schemas[target].get("properties", {}):
        # Objects without an id (Change) are embedded in full.
        yield from validate(value, target, schemas, path)
        return
    if not isinstance(value, dict) or set(value) != {"id", "url"}:
        yield f"{path}: a reference must be exactly {{id, url}}, got {value!r}"
        return
    if type(value["id"]) is not int or not isinstance(value["url"], str):
        yield f"{path}: reference id must be int and url str"
        return
    collection = MODEL_COLLECTIONS.get(target)
    if collection is None:
        yield f"{path}: refers to {target}, which the simulator does not store"
        return
    item_path = RESOURCES[collection].item_path
    if value["url"] != f"{HOST}/v2/{item_path}/{value['id']}":
        yield f"{path}: url {value['url']!r} does not name {item_path}/{value['id']}"


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
}


def _check_scalar(value: Any, kind: Any, prop: Mapping[str, Any], path: str) -> Iterator[str]:
    expected = _PY_TYPES.get(str(kind))
    if expected is None:
        yield f"{path}: spec type {kind!r} not understood by the validator"
        return
    # bool is an int subclass; a boolean where a number belongs is still wrong.
    if type(value) not in expected or (kind != "boolean" and type(value) is bool):
        yield f"{path}: {value!r} is not {kind}"
        return
    if "enum" in prop and value not in prop["enum"]:
        yield f"{path}: {value!r} not in enum {prop['enum']}"
    name = path.rsplit(".", 1)[-1]
    is_date = name == "date" or name.endswith("Date")
    if is_date and isinstance(value, str) and value and not DATE.match(value):
        yield f"{path}: {value!r} is not YYYY-MM-DD"


def _sample(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records[:SAMPLE] + records[-SAMPLE:]


def _normal_company(portfolio: Portfolio) -> int:
    return next(c for c in portfolio.company_ids() if portfolio.role(c) == "normal")


# -- tests ----------------------------------------------------------------------------------


def test_models_json_is_generated_from_the_current_spec(spec: dict[str, Any]) -> None:
    """_spec/models.json equals what the distiller makes of the spec (rerun it if not)."""
    text = models_json().decode("utf-8")
    assert text == distil_spec.render(distil_spec.build(spec)), (
        "models.json is stale: run python -m tools.distil_spec " + str(SPEC_PATH)
    )


def test_models_cover_every_resource_model_and_list_envelope() -> None:
    """The loader knows every resource model and the list envelope of every listable one."""
    models, envelopes = load_models(), list_envelopes()
    for info in RESOURCES.values():
        assert info.model in models
        if info.listable and not info.generated:
            assert "values" in envelopes[info.list_schema]
    assert "totalNumberOfPostings" in envelopes["VoucherSearchResponse"]
    assert "sumAllHours" in envelopes["TimesheetEntrySearchResponse"]


@pytest.mark.parametrize("resource", stored_resources())
def test_records_validate_against_the_spec(
    resource: str, portfolio: Portfolio, schemas: Mapping[str, Any]
) -> None:
    """A sample of each resource's records has only spec fields, of the spec's types."""
    model = RESOURCES[resource].model
    records = _sample(portfolio.records(_normal_company(portfolio), resource))
    assert records
    errors = [
        e
        for i, r in enumerate(records)
        for e in validate(r, model, schemas, f"{resource}/{r.get('id', i)}")
    ]
    assert errors == []


@pytest.mark.parametrize("resource", stored_resources())
def test_records_carry_every_field_of_their_model(
    resource: str, portfolio: Portfolio, schemas: Mapping[str, Any]
) -> None:
    """Records are full objects: every field of the spec model, hand-built ones in the
    spec's order (generated ones have id, version, changes, url first, then the rest
    sorted: the packaged models do not keep the spec's order)."""
    expected = list(schemas[RESOURCES[resource].model]["properties"])
    for record in _sample(portfolio.records(_normal_company(portfolio), resource)):
        if resource in CORE_RESOURCES:
            assert list(record) == expected
        else:
            assert sorted(record) == sorted(expected)


_KIND_TYPES: dict[str, type] = {"ref": dict, "array": list, "ref_array": list}


@pytest.mark.parametrize("resource", stored_resources())
def test_records_agree_with_the_packaged_models(resource: str, portfolio: Portfolio) -> None:
    """Records fit models.json too (so the simulator's own view holds without the spec)."""
    model = load_models()[RESOURCES[resource].model]
    for record in _sample(portfolio.records(_normal_company(portfolio), resource)):
        for name, value in record.items():
            info = model.field(name)
            assert info is not None, name
            if value is None:
                continue
            if info.kind in _KIND_TYPES:
                assert isinstance(value, _KIND_TYPES[info.kind]), name
            else:
                assert type(value) in _PY_TYPES[info.type.split(":")[0]], name
            if info.enum is not None and info.kind == "scalar":
                assert value in info.enum, name


def test_model_schema_answers_field_lookups() -> None:
    """ModelSchema.field gives a field's kind, type, target and read-only flag, or None."""
    customer = load_models()["Customer"]
    assert customer.field("nosuch") is None
    postal = customer.field("postalAddress")
    assert postal is not None
    assert (postal.kind, postal.type, postal.target) == ("ref", "object", "Address")
    identity = customer.field("id")
    assert identity is not None
    assert (identity.kind, identity.type, identity.read_only) == ("scalar", "integer:int64", False)
    changes = customer.field("changes")
    assert changes is not None
    assert (changes.kind, changes.target, changes.read_only) == ("ref_array", "Change", True)


def test_clients_and_accountant_validate_against_the_spec(
    portfolio: Portfolio, schemas: Mapping[str, Any]
) -> None:
    """Client objects are valid ``Client``s and the accountant a valid ``Company``."""
    errors = [e for c in portfolio.clients for e in validate(c, "Client", schemas, "client")]
    errors += list(validate(portfolio.accountant, "Company", schemas, "accountant"))
    assert errors == []


def test_records_are_json_ready(portfolio: Portfolio) -> None:
    """Records survive a JSON round trip unchanged (only JSON types inside)."""
    company = _normal_company(portfolio)
    for resource in stored_resources():
        records = _sample(portfolio.records(company, resource))
        assert json.loads(json.dumps(records)) == records


def test_money_has_at_most_two_decimals(portfolio: Portfolio) -> None:
    """Amounts and prices are rounded to øre."""
    company = _normal_company(portfolio)
    for resource in ("invoice", "ledger/posting", "order/orderline", "product"):
        for record in portfolio.records(company, resource):
            for name, value in record.items():
                if type(value) is float:
                    assert round(value, 2) == value, (resource, name, value)


def test_validator_rejects_wrong_values(schemas: Mapping[str, Any]) -> None:
    """The validator itself catches unknown fields, wrong types, bad refs and enums."""
    bad = {
        "nosuch": 1,
        "name": 5,
        "isInactive": 1,
        "language": "SV",
        "currency": {"id": "1", "url": "x"},
        "customerNumber": 1.5,
    }
    errors = list(validate(bad, "Customer", schemas, "c"))
    assert len(errors) == len(bad)


@pytest.mark.parametrize("size", [0, 1])
def test_extreme_sizes_still_validate(size: int, schemas: Mapping[str, Any]) -> None:
    """With every overridable size at 0 or 1, records stay valid and references exist."""
    sizes = {r: size for r in CORE_RESOURCES if r not in ("address", "order", "ledger/voucher")}
    config = PortfolioConfig(companies=1, empty_companies=0, heavy_companies=0, sizes=sizes)
    portfolio = generate_portfolio(config)
    company = portfolio.company_ids()[0]
    for resource in stored_resources():
        for record in portfolio.records(company, resource):
            assert list(validate(record, RESOURCES[resource].model, schemas, resource)) == []
            for ref in _refs(record):
                path = BY_ITEM_PATH[ref["url"].split("/v2/", 1)[1].rsplit("/", 1)[0]]
                assert ref["id"] in portfolio.id_range(company, path)


def _refs(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The top-level references of a record (single and in arrays)."""
    for value in record.values():
        items = value if isinstance(value, list) else [value]
        yield from (v for v in items if isinstance(v, dict) and set(v) == {"id", "url"})
