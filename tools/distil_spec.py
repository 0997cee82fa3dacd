"""Developer tool: distil the Tripletex OpenAPI spec into ``tripletex_async/_spec/models.json``.

Run it when the spec changes::

    python -m tools.distil_spec path/to/tripletex-openapi-original.json

The simulator needs to know, for the objects it serves, which fields exist, what type each
has, which ones reference other objects and which are read-only; that is a few hundred
kilobytes of a 3.7 MB spec. Only schemas reachable (through ``$ref`` and arrays of
``$ref``) from the resource models and a few session/error models are kept: about 90
schemas, so no depth limit is needed.

Output shape (keys sorted, one field per line, so diffs stay readable)::

    {"models": {Model: {field: [kind, type, target, readOnly]}},
     "enums": {Model: {field: [value, ...]}},
     "lists": {ListSchema: [envelope field, ...]},
     "spec_version": "2.74.00", ...}

``kind`` is ``scalar``, ``ref`` (a ``$ref`` to an object), ``array`` (of scalars) or
``ref_array`` (of ``$ref``); ``type`` is the spec type with ``:format`` appended when the
spec gives one (``integer:int64``), or ``object`` for references and free-form maps.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tripletex_async._spec import registry_json
from tripletex_async.testing._resources import RESOURCES

from ._spec_file import spec_from_args

__all__ = ["EXTRA_MODELS", "build", "main", "render", "root_models"]

#: Models served outside the resource collections (sessions, clients, errors, webhooks).
EXTRA_MODELS = (
    "Client",
    "Company",
    "LoggedInUserInfo",
    "SessionToken",
    "Subscription",
    "Change",
    "ApiError",
    "ApiValidationMessage",
    "Address",
)

#: List envelopes served outside the resource collections.
EXTRA_LISTS = ("ListResponseClient", "ListResponseSubscription")

_REF_PREFIX = "#/components/schemas/"
_OUTPUT = Path(__file__).resolve().parent.parent / "tripletex_async" / "_spec" / "models.json"

#: [kind, type, target, readOnly], the JSON form of one field.
FieldEntry = list[Any]


def root_models() -> list[str]:
    """The schemas whose closure is kept: resource models first, then the extras, then
    the record models of every list endpoint the registry classifies for syncing
    (``_spec/registry.json``, written by ``python -m tools.gen_registry``)."""
    names = [info.model for info in RESOURCES.values()]
    return list(dict.fromkeys([*names, *EXTRA_MODELS, *registry_models()]))


def registry_models() -> list[str]:
    """The record schema of every list endpoint to sync, in path order."""
    registry = json.loads(registry_json())
    return [e["model"] for e in registry["endpoints"] if e["kind"] != "excluded"]


def _ref_name(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX) :]
    return None


def _scalar_type(node: Mapping[str, Any]) -> str:
    kind = str(node.get("type", "object"))
    fmt = node.get("format")
    return f"{kind}:{fmt}" if fmt else kind


def field_entry(prop: Mapping[str, Any]) -> FieldEntry:
    """The ``[kind, type, target, readOnly]`` entry of one spec property."""
    read_only = bool(prop.get("readOnly", False))
    target = _ref_name(prop)
    if target is not None:
        return ["ref", "object", target, read_only]
    if prop.get("type") == "array":
        items = prop.get("items", {})
        item_target = _ref_name(items)
        if item_target is not None:
            return ["ref_array", "object", item_target, read_only]
        return ["array", _scalar_type(items), None, read_only]
    # Free-form maps (``additionalProperties``) are opaque objects to the simulator.
    return ["scalar", _scalar_type(prop), None, read_only]


def _enum_of(prop: Mapping[str, Any]) -> list[str] | None:
    values = prop.get("enum")
    if values is None and prop.get("type") == "array":
        values = prop.get("items", {}).get("enum")
    return [str(v) for v in values] if values is not None else None


def _closure(schemas: Mapping[str, Any], roots: Iterable[str]) -> list[str]:
    """Every schema reachable from ``roots`` through ``$ref`` fields, sorted."""
    seen: set[str] = set()
    queue = deque(roots)
    while queue:
        name = queue.popleft()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        for prop in schemas[name].get("properties", {}).values():
            target = field_entry(prop)[2]
            if target is not None:
                queue.append(target)
    return sorted(seen)


def _list_schemas() -> list[str]:
    names = [info.list_schema for info in RESOURCES.values()]
    return sorted(set(names) | set(EXTRA_LISTS))


def build(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``models.json`` for ``spec`` (a parsed OpenAPI 3 document)."""
    schemas: Mapping[str, Any] = spec["components"]["schemas"]
    models: dict[str, dict[str, FieldEntry]] = {}
    enums: dict[str, dict[str, list[str]]] = {}
    for name in _closure(schemas, root_models()):
        props: Mapping[str, Any] = schemas[name].get("properties", {})
        models[name] = {field: field_entry(prop) for field, prop in props.items()}
        found = {field: e for field, prop in props.items() if (e := _enum_of(prop)) is not None}
        if found:
            enums[name] = found
    # A list schema missing from the spec (there is no ListResponseAddress) is skipped:
    # such collections have no list endpoint.
    lists = {
        name: list(schemas[name].get("properties", {}))
        for name in _list_schemas()
        if name in schemas
    }
    return {
        "generated_by": "python -m tools.distil_spec <openapi.json>",
        "spec_version": str(spec.get("info", {}).get("version", "")),
        "models": models,
        "enums": enums,
        "lists": lists,
    }


def render(data: Mapping[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, nested maps indented, leaves on one line."""
    return _render(data, 0) + "\n"


def _render(value: Any, depth: int) -> str:
    if not isinstance(value, Mapping) or not value:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    pad = " " * (depth + 1)
    items = [
        f"{pad}{json.dumps(key, ensure_ascii=False)}: {_render(value[key], depth + 1)}"
        for key in sorted(value)
    ]
    return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"


def main(argv: list[str] | None = None) -> int:
    """Read the spec named on the command line and write ``models.json``."""
    spec = spec_from_args(argv, "distil_spec")
    if spec is None:
        return 2
    text = render(build(spec))
    _OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    _OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {_OUTPUT} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
