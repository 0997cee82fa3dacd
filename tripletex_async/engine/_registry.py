"""Every list endpoint of Tripletex's spec, classified (``_spec/registry.json``, written by
``python -m tools.gen_registry``): what can be synced, how, and what is left out and why.

The engine syncs every endpoint not excluded (`RESOURCES`, made from this registry; 17 of
them are the default set): ``plain`` lists read whole, ``dated`` ones read in windows of a
required date pair, ``child`` lists read once per record of a parent list, ``snapshot``
reports as of a date or for a period, and ``excluded`` endpoints with the reason.
"""

from __future__ import annotations

import functools
from typing import Literal

import msgspec

from .._spec import registry_json

__all__ = [
    "GROUPS",
    "KINDS",
    "MODULE_GROUPS",
    "Endpoint",
    "Parent",
    "by_name",
    "endpoints",
    "group_of",
    "slug",
]

Kind = Literal["plain", "dated", "child", "snapshot", "excluded"]

#: Every kind, in the order they are listed.
KINDS: tuple[Kind, ...] = ("plain", "dated", "child", "snapshot", "excluded")

#: The resource groups, in the order they are listed.
GROUPS = (
    "ledger",
    "invoicing",
    "salary",
    "travel",
    "bank",
    "project",
    "product",
    "employee",
    "reference data",
    "reports",
)


#: Groups whose endpoints belong to modules a Tripletex company may not have (project
#: and hours, logistics, salary, travel expenses, bank): a 403 there on every request
#: means "not enabled". The rest (ledger, invoicing, employees, reference data, reports)
#: is every company's core: a 403 there is an error.
MODULE_GROUPS = frozenset({"project", "product", "salary", "travel", "bank"})


class Parent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a child list's required parent id comes from."""

    #: The query param naming the parent (``bankStatementId``).
    param: str
    #: The parent's list path (``/bank/statement``).
    path: str


class Endpoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One ``GET`` list endpoint of the spec (a path taking ``from`` and ``count``)."""

    path: str
    #: The resource's name: the path without its leading ``/`` (and without ``>``).
    name: str
    kind: Kind
    group: str
    #: The spec's one-line summary.
    summary: str
    #: The schema of one record (``Invoice``).
    model: str
    beta: bool = False
    changed_since: bool = False
    #: ``dated``: the required (from, to) pair; ``snapshot``: its date or period params.
    date_params: tuple[str, ...] = ()
    parent: Parent | None = None
    #: Required params whose value a sync knows (``includeNonApproved=true``).
    params: dict[str, str] = {}
    #: Boolean params with a default in the spec (some hide rows unless asked).
    boolean_defaults: dict[str, bool] = {}
    #: ``dated``: the record field the date pair filters on (dotted into a reference:
    #: ``invoice.invoiceDate``).
    date_field: str = ""
    #: Whether the pair's "to" includes its day (most exclude it).
    to_inclusive: bool = False
    #: The natural key of a record whose schema has no ``id`` (``account.id``, ``name``).
    key: str = ""
    #: Why an ``excluded`` endpoint is not synced.
    reason: str = ""


class _Registry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    spec_version: str
    endpoints: tuple[Endpoint, ...]


@functools.cache
def endpoints() -> tuple[Endpoint, ...]:
    """Every list endpoint of the spec, in path order."""
    return msgspec.json.decode(registry_json(), type=_Registry).endpoints


@functools.cache
def by_name() -> dict[str, Endpoint]:
    """Every list endpoint by resource name."""
    return {e.name: e for e in endpoints()}


def group_of(resource: str) -> str | None:
    """The group of a resource name (``None`` for one the registry does not know)."""
    found = by_name().get(resource)
    return None if found is None else found.group


def slug(group: str) -> str:
    """A group as typed on a command line: ``reference data`` -> ``reference-data``."""
    return group.replace(" ", "-")
