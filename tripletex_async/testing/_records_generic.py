"""Records of the generated collections, filled from their spec schema field by field.

No builder is written per endpoint: each field gets a filler chosen once per collection
from its type, its enum and its name (dates by name, as the spec gives strings no
format: ``date``, ``...Date``, ``dateOf...``; e-mail addresses, phone numbers, bank
accounts, percentages, hours and amounts likewise). References point at records that
exist: into a hand-built or generated collection of the same company when the target
schema has one, else ``None``; schemas without ``id`` are embedded whole, one level deep.

Invariants the lists rely on: a child names its parent by the reference field to the
parent's schema where the schema has one; a dated record's own date field lies in the
config year; natural keys of records without ``id`` are unique within the company.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from . import _norsk as no
from ._calendar import WORKDAY_END, WORKDAY_START
from ._resources import MODEL_COLLECTIONS, RESOURCES, ResourceInfo
from ._schema import FieldSchema, ModelSchema, load_models
from ._spec_plan import SpecPlan
from ._values import any_of, landline, money

__all__ = ["generated_records"]

Record = dict[str, Any]
_HEAD = ("id", "version", "changes", "url")
_TEXTS = ("", "", "Avtalt med regnskapsfører", "Kontrollert", "Se vedlegg", "Gjelder 2. termin")
_DATE_NAMES = frozenset({"date", "start", "end", "lastStocking", "depreciationFrom"})
#: Dates that open a period (``startDate``, ``fromDate``) and that close one (``endDate``,
#: ``toDate``, ``returnDate``): a record's closing date falls after its opening one.
_OPENS = re.compile(r"^(start|from|departure)([A-Z]|$)")
_CLOSES = re.compile(r"^(end|to|return)([A-Z]|$)")
_PERIOD = 90
_INDEX_INTS = frozenset({"number", "sequence", "sortIndex", "position", "customSortIndex"})
_EDIT_WINDOW = 45


@dataclass(slots=True)
class _Row:
    """What the fillers of one record draw on."""

    plan: SpecPlan
    rng: Random
    resource: str
    index: int = 0
    #: Calendar day of a dated record, else None.
    day: int | None = None
    #: The day a record's periods open (``startDate``); they close within ``_PERIOD``.
    opens: int = 0
    parent: dict[str, Any] | None = None
    #: Offset into a natural key's enum, so that keys differ per company.
    key_offset: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0


Filler = Callable[[_Row], Any]


def generated_records(plan: SpecPlan, resource: str, rng: Random) -> list[Record]:
    """Every record of generated collection ``resource`` in the company, in id order."""
    info = RESOURCES[resource]
    fillers = _fillers(resource)
    row = _Row(plan, rng, resource, key_offset=plan.hashed(resource, 1 << 41))
    has_changes = load_models()[info.model].field("changes") is not None
    out: list[Record] = []
    for parent, index in _slots(plan, info):
        row.index, row.parent = index, parent
        row.day = _day(plan, info, index)
        row.opens = plan.ctx.calendar.year_start + int(rng.random() * (365 - _PERIOD))
        if has_changes:
            row.changes, row.version = _changes(row)
        out.append({name: fill(row) for name, fill in fillers})
    return out


def _slots(plan: SpecPlan, info: ResourceInfo) -> list[tuple[dict[str, Any] | None, int]]:
    """(reference to the parent or None, index) of every record, in index order."""
    if info.parent is None:
        return [(None, i) for i in range(plan.count(info.path))]
    parent = info.parent.parent
    return [(plan.ref(parent, p), i) for p, children in plan.spans(info.path) for i in children]


def _day(plan: SpecPlan, info: ResourceInfo, index: int) -> int | None:
    if info.date_field is None or "." in info.date_field:
        return None
    return plan.ctx.dated_day(index, max(1, plan.count(info.path)))


# -- choosing fillers, once per collection ----------------------------------------------


@functools.cache
def _fillers(resource: str) -> tuple[tuple[str, Filler], ...]:
    """(field, filler) of every field of the collection's model, head fields first."""
    info = RESOURCES[resource]
    model = load_models()[info.model]
    names = [n for n in _HEAD if model.field(n)] + [n for n in model.fields if n not in _HEAD]
    return tuple((name, _filler(info, model, model.fields[name])) for name in names)


def _filler(info: ResourceInfo, model: ModelSchema, spec: FieldSchema) -> Filler:
    name = spec.name
    if model.field("id") is not None and name in _HEAD:
        return _head_filler(name)
    if info.parent is not None and name == info.parent.field:
        return lambda row: row.parent
    if name == info.date_field:
        return lambda row: row.plan.ctx.calendar.date(row.day or 0)
    if info.date_field and name == info.date_field.partition(".")[0]:
        # Dated through a reference: never None, or no window would ever answer it.
        path = MODEL_COLLECTIONS[spec.target or ""]
        return lambda row: row.plan.pick(path, row.rng)
    if name == info.key:
        return _key_filler(model, spec)
    children = _children_field(info, spec)
    if children is not None:
        return children
    return _field_filler(model, spec, depth=0)


def _head_filler(name: str) -> Filler:
    if name == "id":
        return lambda row: row.plan.first_id(row.resource) + row.index
    if name == "url":
        return lambda row: _ref(row)["url"]
    if name == "changes":
        return lambda row: row.changes
    return lambda row: row.version


def _ref(row: _Row) -> dict[str, Any]:
    ref = row.plan.ref(row.resource, row.index)
    assert ref is not None
    return ref


def _changes(row: _Row) -> tuple[list[dict[str, Any]], int]:
    """A record's ``changes`` and ``version``: created in the history (master data) or on
    its date (dated records), maybe edited later."""
    ctx = row.plan.ctx
    year_end = ctx.calendar.year_end
    if row.day is None:
        return ctx.changes(row.rng, ctx.history_day(row.rng), year_end)
    return ctx.changes(row.rng, row.day, min(row.day + _EDIT_WINDOW, year_end))


def _key_filler(model: ModelSchema, spec: FieldSchema) -> Filler:
    values = spec.enum
    if values:
        return lambda row: values[(row.key_offset + row.index) % len(values)]
    prefix = _snake(model.name).upper()
    return lambda row: f"{prefix}_{row.index + 1}"


def _children_field(info: ResourceInfo, spec: FieldSchema) -> Filler | None:
    """A list of a parent's children, from how the children are laid out."""
    if spec.kind != "ref_array" or spec.target is None:
        return None
    child = MODEL_COLLECTIONS.get(spec.target)
    link = RESOURCES[child].parent if child is not None else None
    if child is None or link is None or link.parent != info.path:
        return None
    return lambda row: [row.plan.ref(child, i) for i in row.plan.children(child, row.index)]


def _field_filler(model: ModelSchema, spec: FieldSchema, depth: int) -> Filler:
    if spec.kind == "scalar":
        if spec.enum:
            values = spec.enum
            return lambda row: any_of(row.rng, values)
        return _scalar(model, spec.name, spec.type)
    if spec.kind == "array":
        return _array(spec)
    target = spec.target or ""
    models = load_models()
    if target in models and models[target].field("id") is None:
        return _embedded(spec, models[target], depth)
    path = MODEL_COLLECTIONS.get(target)
    if path is None:
        return lambda row: [] if spec.kind == "ref_array" else None
    if spec.kind == "ref":
        return lambda row: row.plan.pick(path, row.rng, 0.2)
    return lambda row: _some_refs(row, path)


def _some_refs(row: _Row, path: str) -> list[dict[str, Any]]:
    picked = (row.plan.pick(path, row.rng) for _ in range(int(row.rng.random() * 3)))
    unique = {ref["id"]: ref for ref in picked if ref is not None}
    return [unique[i] for i in sorted(unique)]


def _embedded(spec: FieldSchema, target: ModelSchema, depth: int) -> Filler:
    """An object without id, embedded whole (one level deep; deeper ones are None)."""
    if target.name == "Change":
        return lambda row: (row.changes if depth == 0 else []) if spec.kind == "ref_array" else None
    if depth > 0:
        return lambda row: [] if spec.kind == "ref_array" else None
    inner = tuple((f.name, _field_filler(target, f, depth + 1)) for f in target.fields.values())

    def one(row: _Row) -> dict[str, Any]:
        return {name: fill(row) for name, fill in inner}

    if spec.kind == "ref":
        return lambda row: one(row) if row.rng.random() < 0.7 else None
    return lambda row: [one(row) for _ in range(int(row.rng.random() * 3))]


def _array(spec: FieldSchema) -> Filler:
    if spec.enum:
        values = spec.enum
        return lambda row: sorted(
            {any_of(row.rng, values) for _ in range(int(row.rng.random() * 3))}
        )
    if spec.type.startswith("integer"):
        return lambda row: [
            1 + int(row.rng.random() * 10) for _ in range(int(row.rng.random() * 3))
        ]
    return lambda row: [f"{spec.name}-{row.index + 1}"] if row.rng.random() < 0.5 else []


# -- scalars by type and name -----------------------------------------------------------


def _scalar(model: ModelSchema, name: str, type_: str) -> Filler:
    kind = type_.split(":")[0]
    if kind == "string":
        return _string(model, name)
    if kind == "integer":
        return _integer(name)
    if kind == "number":
        return _number(name)
    if kind == "boolean":
        share = 0.05 if name in ("isInactive", "isDisabled") else 0.5
        return lambda row: row.rng.random() < share
    return lambda row: {}


def _is_date(name: str) -> bool:
    return (
        name in _DATE_NAMES
        or name.endswith(("Date", "dato"))
        or name.startswith("dateOf")
        or name in ("fromDate", "toDate", "dateCounted", "externalLastDepreciation")
    )


def _is_time(name: str) -> bool:
    low = name.lower()
    return "time" in low and "sheet" not in low and "zone" not in low


def _string(model: ModelSchema, name: str) -> Filler:
    low = name.lower()
    label = _snake(model.name).replace("_", " ").capitalize()
    if _is_date(name):
        if _OPENS.match(name):
            return lambda row: row.plan.ctx.calendar.date(row.opens)
        if _CLOSES.match(name):
            return lambda row: row.plan.ctx.calendar.date(
                row.opens + 1 + int(row.rng.random() * _PERIOD)
            )
        return _date
    if _is_time(name):
        return _timestamp
    if "email" in low:
        return lambda row: f"{_snake(model.name)}{row.index + 1}@{row.plan.ctx.identity.slug}.no"
    if "phone" in low:
        return lambda row: landline(row.rng)
    simple = _simple_string(low)
    if simple is not None:
        return simple
    if "number" in low or low.endswith(("code", "id")):
        return lambda row: str(1000 + row.index + 1)
    if "name" in low or "title" in low:
        return lambda row: f"{label} {row.index + 1}"
    if "comment" in low or "description" in low or "text" in low or "message" in low:
        return lambda row: any_of(row.rng, _TEXTS)
    return lambda row: f"{label} {row.index + 1}"


def _simple_string(low: str) -> Filler | None:
    """Fillers of strings with a fixed form (addresses, bank details, codes)."""
    ctx_fields: dict[str, Filler] = {
        "postalcode": lambda row: row.plan.ctx.identity.postal_code,
        "city": lambda row: row.plan.ctx.identity.city,
        "organizationnumber": lambda row: row.plan.ctx.identity.organization_number,
        "countrycode": lambda row: "NO",
        "currencycode": lambda row: "NOK",
        "bankaccountnumber": lambda row: no.bank_account(row.plan.hashed(row.resource, row.index)),
        "bankaccountiban": lambda row: "NO93" + no.bank_account(row.index + 7),
        "bankaccountswift": lambda row: "DNBANOKKXXX",
        "kid": lambda row: no.kid(row.plan.hashed(row.resource, row.index) % 10**9),
        "url": lambda row: "",
    }
    found = ctx_fields.get(low)
    if found is None and "address" in low:
        return lambda row: row.plan.ctx.identity.street
    return found


def _date(row: _Row) -> str:
    cal = row.plan.ctx.calendar
    return cal.date(cal.year_start + int(row.rng.random() * cal.year_days))


def _timestamp(row: _Row) -> str:
    cal = row.plan.ctx.calendar
    day = cal.year_start + int(row.rng.random() * cal.year_days)
    second = WORKDAY_START + int(row.rng.random() * (WORKDAY_END - WORKDAY_START))
    return cal.timestamp(day, second)


def _integer(name: str) -> Filler:
    if name == "companyId":
        return lambda row: row.plan.ctx.company_id
    if name == "year":
        return lambda row: row.plan.ctx.year
    if name == "month":
        return lambda row: 1 + int(row.rng.random() * 12)
    if name == "week":
        return lambda row: 1 + int(row.rng.random() * 52)
    if name in _INDEX_INTS:
        return lambda row: row.index + 1
    path = MODEL_COLLECTIONS.get(name[:1].upper() + name[1:-2]) if name.endswith("Id") else None
    if path is not None:
        return lambda row: _id_of(row.plan.pick(path, row.rng, 0.2))
    return lambda row: int(row.rng.random() * 100)


def _id_of(ref: dict[str, Any] | None) -> int | None:
    return None if ref is None else int(ref["id"])


def _number(name: str) -> Filler:
    low = name.lower()
    if "percent" in low or (low.endswith("rate") and "hour" not in low):
        return lambda row: money(row.rng, 0, 30)
    if "hours" in low or low == "days":
        return lambda row: round(int(row.rng.random() * 20) / 2, 2)
    if low == "km":
        return lambda row: money(row.rng, 5, 600)
    if "quantity" in low or "stock" in low or low == "count":
        return lambda row: float(int(row.rng.random() * 50))
    return lambda row: money(row.rng, 0, 25_000)


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
