"""Developer tool: distil the descriptions of Tripletex's OpenAPI spec into
``tripletex_async/_spec/descriptions.json``, for the data dictionary (``describe``) and
PostgreSQL's ``COMMENT ON``.

Run it when the spec changes, after ``tools.distil_spec``::

    python -m tools.distil_descriptions path/to/tripletex-openapi-original.json

Kept: the description of every field of the models in ``models.json`` that has one (the
spec describes about half of them), and the summary of each list endpoint the simulator
serves (``GET /ledger/posting``: "Find postings corresponding with sent data.").

Output shape (keys sorted)::

    {"fields": {Model: {field: description}}, "lists": {path: summary},
     "spec_version": "2.74.00"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tripletex_async._spec import models_json
from tripletex_async.testing._resources import RESOURCES

from ._spec_file import spec_from_args

__all__ = ["build", "main"]

_OUTPUT = Path(__file__).resolve().parent.parent / "tripletex_async" / "_spec" / "descriptions.json"


def _clean(text: str) -> str:
    """One line, no surrounding space."""
    return " ".join(text.split())


def build(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The descriptions of ``spec`` for the models ``models.json`` keeps."""
    schemas = spec["components"]["schemas"]
    kept = json.loads(models_json())["models"]
    fields = {
        model: {
            name: _clean(prop["description"])
            for name, prop in sorted(schemas[model].get("properties", {}).items())
            if name in kept[model] and prop.get("description", "").strip()
        }
        for model in sorted(kept)
        if model in schemas
    }
    lists = {}
    for path in sorted(RESOURCES):
        get = spec["paths"].get("/" + path, {}).get("get", {})
        if get.get("summary"):
            lists[path] = _clean(get["summary"])
    return {
        "fields": {model: found for model, found in fields.items() if found},
        "lists": lists,
        "spec_version": spec["info"]["version"],
    }


def main(argv: list[str] | None = None) -> int:
    """Write ``descriptions.json`` from the spec file given."""
    spec = spec_from_args(argv, "distil_descriptions")
    if spec is None:
        return 2
    text = json.dumps(build(spec), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    _OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {_OUTPUT} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
