"""The list endpoints the simulator serves from the spec: ``_spec/registry.json``.

The registry (written by ``python -m tools.gen_registry``) classifies every ``GET`` list
endpoint of Tripletex's spec. The simulator serves every one that is not ``excluded``:
the hand-built collections of `_resources` where it has them, the rest generated from the
record schema (`_records_generic`) or, for reports, computed per query (`_snapshots`).
Decoded leniently: keys the simulator does not need are ignored.
"""

from __future__ import annotations

import functools
from typing import Literal

import msgspec

from .._spec import registry_json

__all__ = ["SpecList", "SpecParent", "served_lists"]

Kind = Literal["plain", "dated", "child", "snapshot", "excluded"]


class SpecParent(msgspec.Struct, frozen=True):
    """Where a child list's required parent id comes from."""

    #: The parameter naming the parent (``bankStatementId``); a path parameter when the
    #: endpoint's path holds ``{param}``.
    param: str
    #: The parent's list path (``/bank/statement``).
    path: str


class SpecList(msgspec.Struct, frozen=True):
    """One list endpoint of the registry, as far as the simulator reads it."""

    path: str
    kind: Kind
    model: str
    changed_since: bool = False
    date_params: tuple[str, ...] = ()
    #: The record field the date pair filters on, dotted into a reference.
    date_field: str = ""
    to_inclusive: bool = False
    parent: SpecParent | None = None
    #: Required parameters with the value a sync sends (``includeNonApproved=true``).
    params: dict[str, str] = {}
    #: Natural key of a record without ``id`` (``name``, ``account.id``).
    key: str = ""


class _Registry(msgspec.Struct, frozen=True):
    endpoints: tuple[SpecList, ...]


@functools.cache
def served_lists() -> tuple[SpecList, ...]:
    """Every endpoint of the registry that is not excluded, in path order."""
    registry = msgspec.json.decode(registry_json(), type=_Registry)
    return tuple(e for e in registry.endpoints if e.kind != "excluded")
