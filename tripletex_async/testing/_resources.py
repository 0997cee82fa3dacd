"""The resources the simulator serves, with the facts the spec gives about each.

Names are API paths without the ``/v2/`` prefix. Collections marked ``listable=False``
exist only to be referenced and expanded (``orderLines(*)``, ``postalAddress(*)``) or read
by id; the real API has no list endpoint for them (``GET /order/orderline`` is a 400).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CHILD_LINKS",
    "MODEL_COLLECTIONS",
    "RESOURCES",
    "ChildLink",
    "ResourceInfo",
    "listable_resources",
]


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """One collection of the simulator."""

    path: str
    #: Spec schema name of one element (``Customer``).
    model: str
    #: Spec schema name of the list envelope.
    list_schema: str = ""
    #: Field of the element that the required date range filters on.
    date_field: str | None = None
    #: Required query params ``(from, to)``; "to" is exclusive.
    date_params: tuple[str, str] | None = None
    changed_since: bool = False
    listable: bool = True
    #: Methods on ``/{path}`` besides the list GET, as the spec has them.
    collection_methods: frozenset[str] = frozenset()
    #: Methods on ``/{path}/{id}``, as the spec has them.
    item_methods: frozenset[str] = frozenset({"GET"})
    #: The list endpoint's "List of IDs" filter, where it has one.
    id_param: str | None = "id"


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
        **kwargs,  # type: ignore[arg-type]
    )


RESOURCES: dict[str, ResourceInfo] = {
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

#: Which collection holds the objects of a spec schema, for expanding references.
MODEL_COLLECTIONS: dict[str, str] = {r.model: r.path for r in RESOURCES.values()}


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


def listable_resources() -> list[str]:
    """Paths of the collections that have a GET list endpoint, in a stable order."""
    return [r.path for r in RESOURCES.values() if r.listable]
