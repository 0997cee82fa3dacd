"""Developer tool: distil the ``required`` lists of Tripletex's Swagger 2 spec into
``tripletex_async/_spec/required.json``.

Run it when the spec changes::

    python -m tools.distil_required path/to/swagger-2.71.19/swagger.json

The OpenAPI 3 file Tripletex publishes now has no ``required`` list on any schema; the
older Swagger 2 file (2.71.19) still has them (``Customer: [name]``, ``Order: [customer,
deliveryDate, orderDate]``). The simulator refuses a POST that misses one, as Tripletex
does. Only models of ``models.json`` are kept, and of each only the fields that model
still has there, so the two files agree.

Output shape (keys sorted, so diffs stay readable)::

    {"required": {Model: [field, ...]}, "spec_version": "2.71.19", ...}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tripletex_async.testing._schema import load_models

from ._spec_file import spec_from_args
from .distil_spec import render

__all__ = ["build", "main"]

_OUTPUT = Path(__file__).resolve().parent.parent / "tripletex_async" / "_spec" / "required.json"


def build(swagger: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``required.json`` for ``swagger`` (a parsed Swagger 2 document)."""
    models = load_models()
    required: dict[str, list[str]] = {}
    for name, definition in swagger["definitions"].items():
        model = models.get(name)
        fields = definition.get("required") or []
        kept = sorted(f for f in fields if model is not None and model.field(f) is not None)
        if kept:
            required[name] = kept
    return {
        "generated_by": "python -m tools.distil_required <swagger.json>",
        "spec_version": str(swagger.get("info", {}).get("version", "")),
        "required": required,
    }


def main(argv: list[str] | None = None) -> int:
    """Read the Swagger 2 spec named on the command line and write ``required.json``."""
    swagger = spec_from_args(argv, "distil_required")
    if swagger is None:
        return 2
    text = render(build(swagger))
    _OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {_OUTPUT} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
