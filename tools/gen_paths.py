"""Developer tool: every path of the Tripletex spec and its methods, written to
``tripletex_async/_spec/paths.json``.

Run it when the spec changes::

    python -m tools.gen_paths path/to/tripletex-openapi-original.json

The simulator answers every path of the spec: the ones it simulates as Tripletex does,
the others with a distinct "not simulated" error, a method the path lacks with
Tripletex's 400/4000 "HTTP 405 Method Not Allowed", and a path outside the spec with
404/6000. For that it needs the spec's paths (560 in spec 2.74), their methods, which
path parameters are numbers (Tripletex answers 422/21000 "Expected number" for
``/company/whoAmI``), and the schemas of the single-object lookups it serves that
``models.json`` does not hold (``LOOKUP_MODELS``).

Output shape (keys sorted, so diffs stay readable)::

    {"paths": {"/activity/{id}": ["GET"], ...},
     "numeric_params": {"/activity/{id}": ["id"], ...},
     "models": {"PostingRules": {field: [kind, type, target, readOnly]}},
     "spec_version": "2.74.00", ...}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._spec_file import spec_from_args
from .distil_spec import field_entry, render

__all__ = ["LOOKUP_MODELS", "build", "main", "render"]

#: Schemas of single-object lookups the simulator serves beyond ``models.json``.
LOOKUP_MODELS = ("PostingRules",)

_METHODS = ("get", "post", "put", "delete", "patch")
_OUTPUT = Path(__file__).resolve().parent.parent / "tripletex_async" / "_spec" / "paths.json"


def _numeric_params(item: Mapping[str, Any]) -> list[str]:
    """Path parameters of any operation of ``item`` whose schema is an integer."""
    found: set[str] = set()
    for method in _METHODS:
        for param in item.get(method, {}).get("parameters", []):
            schema = param.get("schema", {})
            if param.get("in") == "path" and schema.get("type") == "integer":
                found.add(str(param["name"]))
    return sorted(found)


def build(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``paths.json`` for ``spec`` (a parsed OpenAPI 3 document)."""
    paths: dict[str, list[str]] = {}
    numeric: dict[str, list[str]] = {}
    for path, item in spec["paths"].items():
        paths[path] = [m.upper() for m in _METHODS if m in item]
        names = _numeric_params(item)
        if names:
            numeric[path] = names
    schemas: Mapping[str, Any] = spec["components"]["schemas"]
    models = {
        name: {f: field_entry(p) for f, p in schemas[name].get("properties", {}).items()}
        for name in LOOKUP_MODELS
    }
    return {
        "generated_by": "python -m tools.gen_paths <openapi.json>",
        "spec_version": str(spec.get("info", {}).get("version", "")),
        "paths": paths,
        "numeric_params": numeric,
        "models": models,
    }


def main(argv: list[str] | None = None) -> int:
    """Read the spec named on the command line and write ``paths.json``."""
    spec = spec_from_args(argv, "gen_paths")
    if spec is None:
        return 2
    text = render(build(spec))
    _OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {_OUTPUT} ({len(spec['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
