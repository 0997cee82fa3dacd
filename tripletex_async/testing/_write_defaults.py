"""What a write stores, as Tripletex fills it: everything that completes a POST or PUT.

- A new record has every field of its model, filled as the portfolio fills its own:
  numbers next in the company's sequence (customers from 10001, suppliers from 20001,
  orders, vouchers per year), ``displayName`` from the name (and number where Tripletex
  shows it), the company's NOK as ``currency``, booleans false, strings ``""``, unset
  references ``null``, enums at their first value (``language`` ``NO``).
- A reference sent as ``{"id": n}`` is stored as ``{"id": n, "url": ...}``, the url of
  the object it names. A new address sent in place (``postalAddress: {...}``) becomes an
  object of its own, as Tripletex creates it.
- An order's ``orderLines`` and a voucher's ``postings`` sent in the body become records
  of ``order/orderline`` and ``ledger/posting`` that name their parent (`Store` creates
  them; the parent lists them by reference).

What a write may not be is `_write_checks`. The back door (`FakeTripletex.add`/``update``)
fills and completes but never refuses: tests set up odd states with it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ._resources import MODEL_COLLECTIONS, RESOURCES
from ._schema import FieldSchema, ModelSchema, load_models
from ._write_checks import NESTED_VALUES, Lookup, Record, links_of

__all__ = ["Scope", "Writer", "split_children"]

_HEAD = frozenset({"id", "version", "changes", "url"})


@dataclass(frozen=True, slots=True)
class Scope:
    """The company a write goes to: its collections, and how to create an object in it."""

    company_id: int
    lookup: Lookup
    #: Creates an object of a collection (a nested address) and returns it.
    make: Callable[[str, Record], Record]


def split_children(resource: str, data: Record) -> tuple[Record, list[tuple[str, list[Record]]]]:
    """``data`` without its children fields, and (child collection, new children) pairs.

    Children sent with an ``id`` are references to existing ones, not new: the parent's
    list of them is never written directly, it follows the children (see `Store`).
    """
    rest, children = dict(data), []
    for child, link in links_of(resource):
        items = rest.pop(link.children_field, None)
        if isinstance(items, list):
            children.append((child, [i for i in items if isinstance(i, dict) and "id" not in i]))
    return rest, children


@dataclass(frozen=True, slots=True)
class _Sequence:
    """A number Tripletex assigns when none (or 0) is sent."""

    field: str
    start: int
    #: Stored as a string (an order's ``number``).
    text: bool = False


SEQUENCES: Mapping[str, _Sequence] = MappingProxyType(
    {
        "customer": _Sequence("customerNumber", 10_001),
        "supplier": _Sequence("supplierNumber", 20_001),
        "order": _Sequence("number", 1, text=True),
        "project": _Sequence("number", 1, text=True),
        "invoice": _Sequence("invoiceNumber", 1),
        # Per year: see `Writer._scope_of`.
        "ledger/voucher": _Sequence("number", 1),
    }
)

#: Values a new record has where the typed default is not what Tripletex (and the
#: portfolio) gives.
FIXED: Mapping[str, Record] = MappingProxyType(
    {
        "customer": {"isCustomer": True, "invoicesDueIn": 14},
        "supplier": {"isSupplier": True, "locale": "nb_NO"},
        "order": {
            "invoicesDueIn": 14,
            "subscriptionPeriodsOnInvoice": 1,
            "subscriptionPeriodsOnInvoiceType": "MONTHS",
            "invoiceOnAccountVatHigh": True,
        },
        "employee": {"allowInformationRegistration": True},
    }
)

#: References a new record gets when none is sent: (collection, index) in the company's
#: records, as the portfolio sets them (every ``Currency`` reference is NOK, index 0).
DEFAULT_REFS: Mapping[str, Mapping[str, tuple[str, int]]] = MappingProxyType(
    {
        "customer": {"ledgerAccount": ("ledger/account", 0)},
        "supplier": {"ledgerAccount": ("ledger/account", 2)},
        "contact": {"phoneNumberMobileCountry": ("country", 0)},
        "employee": {"phoneNumberMobileCountry": ("country", 0)},
        "address": {"country": ("country", 0)},
    }
)

#: Date fields (the spec gives their strings no format): unset, they are null, not "".
_DATE = re.compile(r"^(date|.*Date|dateOf.*|.*Period(Start|End)|termOfPayment)$")


@functools.cache
def _blank(resource: str) -> Mapping[str, Any]:
    """Typed defaults of every field but the head, in the model's order."""
    model = load_models()[RESOURCES[resource].model]
    out = {name: _typed(spec) for name, spec in model.fields.items() if name not in _HEAD}
    return MappingProxyType({**out, **FIXED.get(resource, {})})


def _typed(spec: FieldSchema) -> Any:
    """What Tripletex answers for a field nobody set."""
    if spec.kind in ("array", "ref_array"):
        return []
    if spec.kind == "ref":
        return None
    if spec.enum:
        # A writable enum has a value from the start; a computed one is empty until set.
        return None if spec.read_only else spec.enum[0]
    kind = spec.type.split(":")[0]
    if kind == "boolean":
        return False
    if kind == "integer":
        return None if spec.name.endswith("Id") else 0
    if kind == "number":
        return 0.0
    if kind == "string":
        return None if _DATE.match(spec.name) else ""
    return None


class Writer:
    """Fills and completes what a write stores; keeps the companies' number sequences."""

    def __init__(self) -> None:
        #: Last number used, by (company, collection, field, year or 0).
        self._numbers: dict[tuple[int, str, str, int], int] = {}

    def created(self, resource: str, data: Record, scope: Scope) -> Record:
        """Every field of a new object but its head (``id``, ``version``, ...)."""
        sent = _body(data)
        record = dict(_blank(resource))
        record.update(_default_refs(resource, scope.lookup))
        record.update(_completed(resource, sent, scope))
        self._number(resource, record, sent, scope)
        record.update(_derived(resource, record, sent, scope, None))
        return record

    def updated(self, resource: str, old: Record, data: Record, scope: Scope) -> Record:
        """The fields an update changes: those sent, completed, and what follows from them."""
        sent = _completed(resource, _body(data), scope)
        merged = {**old, **sent}
        sequence = SEQUENCES.get(resource)
        if sequence is not None and sequence.field in sent:
            self._number(resource, merged, sent, scope)
        return {**sent, **_derived(resource, merged, sent, scope, set(sent))}

    def _number(self, resource: str, record: Record, sent: Record, scope: Scope) -> None:
        sequence = SEQUENCES.get(resource)
        if sequence is None:
            return
        year = _year(record) if resource == "ledger/voucher" else 0
        key = (scope.company_id, resource, sequence.field, year)
        last = self._numbers.get(key)
        if last is None:
            found = (_as_int(r.get(sequence.field)) for r in scope.lookup(resource).ordered())
            last = max((n for n in found if n is not None), default=sequence.start - 1)
        given = _as_int(sent.get(sequence.field))
        if given:
            self._numbers[key] = max(last, given)
            return
        self._numbers[key] = last + 1
        record[sequence.field] = str(last + 1) if sequence.text else last + 1


def _body(data: Record) -> Record:
    return {k: v for k, v in data.items() if k not in _HEAD}


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _year(record: Record) -> int:
    date = record.get("date")
    head = date[:4] if isinstance(date, str) else ""
    return int(head) if head.isdigit() else 0


def _nth(lookup: Lookup, path: str, index: int) -> Record | None:
    records = lookup(path).ordered()
    return records[index] if index < len(records) else None


def _ref_to(record: Record | None) -> Record | None:
    return None if record is None else {"id": record["id"], "url": record["url"]}


def _default_refs(resource: str, lookup: Lookup) -> Record:
    model = load_models()[RESOURCES[resource].model]
    out = {
        name: _ref_to(_nth(lookup, "currency", 0))
        for name, spec in model.fields.items()
        if spec.kind == "ref" and spec.target == "Currency"
    }
    for name, (path, index) in DEFAULT_REFS.get(resource, {}).items():
        out[name] = _ref_to(_nth(lookup, path, index))
    return out


def _completed(resource: str, sent: Record, scope: Scope) -> Record:
    """``sent`` with its references completed to ``{id, url}``, new addresses created."""
    model = load_models()[RESOURCES[resource].model]
    out = dict(sent)
    for name, value in sent.items():
        spec = model.field(name)
        if spec is not None and spec.type.startswith("number") and type(value) is int:
            out[name] = float(value)  # answered as 2.0, whatever was sent
        if spec is None or spec.kind not in ("ref", "ref_array") or value is None:
            continue
        if isinstance(value, list):
            out[name] = [_complete(spec, v, scope) for v in value]
        else:
            out[name] = _complete(spec, value, scope)
    return out


def _complete(spec: FieldSchema, ref: object, scope: Scope) -> object:
    path = MODEL_COLLECTIONS.get(spec.target or "")
    if path is None or not isinstance(ref, dict):
        return ref
    rid = ref.get("id")
    if rid is None:
        if spec.target in NESTED_VALUES:
            return _ref_to(scope.make(path, ref))
        return ref
    found = scope.lookup(path).by_id.get(rid) if isinstance(rid, int) else None
    return ref if found is None else _ref_to(found)


# -- values that follow from others ----------------------------------------------------

#: Computes fields of a record from its other fields (and the company's objects).
Derive = Callable[[Record, Record, Scope], Record]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _target(record: Record, name: str, path: str, scope: Scope) -> Record:
    ref = record.get(name)
    rid = ref.get("id") if isinstance(ref, dict) else None
    found = scope.lookup(path).by_id.get(rid) if isinstance(rid, int) else None
    return found or {}


def _numbered_name(number: str, name: str) -> Derive:
    """``displayName`` "number name" (products, projects, departments), or the name."""

    def derive(r: Record, sent: Record, scope: Scope) -> Record:
        shown = f"{_text(r.get(number))} {_text(r.get(name))}".strip()
        return {"displayName": shown}

    return derive


def _party(number: str) -> Derive:
    """``displayName`` "name (number)", as customers and suppliers show."""

    def derive(r: Record, sent: Record, scope: Scope) -> Record:
        return {"displayName": f"{_text(r.get('name'))} ({_text(r.get(number))})"}

    return derive


def _person(r: Record, sent: Record, scope: Scope) -> Record:
    return {"displayName": f"{_text(r.get('firstName'))} {_text(r.get('lastName'))}".strip()}


def _employee_company(r: Record, sent: Record, scope: Scope) -> Record:
    return {"companyId": scope.company_id}


def _order_customer(r: Record, sent: Record, scope: Scope) -> Record:
    customer = _target(r, "customer", "customer", scope)
    name = _text(customer.get("name"))
    return {
        "customerName": name,
        "displayName": f"{_text(r.get('number'))} {name}".strip(),
        "receiverEmail": _text(customer.get("email")),
    }


def _line_amounts(r: Record, sent: Record, scope: Scope) -> Record:
    price = _num(r.get("unitPriceExcludingVatCurrency"))
    rate = _num(_target(r, "vatType", "ledger/vatType", scope).get("percentage"))
    excluding = round(_num(r.get("count")) * price * (1 - _num(r.get("discount")) / 100), 2)
    return {
        "amountExcludingVatCurrency": excluding,
        "amountIncludingVatCurrency": round(excluding * (1 + rate / 100), 2),
        "unitPriceIncludingVatCurrency": round(price * (1 + rate / 100), 2),
    }


def _line_place(r: Record, sent: Record, scope: Scope) -> Record:
    order = _target(r, "order", "order", scope)
    return {"sortIndex": len(order.get("orderLines") or [])}


def _line_name(r: Record, sent: Record, scope: Scope) -> Record:
    return {"displayName": _text(r.get("description"))}


def _voucher_number(r: Record, sent: Record, scope: Scope) -> Record:
    year = _year(r)
    shown = f"{_text(r.get('number'))}-{year}"
    return {"year": year, "displayName": shown, "numberAsString": shown}


def _posting_place(r: Record, sent: Record, scope: Scope) -> Record:
    """Dated and described as its voucher, on the row after the voucher's last one."""
    voucher = _target(r, "voucher", "ledger/voucher", scope)
    return {
        "date": voucher.get("date"),
        "description": _text(voucher.get("description")),
        "row": len(voucher.get("postings") or []) + 1,
    }


def _posting_amounts(r: Record, sent: Record, scope: Scope) -> Record:
    gross = sent.get("amountGross", sent.get("amount", r.get("amountGross")))
    net = sent.get("amount", gross)
    return {
        "amount": net,
        "amountCurrency": net,
        "amountGross": gross,
        "amountGrossCurrency": gross,
    }


def _address_text(r: Record, sent: Record, scope: Scope) -> Record:
    line = _text(r.get("addressLine1"))
    shown = f"{line}, {_text(r.get('postalCode'))} {_text(r.get('city'))}" if line else ""
    return {"displayName": shown, "addressAsString": shown, "displayNameInklMatrikkel": shown}


def _named(r: Record, sent: Record, scope: Scope) -> Record:
    return {"displayName": _text(r.get("name"))}


_PERSON = ((("firstName", "lastName"), _person),)

#: Per collection: (fields it follows from, how). No fields: only on create.
DERIVED: Mapping[str, tuple[tuple[tuple[str, ...], Derive], ...]] = MappingProxyType(
    {
        "customer": ((("name", "customerNumber"), _party("customerNumber")),),
        "supplier": ((("name", "supplierNumber"), _party("supplierNumber")),),
        "contact": _PERSON,
        "employee": (*_PERSON, ((), _employee_company)),
        "department": ((("name", "departmentNumber"), _numbered_name("departmentNumber", "name")),),
        "product": ((("name", "number"), _numbered_name("number", "name")),),
        "project": ((("name", "number"), _numbered_name("number", "name")),),
        "order": ((("number", "customer"), _order_customer),),
        "order/orderline": (
            (("description",), _line_name),
            (("count", "unitPriceExcludingVatCurrency", "discount", "vatType"), _line_amounts),
            (("order",), _line_place),
        ),
        "ledger/voucher": ((("date", "number"), _voucher_number),),
        "ledger/posting": (
            (("voucher",), _posting_place),
            (("amount", "amountGross"), _posting_amounts),
        ),
        "address": ((("addressLine1", "postalCode", "city"), _address_text),),
    }
)


def _derivers(resource: str) -> Iterable[tuple[tuple[str, ...], Derive]]:
    found = DERIVED.get(resource)
    if found is not None:
        return found
    fields = load_models()[RESOURCES[resource].model].fields
    return ((("name",), _named),) if "displayName" in fields and "name" in fields else ()


def _derived(
    resource: str, record: Record, sent: Record, scope: Scope, changed: set[str] | None
) -> Record:
    """What follows from ``record``: on create (``changed`` None) all of it, on update
    what follows from a changed field. A field sent wins unless it is read-only."""
    model: ModelSchema = load_models()[RESOURCES[resource].model]
    out: Record = {}
    for inputs, derive in _derivers(resource):
        if changed is not None and not changed.intersection(inputs):
            continue
        for name, value in derive({**record, **out}, sent, scope).items():
            spec = model.field(name)
            if spec is not None and (name not in sent or spec.read_only):
                out[name] = value
    return out
