"""The resources the simulator serves, with the facts the spec gives about each.

Names are API paths without the ``/v2/`` prefix. Collections marked ``listable=False``
exist only to be referenced and expanded (``orderLines(*)``, ``postalAddress(*)``) or read
by id; the real API has no list endpoint for them (``GET /order/orderline`` is a 400).

Two kinds of collection: the hand-built ones of `CORE_RESOURCES` (realistic records whose
sizes the portfolio plans), and one per further list endpoint of the spec's registry
(`_spec_lists`), generated from its record schema by `_records_generic`, or for a report
(``kind="snapshot"``) computed per query by `_snapshots`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._schema import load_models
from ._spec_lists import SpecList, served_lists

__all__ = [
    "CHILD_LINKS",
    "CORE_RESOURCES",
    "MODEL_COLLECTIONS",
    "RESOURCES",
    "ChildLink",
    "ParentLink",
    "ResourceInfo",
    "listable_resources",
    "stored_resources",
    "templated",
]

Kind = Literal["plain", "dated", "child", "snapshot"]


@dataclass(frozen=True, slots=True)
class ParentLink:
    """How a child list names the one parent whose children it answers."""

    #: The required parameter holding the parent's id (``projectId``).
    param: str
    #: Path of the parent collection (``project``).
    parent: str
    #: Field of a child referring to its parent; None where the schema has none (the
    #: simulator then knows the parent from how it generated the child).
    field: str | None
    #: The parameter is part of the path (``/travelExpense/costParticipant/{costId}/...``).
    in_path: bool = False


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One collection of the simulator."""

    path: str
    #: Spec schema name of one element (``Customer``).
    model: str
    #: Spec schema name of the list envelope.
    list_schema: str = ""
    #: Field of the element that the required date range filters on, dotted into a
    #: reference (``invoice.invoiceDate``).
    date_field: str | None = None
    #: Required date params: ``(from, to)`` ("to" exclusive unless ``to_inclusive``), or
    #: a snapshot's ``(date,)``.
    date_params: tuple[str, ...] | None = None
    changed_since: bool = False
    listable: bool = True
    #: Methods on ``/{path}`` besides the list GET, as the spec has them.
    collection_methods: frozenset[str] = frozenset()
    #: Methods on ``/{path}/{id}``, as the spec has them.
    item_methods: frozenset[str] = frozenset({"GET"})
    #: The list endpoint's "List of IDs" filter, where it has one.
    id_param: str | None = "id"
    kind: Kind = "plain"
    #: Whether the "to" of ``date_params`` includes its day.
    to_inclusive: bool = False
    #: A child list's parent.
    parent: ParentLink | None = None
    #: Parameters that must be given (422/15000 without them), besides the dates.
    required: tuple[str, ...] = ()
    #: Natural key (dotted) of records without ``id``.
    key: str | None = None
    #: A record's ``url`` is ``{host}/v2/{url_path}/{id}``; the path when empty.
    url_path: str = ""
    #: Records come from the schema-driven builder, not a hand-written one.
    generated: bool = False

    @property
    def item_path(self) -> str:
        """The path of this collection's records in their ``url``."""
        return self.url_path or self.path


#: (collection methods, item methods) per path, copied from the spec and checked against
#: it by tests/testing/test_spec_routes_contract.py.
_METHODS: dict[str, tuple[str, str]] = {
    "customer": ("POST", "GET PUT DELETE"),
    "supplier": ("POST", "GET PUT DELETE"),
    "contact": ("POST", "GET PUT"),
    "employee": ("POST", "GET PUT"),
    "department": ("POST", "GET PUT DELETE"),
    "product": ("POST", "GET PUT DELETE"),
    "project": ("POST", "GET PUT DELETE"),
    "activity": ("POST", "GET"),
    "ledger/account": ("POST", "GET PUT DELETE"),
    "ledger/vatType": ("", "GET"),
    "currency": ("", "GET"),
    "order": ("POST", "GET PUT DELETE"),
    "invoice": ("POST", "GET"),
    "supplierInvoice": ("", "GET"),
    "ledger/voucher": ("POST", "GET PUT DELETE"),
    "ledger/posting": ("", "GET"),
    "timesheet/entry": ("POST", "GET PUT DELETE"),
    "order/orderline": ("POST", "GET PUT DELETE"),
    "country": ("", "GET"),
    # Addresses are only ever reached as references (postalAddress(*)).
    "address": ("", ""),
}


def _r(path: str, model: str, **kwargs: object) -> ResourceInfo:
    list_schema = kwargs.pop("list_schema", f"ListResponse{model}")
    collection, item = _METHODS[path]
    return ResourceInfo(
        path,
        model,
        list_schema=str(list_schema),
        collection_methods=frozenset(collection.split()),
        item_methods=frozenset(item.split()),
        kind="dated" if kwargs.get("date_params") else "plain",
        **kwargs,  # type: ignore[arg-type]
    )


_CORE: dict[str, ResourceInfo] = {
    r.path: r
    for r in (
        _r("customer", "Customer", changed_since=True),
        _r("supplier", "Supplier", changed_since=True),
        _r("contact", "Contact"),
        _r("employee", "Employee"),
        _r("department", "Department"),
        _r("product", "Product", id_param="ids"),
        _r("project", "Project"),
        _r("activity", "Activity"),
        _r("ledger/account", "Account"),
        _r("ledger/vatType", "VatType"),
        _r("currency", "Currency"),
        _r(
            "order",
            "Order",
            date_field="orderDate",
            date_params=("orderDateFrom", "orderDateTo"),
        ),
        _r(
            "invoice",
            "Invoice",
            date_field="invoiceDate",
            date_params=("invoiceDateFrom", "invoiceDateTo"),
        ),
        _r(
            "supplierInvoice",
            "SupplierInvoice",
            date_field="invoiceDate",
            date_params=("invoiceDateFrom", "invoiceDateTo"),
        ),
        _r(
            "ledger/voucher",
            "Voucher",
            list_schema="VoucherSearchResponse",
            date_field="date",
            date_params=("dateFrom", "dateTo"),
        ),
        _r(
            "ledger/posting",
            "Posting",
            id_param=None,
            date_field="date",
            date_params=("dateFrom", "dateTo"),
        ),
        _r(
            "timesheet/entry",
            "TimesheetEntry",
            list_schema="TimesheetEntrySearchResponse",
            date_field="date",
            date_params=("dateFrom", "dateTo"),
        ),
        # Reference targets without a list endpoint of their own.
        _r("order/orderline", "OrderLine", listable=False),
        _r("address", "Address", listable=False),
        _r("country", "Country"),
    )
}

#: The hand-built collections, in the order that numbers their id bands.
CORE_RESOURCES: tuple[str, ...] = tuple(_CORE)


def _url_path(path: str) -> str:
    """Where the records of a list live by id: ``ledger/voucher/>nonPosted`` lists
    vouchers, ``travelExpense/costParticipant/{costId}/costParticipants`` participants."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part.startswith("{"):
            return "/".join(parts[:i])
    if parts[-1].startswith(">") or parts[-1] == "search":
        parts.pop()
    return "/".join(parts)


def _parent(entry: SpecList) -> ParentLink | None:
    if entry.parent is None:
        return None
    parent = entry.parent.path.lstrip("/")
    parent_model = _CORE[parent].model if parent in _CORE else _model_of(parent)
    fields = load_models()[entry.model].fields.values()
    field = next((f.name for f in fields if f.kind == "ref" and f.target == parent_model), None)
    in_path = "{" + entry.parent.param + "}" in entry.path
    return ParentLink(entry.parent.param, parent, field, in_path)


def _model_of(path: str) -> str:
    return next(e.model for e in served_lists() if e.path == "/" + path)


def _generated(entry: SpecList) -> ResourceInfo:
    path = entry.path.lstrip("/")
    dated = entry.kind in ("dated", "snapshot") and bool(entry.date_params)
    return ResourceInfo(
        path,
        entry.model,
        # Left empty: every generated list has the standard envelope, and
        # tools/distil_spec keeps the envelopes named here in models.json.
        list_schema="",
        date_field=entry.date_field or None,
        date_params=entry.date_params if dated else None,
        changed_since=entry.changed_since,
        item_methods=frozenset(),
        id_param=None,
        kind=entry.kind if entry.kind != "excluded" else "plain",
        to_inclusive=entry.to_inclusive,
        parent=_parent(entry),
        required=tuple(entry.params),
        key=entry.key or None,
        url_path=_url_path(path),
        generated=True,
    )


#: Every collection: the hand-built ones first, then one per further list endpoint of
#: the registry.
RESOURCES: dict[str, ResourceInfo] = {
    **_CORE,
    **{
        e.path.lstrip("/"): _generated(e) for e in served_lists() if e.path.lstrip("/") not in _CORE
    },
}


def _model_collections() -> dict[str, str]:
    """Model -> the collection its references point into: a hand-built one if any, else
    the first generated list of that model (``/ledger/voucher/>nonPosted`` lists vouchers,
    yet references to vouchers name ``/ledger/voucher``)."""
    models = load_models()
    out: dict[str, str] = {}
    for info in RESOURCES.values():
        if info.kind != "snapshot" and "id" in models[info.model].fields:
            out.setdefault(info.model, info.path)
    return out


#: Which collection holds the objects of a spec schema, for expanding references.
MODEL_COLLECTIONS: dict[str, str] = _model_collections()


@dataclass(frozen=True, slots=True)
class ChildLink:
    """How a child collection hangs off its parent, both ways, by reference."""

    #: Path of the parent collection (``order``).
    parent: str
    #: Field of a child naming its parent (an order line's ``order``).
    parent_field: str
    #: Field of a parent listing its children (an order's ``orderLines``).
    children_field: str


#: The direct children of the simulator: collections whose objects a parent lists by
#: reference. Tripletex's checksum docs count them into the parent's digest ("an
#: orderline change updates the /order digest"), although a child change bumps neither
#: the parent's ``version`` nor its ``changes`` (tripletex-api2#107).
CHILD_LINKS: dict[str, ChildLink] = {
    "order/orderline": ChildLink("order", "order", "orderLines"),
    "ledger/posting": ChildLink("ledger/voucher", "voucher", "postings"),
}


#: Lists whose path holds a parameter, as (segments, resource).
_TEMPLATES = [(path.split("/"), info) for path, info in RESOURCES.items() if "{" in path]


def templated(route: str) -> tuple[ResourceInfo | None, dict[str, str]]:
    """The list a route with a path parameter names, and that parameter's value."""
    parts = route.split("/")
    for segments, info in _TEMPLATES:
        if len(segments) != len(parts):
            continue
        values = {s[1:-1]: p for s, p in zip(segments, parts, strict=True) if s.startswith("{")}
        fixed = all(s == p for s, p in zip(segments, parts, strict=True) if not s.startswith("{"))
        if fixed:
            return info, values
    return None, {}


def listable_resources() -> list[str]:
    """Paths of the collections that have a GET list endpoint, in a stable order."""
    return [r.path for r in RESOURCES.values() if r.listable]


def stored_resources() -> list[str]:
    """Paths of the collections that hold records (every one but the snapshots)."""
    return [r.path for r in RESOURCES.values() if r.kind != "snapshot"]
