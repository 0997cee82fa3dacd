"""Developer tool: classify every query filter of every list the simulator serves, writing
``tripletex_async/_spec/filters.json`` and ``docs/simulator-filters.md``.

Run it when the spec (or the registry) changes, after ``tools.gen_registry``::

    python -m tools.distil_filters path/to/tripletex-openapi-original.json

For each served list (the registry's endpoints that are not ``excluded``), every query
parameter but paging (``from``, ``count``), ``fields``, ``sorting``, ``changedSince``,
the required date pair or report date and a child list's parent id is one of:

- ``equals``: the record field equals the value (``number``, ``organizationNumber``);
- ``ref_equals``: the id of a reference equals it (``customerId`` -> ``customer.id``);
- ``ids``: the field is one of a comma-separated list (``id=1,2``, ``customerId`` on
  ``/order``, ``number=1920,1930`` on ``/ledger/account``);
- ``containing``: the field contains the text, whatever its case;
- ``range_from`` / ``range_to``: a bound on a field ("From and including", "To and
  excluding"; ``inclusive`` where the spec says "to and incl.");
- ``boolean``: a boolean field is the value (``only_true``: ``false`` does not filter);
- ``hidden``: applied by the simulator's `_hidden` (a default that hides rows);
- ``unapplied``: no rule maps it to a record field; the reason is in the docs, and the
  simulator says so in a header when a request uses it.

The kind comes from the spec's description ("Equals", "Containing", "List of IDs", ...),
the parameter's name and the record's schema (``xId`` -> reference ``x``, ``numberFrom``
-> ``number``); `EXPLICIT` holds what those rules cannot infer.

Output shape (keys sorted, one parameter per line)::

    {"spec_version": "2.74.00",
     "filters": {"/order": {"customerId": {"kind": "ids", "field": "customer.id",
                                           "type": "integer"}, ...}, ...}}
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from tripletex_async._spec import registry_json
from tripletex_async.testing._filters import Kind
from tripletex_async.testing._schema import FieldSchema, ModelSchema, load_models

from ._spec_file import spec_from_args

__all__ = ["EXPLICIT", "HIDDEN", "KINDS", "NOOP", "build", "main", "render", "render_docs"]

ROOT = Path(__file__).resolve().parents[1]
FILTERS = ROOT / "tripletex_async" / "_spec" / "filters.json"
DOCS = ROOT / "docs" / "simulator-filters.md"

KINDS: tuple[str, ...] = get_args(Kind)

#: Parameters every list takes, or that the list handler reads itself.
STRUCTURAL = frozenset({"from", "count", "fields", "sorting", "changedSince"})

#: Parameters the simulator's `_hidden` applies (a spec default that hides rows).
HIDDEN: dict[str, tuple[str, ...]] = {
    "/customer": ("isInactive",),
    "/supplier": ("isInactive",),
    "/department": ("isInactive",),
    "/employee": ("includeContacts", "onlyContacts"),
    "/project": ("includeRecentlyClosed", "isClosed"),
    "/purchaseOrder/goodsReceipt": ("withoutPurchase",),
}

_DIMENSIONS = {
    f"accountingDimensionValue{n}Id": {
        "kind": "ref_equals",
        "field": f"freeAccountingDimension{n}.id",
    }
    for n in (1, 2, 3)
}

#: What the rules cannot infer: (path, param) -> entry (``type`` is added from the field).
EXPLICIT: dict[tuple[str, str], dict[str, Any]] = {
    # "Name" (no "Containing"), a search on the customer's name.
    ("/customer", "customerName"): {"kind": "containing", "field": "name"},
    # "List of customer numbers".
    ("/customer", "customerAccountNumber"): {"kind": "ids", "field": "customerNumber"},
    # "List of valid product numbers" (an array param; the deprecated ``number`` too).
    ("/product", "productNumber"): {"kind": "ids", "field": "number"},
    # The enum of ``type`` is that of the record's ``hourlyRateModel``.
    ("/project/hourlyRates", "type"): {"kind": "equals", "field": "hourlyRateModel"},
    ("/supplierInvoice", "kid"): {"kind": "equals", "field": "kidOrReceiverReference"},
    ("/ledger/voucher", "typeId"): {"kind": "ids", "field": "voucherType.id"},
    ("/salary/payslip", "wageTransactionId"): {"kind": "ids", "field": "transaction.id"},
    ("/inventory/location", "warehouseId"): {"kind": "ids", "field": "inventory.id"},
    # An activity's "inactive" is its ``isDisabled``.
    ("/activity", "isInactive"): {"kind": "boolean", "field": "isDisabled"},
    # "Whether to only return active ...": false asks for every row, not inactive ones.
    ("/ledger/accountingDimensionName", "activeOnly"): {
        "kind": "boolean",
        "field": "active",
        "only_true": True,
    },
    ("/ledger/accountingDimensionValue/search", "activeOnly"): {
        "kind": "boolean",
        "field": "active",
        "only_true": True,
    },
    ("/ledger/accountingDimensionValue/search", "showInVoucherRegistration"): {
        "kind": "boolean",
        "field": "showInVoucherRegistration",
        "only_true": True,
    },
    **{("/ledger/posting", name): entry for name, entry in _DIMENSIONS.items()},
    **{("/ledger/posting/openPost", name): entry for name, entry in _DIMENSIONS.items()},
}

#: Unapplied filters whose value the simulator answers as, where that is not the spec's
#: default (nor the value a sync must send): no header for it.
NOOP: dict[tuple[str, str], str] = {
    # Every voucher waiting for approval, not only the token owner's.
    ("/supplierInvoice/forApproval", "showAll"): "true",
    # A row for every account, moved or not.
    ("/balanceSheet", "includeActiveAccountsWithoutMovements"): "true",
}

#: How the spec words the bounds of a range ("Format is yyyy-MM-dd (to and incl.).").
_RANGE_FROM = ("from and incl",)
_RANGE_TO = ("to and excl", "to and incl")
#: Descriptions of a comma-separated list of values, besides "List of ...".
_LISTS = frozenset(
    {
        "names",
        "short names",
        "common codes",
        "currency codes",
        "peppol names",
        "peppol symbols",
        "id of the elements",
    }
)
_BOUND = re.compile(r"^(?P<stem>.+?)(?P<side>From|To)$")


def _params(spec: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
    out = []
    for param in spec["paths"][path]["get"].get("parameters", []):
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[-1]]
        if param.get("in") == "query":
            out.append(param)
    return out


def _value_type(model: ModelSchema, field: str) -> str:
    """``integer``, ``number``, ``string`` or ``boolean``: how a value is read."""
    head, _, rest = field.partition(".")
    if rest:
        return "integer"  # only ``x.id`` is dotted
    found = model.field(head)
    return found.type.split(":")[0] if found is not None else "string"


def _scalar(model: ModelSchema, name: str) -> FieldSchema | None:
    found = model.field(name)
    return found if found is not None and found.kind == "scalar" else None


def _ref(model: ModelSchema, name: str) -> str | None:
    """``x.id`` when ``name`` is ``x``, ``xId`` or ``xIds`` and ``x`` a reference."""
    for stem in (name, name.removesuffix("Id"), name.removesuffix("Ids")):
        found = model.field(stem)
        if stem and found is not None and found.kind == "ref":
            return f"{stem}.id"
    return None


def _target(model: ModelSchema, name: str) -> str | None:
    """The record field (dotted into a reference) a parameter called ``name`` reads."""
    if name in ("id", "ids") and _scalar(model, "id"):
        return "id"
    if _scalar(model, name):
        return name
    if name.endswith("Ids") and _scalar(model, name[:-1]):
        return name[:-1]  # voucherIds -> voucherId
    return _ref(model, name)


def _description(param: Mapping[str, Any]) -> str:
    text = " ".join(str(param.get("description", "")).split()).lower()
    return text.removeprefix("deprecated.").strip()


def classify(
    path: str, model: ModelSchema, param: Mapping[str, Any], *, snapshot: bool
) -> dict[str, Any]:
    """The filter entry of one query parameter of ``GET path``."""
    name = str(param["name"])
    desc = _description(param)
    schema = param.get("schema", {})
    if name in HIDDEN.get(path, ()):
        return {"kind": "hidden"}
    if (path, name) in EXPLICIT:
        explicit = EXPLICIT[path, name]
        return {**explicit, "type": _value_type(model, explicit["field"])}
    bound = _BOUND.match(name)
    if any(words in desc for words in _RANGE_FROM + _RANGE_TO):
        return _range(model, name, desc, bound)
    field = _target(model, name)
    if field is None:
        return _unapplied(model, name, desc, schema, snapshot=snapshot)
    entry: dict[str, Any] = {"field": field, "type": _value_type(model, field)}
    if schema.get("type") == "boolean":
        if entry["type"] != "boolean":
            return _unapplied(model, name, desc, schema, snapshot=snapshot)
        return {"kind": "boolean", **entry}
    if desc == "containing":
        return {"kind": "containing", **entry}
    if desc.startswith("list of") or desc in _LISTS or name in ("id", "ids"):
        return {"kind": "ids", **entry}
    kind = "ref_equals" if field.endswith(".id") else "equals"
    default = schema.get("default")
    if isinstance(default, str) and default.startswith("ALL"):
        entry["match_all"] = default  # ``state=ALL`` asks for every state
    return {"kind": kind, **entry}


def _range(model: ModelSchema, name: str, desc: str, bound: re.Match[str] | None) -> dict[str, Any]:
    side = "range_from" if any(words in desc for words in _RANGE_FROM) else "range_to"
    stem = bound["stem"] if bound is not None else ""
    field = _scalar(model, stem) if stem else None
    if field is None:
        what = f"`{stem}`" if stem else f"for the bound `{name}`"
        return {"kind": "unapplied", "reason": f"{model.name} has no field {what}"}
    entry = {"kind": side, "field": stem, "type": _value_type(model, stem)}
    if side == "range_to" and "to and incl" in desc:
        entry["inclusive"] = True
    return entry


def _unapplied(
    model: ModelSchema,
    name: str,
    desc: str,
    schema: Mapping[str, Any],
    *,
    snapshot: bool,
) -> dict[str, Any]:
    if desc == "deprecated":
        reason = "deprecated in the spec"
    elif name in ("query", "searchText"):
        reason = "a free-text search over fields the spec does not name"
    elif snapshot:
        reason = f"narrows what the report is computed from; {model.name} rows do not carry it"
    else:
        reason = f"{model.name} has no field that `{name}` maps to"
    entry: dict[str, Any] = {"kind": "unapplied", "reason": reason}
    if "default" in schema:
        default = schema["default"]
        entry["noop"] = str(default).lower() if isinstance(default, bool) else str(default)
    return entry


def served(registry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The registry's endpoints the simulator serves (those not excluded)."""
    return [e for e in registry["endpoints"] if e["kind"] != "excluded"]


def skipped(endpoint: Mapping[str, Any]) -> frozenset[str]:
    """Parameters the list handler reads itself: paging, dates, the parent id."""
    names = set(STRUCTURAL) | set(endpoint.get("date_params", ()))
    if "parent" in endpoint:
        names.add(endpoint["parent"]["param"])
    return frozenset(names)


def build(spec: Mapping[str, Any], registry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every filter of every served list, classified."""
    registry = registry or json.loads(registry_json())
    models = load_models()
    out: dict[str, dict[str, Any]] = {}
    for endpoint in served(registry):
        path, model = endpoint["path"], models[endpoint["model"]]
        fixed = endpoint.get("params", {})
        entries = {}
        for param in _params(spec, path):
            name = param["name"]
            if name in skipped(endpoint):
                continue
            entry = classify(path, model, param, snapshot=endpoint["kind"] == "snapshot")
            if name in fixed and entry["kind"] == "unapplied":
                # Required, and always sent with this value: the simulator's rows are
                # what that value asks for.
                entry["noop"] = fixed[name]
            if (path, name) in NOOP:
                entry["noop"] = NOOP[path, name]
            entries[name] = entry
        out[path] = dict(sorted(entries.items()))
    return {"spec_version": str(spec.get("info", {}).get("version", "")), "filters": out}


def render(filters: Mapping[str, Any]) -> str:
    """``filters.json`` as committed: one parameter per line, keys sorted."""
    blocks = []
    for path, entries in filters["filters"].items():
        rows = ",\n".join(
            f"      {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}"
            for name, entry in entries.items()
        )
        body = f"{{\n{rows}\n    }}" if rows else "{}"
        blocks.append(f"    {json.dumps(path)}: {body}")
    joined = ",\n".join(blocks)
    return (
        "{\n"
        f'  "spec_version": {json.dumps(filters["spec_version"])},\n'
        f'  "filters": {{\n{joined}\n  }}\n'
        "}\n"
    )


def render_docs(filters: Mapping[str, Any]) -> str:
    """``docs/simulator-filters.md``: counts by kind, and every filter not applied."""
    kinds = Counter(e["kind"] for entries in filters["filters"].values() for e in entries.values())
    total = sum(kinds.values())
    lines = [
        "# Query filters of the simulator",
        "",
        "Generated by `python -m tools.distil_filters` from Tripletex's OpenAPI spec "
        f"{filters['spec_version']}. Do not edit.",
        "",
        f"The simulator's lists take {total} query filters besides paging, `fields`, "
        "`sorting`, `changedSince`, required dates and parent ids. It applies them "
        "before paging and checksums; a filter it does not apply is named in the "
        "response header `X-Simulator-Unapplied-Filters` and in a WARNING of the logger "
        "`tripletex_async.testing` (not when its value is the one listed under *no-op "
        "value*: what the simulator answers anyway). Unknown parameters are ignored, "
        "as Tripletex does.",
        "",
        "| kind | filters |",
        "|---|---|",
        *(f"| {kind} | {kinds[kind]} |" for kind in KINDS if kinds[kind]),
        "",
        "## Not applied",
        "",
        "| filter | endpoint | why not applied | no-op value |",
        "|---|---|---|---|",
    ]
    for path, entries in filters["filters"].items():
        for name, e in entries.items():
            if e["kind"] == "unapplied":
                noop = f"`{e['noop']}`" if "noop" in e else ""
                lines.append(f"| `{name}` | `{path}` | {e['reason']} | {noop} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``filters.json`` and the docs from the spec file given."""
    spec = spec_from_args(argv, "distil_filters")
    if spec is None:
        return 2
    filters = build(spec)
    FILTERS.write_text(render(filters), encoding="utf-8")
    DOCS.write_text(render_docs(filters), encoding="utf-8")
    count = sum(len(e) for e in filters["filters"].values())
    print(f"{count} filters of {len(filters['filters'])} lists -> {FILTERS.name}, {DOCS.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
