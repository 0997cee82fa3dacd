"""What the spec-reading tools share: the spec file named on their command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["spec_from_args"]


def spec_from_args(argv: list[str] | None, tool: str) -> dict[str, Any] | None:
    """The OpenAPI spec whose path is the one argument in ``argv`` (``sys.argv[1:]`` by
    default); ``None`` after printing the usage of ``python -m tools.<tool>``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: python -m tools.{tool} SPEC.json", file=sys.stderr)
        return None
    loaded: dict[str, Any] = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    return loaded
