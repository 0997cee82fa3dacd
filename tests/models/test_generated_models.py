"""The generated resource Structs: no drift, the typing rules, the spec, the simulator."""

from __future__ import annotations

import gc
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec import UNSET, UnsetType

import tripletex_async.models
from tools import gen_models
from tripletex_async import DEFAULT_RESOURCES as ENGINE_RESOURCES
from tripletex_async import TripletexClient
from tripletex_async._spec import models_json
from tripletex_async.models import (
    LIST_MODELS,
    MODELS,
    Customer,
    DateText,
    Employee,
    Invoice,
    Order,
    OrderLine,
    Posting,
    Ref,
    _generated,
)
from tripletex_async.testing import (
    RESOURCES,
    FakeTransport,
    FakeTripletex,
    Portfolio,
    PortfolioConfig,
    generate_portfolio,
)

PACKAGE = Path(tripletex_async.models.__file__).parent
DATA: dict[str, Any] = json.loads(models_json())

#: Every generated Struct by class name (the resources' and OrderLine).
STRUCTS: dict[str, type[msgspec.Struct]] = {
    name: value
    for name, value in vars(_generated).items()
    if isinstance(value, type) and issubclass(value, msgspec.Struct) and value is not Ref
}

#: The sync engine's resources (API paths): the engine's registry, the one list.
ENGINE_PATHS = list(ENGINE_RESOURCES)


def _fields(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """Field name -> resolved annotation."""
    return {f.name: f.type for f in msgspec.structs.fields(struct)}


def _expected(model: str, field: str) -> Any:
    """The annotation the rules give ``model.field``, written out independently."""
    kind, spec_type, target, _ = DATA["models"][model][field]
    scalar = {"integer": int, "number": Decimal, "boolean": bool, "string": str}.get(
        spec_type.split(":")[0], dict[str, Any]
    )
    if kind == "scalar":
        is_date = field == "date" or field.endswith("Date") or field.startswith("dateOf")
        inner: Any = DateText if scalar is str and is_date else scalar
    elif kind == "array":
        inner = list[scalar]  # type: ignore[valid-type]
    elif (model, field) == ("Order", "orderLines"):
        inner = list[OrderLine]
    else:
        # A schema without an id is a value object embedded whole, not a reference.
        one: Any = Ref if "id" in DATA["models"][target] else dict[str, Any]
        inner = one if kind == "ref" else list[one]
    return inner | UnsetType | None


def _builtins(value: Any) -> Any:
    """``value`` as JSON values, decimals as the numbers they were."""
    return msgspec.json.decode(_NUMBERS.encode(value))


_NUMBERS = msgspec.json.Encoder(decimal_format="number")


def _isort_key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """A small portfolio (the same shape the simulator tests use)."""
    return generate_portfolio(PortfolioConfig(seed=11, companies=3, scale=0.03, heavy_companies=0))


@pytest.fixture(scope="module")
def company(portfolio: Portfolio) -> int:
    """A client company holding at least one record of every engine resource."""
    for client in portfolio.clients:
        if all(portfolio.count(client["id"], path) > 0 for path in MODELS):
            return int(client["id"])
    raise AssertionError("no company has every resource")


# -- the generated file ----------------------------------------------------------------


def test_committed_file_matches_render() -> None:
    """_generated.py is exactly what the generator renders from models.json (no drift)."""
    committed = (PACKAGE / "_generated.py").read_text(encoding="utf-8")
    assert committed == gen_models.render(), "run: python -m tools.gen_models"


def test_header_names_command_and_spec_version() -> None:
    """The header says it is generated, by which command, from which spec version."""
    head = (PACKAGE / "_generated.py").read_text(encoding="utf-8").splitlines()[:3]
    assert "python -m tools.gen_models" in head[0]
    assert DATA["spec_version"] in head[1]
    assert DATA["spec_version"] == _generated.SPEC_VERSION


def test_models_maps_every_engine_path_to_its_schema_struct() -> None:
    """MODELS maps each engine resource path, in the registry's order, to the Struct
    named after its spec schema; the generator writes exactly those."""
    assert list(MODELS) == ENGINE_PATHS == list(gen_models.RESOURCE_PATHS)
    assert {path: s.__name__ for path, s in MODELS.items()} == {
        path: RESOURCES[path].model for path in ENGINE_PATHS
    }


def test_one_struct_per_resource_plus_order_line() -> None:
    """The generated Structs are the record models of the resources and of every list
    endpoint classified for syncing, and OrderLine, nothing else."""
    resources = {s.__name__ for s in MODELS.values()} | {"OrderLine"}
    assert set(STRUCTS) == resources | {s.__name__ for s in LIST_MODELS.values()}
    assert all(LIST_MODELS[path] is struct for path, struct in MODELS.items())


def test_package_reexports_every_struct() -> None:
    """tripletex_async.models exports every generated Struct, Ref and MODELS, sorted."""
    names = tripletex_async.models.__all__
    assert names == sorted(names, key=_isort_key)
    assert set(names) == {*STRUCTS, "LIST_MODELS", "MODELS", "Ref", "DateText"}
    assert all(getattr(tripletex_async.models, name) is STRUCTS[name] for name in STRUCTS)


def test_docstring_names_schema_and_path() -> None:
    """Each Struct's one-line docstring names its schema, its path and the spec version."""
    for path, struct in MODELS.items():
        assert struct.__doc__ == f"{struct.__name__}, listed at /{path} (spec 2.74.00)."
    assert OrderLine.__doc__ is not None
    assert OrderLine.__doc__.startswith("OrderLine, expanded in Order.orderLines")


# -- fields and types --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_fields_are_models_json_properties_minus_changes(name: str) -> None:
    """A Struct's fields are its schema's properties in models.json, without changes."""
    expected = [f for f in DATA["models"][name] if f != "changes"]
    assert list(_fields(STRUCTS[name])) == expected


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_field_types_follow_the_rules(name: str) -> None:
    """Every field's annotation is the rule's type, optional and UNSET by default."""
    for field, annotation in _fields(STRUCTS[name]).items():
        assert annotation == _expected(name, field), f"{name}.{field}"
    assert all(d is UNSET for d in STRUCTS[name].__struct_defaults__)


@pytest.mark.parametrize(
    ("struct", "field", "expected"),
    [
        (Customer, "name", str),
        (Customer, "id", int),
        (Customer, "bankAccounts", list[str]),
        (Posting, "amount", Decimal),
        (Posting, "date", DateText),
        (Posting, "description", str),
        (Invoice, "customer", Ref),
        (Invoice, "orders", list[Ref]),
        (Order, "orderLines", list[OrderLine]),
        (Order, "isClosed", bool),
        (Employee, "internationalId", dict[str, Any]),
    ],
)
def test_concrete_field_types(struct: type[msgspec.Struct], field: str, expected: Any) -> None:
    """A few fields checked by hand: str, int, Decimal, DateText, bool, Ref,
    list[OrderLine], dict."""
    assert _fields(struct)[field] == expected | UnsetType | None


def test_embedded_value_objects_are_dicts() -> None:
    """References to id-less schemas (embedded objects) are dicts, since Ref needs an id."""
    embedded = {
        f"{model}.{field}"
        for model in STRUCTS
        for field, (kind, _, target, _) in DATA["models"][model].items()
        if kind in ("ref", "ref_array")
        and field != "changes"
        and "id" not in DATA["models"][target]
    }
    assert embedded == {
        "BankTransaction.groupedPostings",
        "Customer.bankAccountPresentation",
        "Employee.holidayAllowanceEarned",
        "Employee.internationalId",
        "EmploymentDetails.maritimeEmployment",
        "Inventories.stock",
        "Supplier.bankAccountPresentation",
        "TravelExpense.attestationSteps",
        "TravelExpense.travelDetails",
        "VatReturnsVatCodeComment.comments",
    }
    assert _fields(Customer)["bankAccountPresentation"] == list[dict[str, Any]] | UnsetType | None


# -- Struct behaviour --------------------------------------------------------------------


def test_absent_field_decodes_as_unset() -> None:
    """A field missing from the JSON (not requested) stays UNSET."""
    customer = msgspec.json.decode(b'{"id": 1}', type=Customer)
    assert customer.id == 1
    assert customer.name is UNSET


def test_null_decodes_as_none() -> None:
    """A JSON null decodes as None, distinct from UNSET."""
    customer = msgspec.json.decode(
        b'{"id": 1, "name": null, "accountManager": null}', type=Customer
    )
    assert customer.name is None
    assert customer.accountManager is None


def test_unknown_fields_are_ignored() -> None:
    """Fields the Struct does not know (changes, newer API fields) are tolerated."""
    raw = b'{"id": 1, "changes": [{"changeType": "CREATE"}], "fieldFromTheFuture": {"a": 1}}'
    assert msgspec.json.decode(raw, type=Customer) == Customer(id=1)


def test_encoding_omits_unset_fields() -> None:
    """omit_defaults: encoding leaves out UNSET fields but keeps explicit None."""
    assert msgspec.json.decode(msgspec.json.encode(Customer(id=1, name=None))) == {
        "id": 1,
        "name": None,
    }


def test_structs_are_keyword_only() -> None:
    """Fields are keyword-only: a positional argument is refused."""
    with pytest.raises(TypeError):
        Customer(1)  # type: ignore[arg-type, call-arg]


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_instances_are_not_gc_tracked(name: str) -> None:
    """gc=False: decoded instances are not tracked by the cyclic garbage collector."""
    instance = msgspec.json.decode(b'{"id": 1, "url": "x"}', type=STRUCTS[name])
    assert not gc.is_tracked(instance)


# -- decoding the simulator's records ------------------------------------------------------


@pytest.mark.parametrize("path", sorted(ENGINE_PATHS))
def test_simulator_records_decode_without_loss(
    portfolio: Portfolio, company: int, path: str
) -> None:
    """The simulator's records decode into the resource's Struct and encode back the same.

    Raw order records hold ``orderLines`` as references ``{id, url}``; OrderLine has both
    fields, so they decode as OrderLines with only ``id`` and ``url`` set (the expanded
    form is checked against the simulator's HTTP answer below).
    """
    records = FakeTripletex(portfolio).records(company, path)
    struct = MODELS[path]
    decoded = msgspec.json.Decoder(list[struct]).decode(msgspec.json.encode(records))  # type: ignore[valid-type]
    known = set(_fields(struct))
    assert records
    assert _builtins(decoded) == [{k: v for k, v in r.items() if k in known} for r in records]


@pytest.mark.anyio
async def test_expanded_order_lines_decode(portfolio: Portfolio, company: int) -> None:
    """GET /order?fields=*,orderLines(*) through the client decodes into Order fully."""
    fake = FakeTripletex(portfolio)
    async with TripletexClient(
        consumer_token=fake.credentials.consumer_token,
        employee_token=fake.credentials.employee_token,
        base_url="http://tripletex.test/v2",
        transport=FakeTransport(fake),
    ) as client:
        page = await client.company(company).get_list(
            "/order",
            Order,
            params={
                "fields": "*,orderLines(*)",
                "orderDateFrom": "2000-01-01",
                "orderDateTo": "2100-01-01",
            },
        )
    lines = {r["id"]: r for r in fake.records(company, "order/orderline")}
    known = set(_fields(OrderLine))
    got = [line for order in page.values for line in order.orderLines or ()]
    assert got
    for line in got:
        assert isinstance(line, OrderLine)
        expected = {k: v for k, v in lines[line.id].items() if k in known}
        assert _builtins(line) == expected


# -- the contract with the real spec -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_fields_match_the_spec(spec: dict[str, Any], name: str) -> None:
    """Each Struct's field set is its spec schema's properties minus changes."""
    properties = spec["components"]["schemas"][name]["properties"]
    assert set(_fields(STRUCTS[name])) == set(properties) - {"changes"}


def test_generated_from_this_spec_version(spec: dict[str, Any]) -> None:
    """The Structs were generated from the spec version in the shared folder."""
    assert spec["info"]["version"] == _generated.SPEC_VERSION
