"""Developer tool: generate ``_generated.py``, the resource Structs, from ``models.json``.

Run it after ``tripletex_async/_spec/models.json`` changed (that file is distilled from
Tripletex's OpenAPI spec by ``python -m tools.distil_spec``)::

    python -m tools.gen_models

The output is deterministic and already formatted the way ``ruff format`` keeps it, so
``tests/models`` can compare the committed file with `render`.

Rules, per field of a model (``[kind, type, target, readOnly]`` in ``models.json``):

- every field is optional: ``name: T | UnsetType | None = UNSET``. A field not asked for
  with ``fields=`` stays `UNSET`, a JSON ``null`` decodes as None;
- ``integer:*`` is int, ``number*`` `Decimal` (exact: Tripletex's amounts are decimals,
  which a float cannot hold; msgspec keeps the number's text), ``boolean`` bool, every
  ``string*`` str, a free-form ``object`` ``dict[str, Any]``; an array of scalars is a
  list of those. A string named ``date``, ``...Date`` or ``dateOf...`` is `DateText` (the spec types
  dates as plain strings; Tripletex sends ``""`` for an empty one, which a
  ``datetime.date`` could not decode), so the SQL sinks give it a date column;
- a reference (``ref``/``ref_array``) is `Ref` / ``list[Ref]``, except ``Order.orderLines``,
  which the engine expands (``list[OrderLine]``), and references to schemas without an
  ``id`` (``InternationalId``, ``CompanyBankAccountPresentation`` ...): those are value
  objects embedded whole, not references, and `Ref` (whose ``id`` is required) could not
  decode them, so they are ``dict[str, Any]`` / ``list[dict[str, Any]]``;
- ``changes`` is left out: the API's ``*`` does not return it.
"""

from __future__ import annotations

import json
import keyword
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tripletex_async._spec import registry_json
from tripletex_async.testing._resources import RESOURCES

__all__ = ["EXPANDED", "OMITTED", "RESOURCE_PATHS", "main", "python_type", "render"]

#: The sync engine's resources (API paths), in the order the Structs are written.
RESOURCE_PATHS = (
    "customer",
    "supplier",
    "contact",
    "employee",
    "department",
    "product",
    "project",
    "activity",
    "ledger/account",
    "ledger/vatType",
    "currency",
    "order",
    "invoice",
    "supplierInvoice",
    "ledger/voucher",
    "ledger/posting",
    "timesheet/entry",
)

#: References the engine expands, typed as the target's Struct: (model, field) -> model.
EXPANDED: dict[tuple[str, str], str] = {("Order", "orderLines"): "OrderLine"}

#: Fields left out of every Struct.
OMITTED = frozenset({"changes"})

#: Names the generated annotations use; a field of that name would shadow one.
_RESERVED = frozenset(
    {
        *("Any", "DateText", "Decimal", "Ref", "UNSET", "UnsetType"),
        *("bool", "dict", "float", "int", "list", "msgspec", "str"),
    }
)

_PACKAGE = Path(__file__).resolve().parent.parent / "tripletex_async"
_MODELS_JSON = _PACKAGE / "_spec" / "models.json"
_OUTPUT = _PACKAGE / "models" / "_generated.py"
_COMMAND = "python -m tools.gen_models"
_LINE_LENGTH = 100


def _scalar(spec_type: str) -> str:
    kind = spec_type.split(":", 1)[0]
    scalars = {
        "integer": "int",
        "number": "Decimal",
        "boolean": "bool",
        "string": "str",
        "object": "dict[str, Any]",
    }
    if kind not in scalars:
        raise ValueError(f"no Python type for spec type {spec_type!r}")
    return scalars[kind]


def python_type(models: Mapping[str, Mapping[str, list[Any]]], model: str, field: str) -> str:
    """The annotation (without ``| UnsetType | None``) of ``model.field``."""
    kind, spec_type, target, _read_only = models[model][field]
    if kind == "scalar":
        scalar = _scalar(spec_type)
        return "DateText" if scalar == "str" and _is_date(field) else scalar
    if kind == "array":
        return f"list[{_scalar(spec_type)}]"
    if kind not in ("ref", "ref_array"):
        raise ValueError(f"unknown field kind {kind!r} of {model}.{field}")
    expanded = EXPANDED.get((model, field))
    if expanded is not None:
        if expanded != target:
            raise ValueError(f"{model}.{field} references {target}, not {expanded}")
        inner = expanded
    elif "id" in models[target]:
        inner = "Ref"
    else:
        inner = "dict[str, Any]"
    return inner if kind == "ref" else f"list[{inner}]"


def _is_date(field: str) -> bool:
    """Whether a string field holds a date, by its name (``date``, ``invoiceDate``,
    ``dateOfBirth``; ``invoiceDueDate`` of `Project` is an integer, which the caller has
    ruled out)."""
    return field == "date" or field.endswith("Date") or field.startswith("dateOf")


def _docstring(model: str, path: str | None, version: str) -> str:
    if path is not None:
        return f"{model}, listed at /{path} (spec {version})."
    expanded_in = [f"{m}.{f}" for (m, f), t in EXPANDED.items() if t == model]
    return f"{model}, expanded in {', '.join(expanded_in)} (spec {version})."


def _struct(
    models: Mapping[str, Mapping[str, list[Any]]], model: str, path: str | None, version: str
) -> list[str]:
    header = f"class {model}(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):"
    if len(header) > _LINE_LENGTH:  # as ruff format wraps it
        header = (
            f"class {model}(\n    msgspec.Struct, kw_only=True, omit_defaults=True, gc=False\n):"
        )
    doc = f'    """{_docstring(model, path, version)}"""'
    if len(doc) > _LINE_LENGTH:
        head, _, tail = doc.rpartition(", listed at ")
        doc = f"{head}, listed at\n    {tail}"
    lines = ["", "", header, doc, ""]
    for field in sorted(models[model]):
        if field in OMITTED:
            continue
        if not field.isidentifier() or keyword.iskeyword(field):
            raise ValueError(f"{model}.{field} is not a Python identifier")
        if field in _RESERVED or field in models:
            raise ValueError(f"{model}.{field} would shadow a name the annotations use")
        annotation = python_type(models, model, field)
        lines.append(f"    {field}: {annotation} | UnsetType | None = UNSET")
    return lines


def _isort_key(name: str) -> tuple[int, str]:
    # CONSTANTS, then Classes, then the rest: the order ruff's RUF022 keeps.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _listed() -> dict[str, tuple[str, str]]:
    """Resource name -> (record model, path) of every list endpoint to sync, in path
    order."""
    registry = json.loads(registry_json())
    endpoints = registry["endpoints"]
    return {e["name"]: (e["model"], e["path"]) for e in endpoints if e["kind"] != "excluded"}


def _load() -> dict[str, Any]:
    return json.loads(_MODELS_JSON.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def render(data: Mapping[str, Any] | None = None) -> str:
    """The text of ``_generated.py`` for ``data`` (``models.json`` when not given)."""
    data = _load() if data is None else data
    models: Mapping[str, Mapping[str, list[Any]]] = data["models"]
    version = str(data["spec_version"])
    # Each resource's Struct, with the Structs it expands written right after it.
    order: list[tuple[str, str | None]] = []
    for path in RESOURCE_PATHS:
        model = RESOURCES[path].model
        order.append((model, path))
        order += [(t, None) for (m, _f), t in EXPANDED.items() if m == model]
    # Then the record model of every other list endpoint to sync, once each.
    listed = _listed()
    written = {m for m, _ in order}
    for model, path in listed.values():
        if model not in written:
            written.add(model)
            order.append((model, path.lstrip("/")))
    body: list[str] = []
    for model, listed_at in order:
        body += _struct(models, model, listed_at, version)
    names = sorted(
        ["LIST_MODELS", "MODELS", "SPEC_VERSION", *(m for m, _ in order)], key=_isort_key
    )
    uses_any = any("Any]" in line for line in body)
    uses_decimal = any("Decimal" in line for line in body)
    uses_date = any("DateText" in line for line in body)
    text = "\n".join(
        [
            f"# Generated by `{_COMMAND}`",
            f"# from tripletex_async/_spec/models.json (Tripletex OpenAPI spec {version}).",
            "# Do not edit: change the generator and rerun it.",
            '"""The sync engine\'s resources as msgspec Structs (generated; see ``_codegen``)."""',
            "",
            "from __future__ import annotations",
            "",
            *(["from decimal import Decimal"] if uses_decimal else []),
            *(["from typing import Any"] if uses_any else []),
            *([""] if uses_any or uses_decimal else []),
            "import msgspec",
            "from msgspec import UNSET, UnsetType",
            "",
            "from ..client._envelopes import Ref",
            *(["from ._types import DateText"] if uses_date else []),
            "",
            "__all__ = [",
            *(f'    "{name}",' for name in names),
            "]",
            "",
            "#: The Tripletex OpenAPI spec version these Structs were generated from.",
            f'SPEC_VERSION = "{version}"',
            *body,
            "",
            "",
            "#: The default Struct of each resource, by API path.",
            "MODELS: dict[str, type[msgspec.Struct]] = {",
            *(f'    "{path}": {RESOURCES[path].model},' for path in RESOURCE_PATHS),
            "}",
            "",
            "#: The record Struct of every list endpoint classified for syncing (the",
            "#: registry, ``_spec/registry.json``), by resource name.",
            "LIST_MODELS: dict[str, type[msgspec.Struct]] = {",
            *(f'    "{name}": {model},' for name, (model, _path) in listed.items()),
            "}",
            "",
        ]
    )
    too_long = [line for line in text.splitlines() if len(line) > _LINE_LENGTH]
    if too_long:
        raise ValueError(f"lines longer than {_LINE_LENGTH} characters: {too_long}")
    return text


def main(argv: list[str] | None = None) -> int:
    """Write ``tripletex_async/models/_generated.py``."""
    args = sys.argv[1:] if argv is None else argv
    if args:
        print(f"usage: {_COMMAND}", file=sys.stderr)
        return 2
    text = render()
    _OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {_OUTPUT} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
