"""The query filters of list endpoints: ``?isClosed=false``, ``?customerId=1,2``, ``?name=as``.

Which record field each filter of each list compares, and how, is data:
``_spec/filters.json``, written from the spec's parameter descriptions by
``python -m tools.distil_filters`` (see ``docs/simulator-filters.md``). The kinds:

- ``equals`` / ``ref_equals``: the field (``number``) or a reference's id
  (``customer.id``) equals the value;
- ``ids``: the field is one of a comma-separated list;
- ``containing``: the field contains the text, whatever its case;
- ``range_from`` / ``range_to``: "From and including" / "To and excluding" (or, where the
  spec says so, including); a row without the field is outside every range;
- ``boolean``: read as Java's ``Boolean.valueOf`` reads it (``_hidden._flag``); a missing
  field is false. ``only_true``: ``false`` asks for every row;
- ``hidden``: left to `_hidden`, which also applies the spec's defaults;
- ``unapplied``: the simulator cannot honour it. A request using one gets the header
  ``X-Simulator-Unapplied-Filters`` and a WARNING on the ``tripletex_async.testing``
  logger, unless its value is the ``noop`` one (the spec's default, or what a sync always
  sends), which asks for what the simulator answers anyway.

An empty value filters nothing, as with ``id=``; an unknown parameter is ignored, as
Tripletex does. A list's own ``id`` filter (``ResourceInfo.id_param``) stays with
`_lists`.

Filtering costs nothing on a request that names no filter: the filters of a path are
looked up once, and the request's few parameters are checked against them. Applied
filters are hashable and part of the query's cache key; the digest of a filtered result
names its filters, so a filtered and an unfiltered query never share a checksum.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from .._spec import filters_json
from ._errors import ApiFailure
from ._hidden import _flag
from ._resources import ResourceInfo

__all__ = [
    "UNAPPLIED_HEADER",
    "Filter",
    "FilterSpec",
    "apply_filters",
    "filter_specs",
    "parse_filters",
    "salted_digest",
    "unapplied_headers",
]

UNAPPLIED_HEADER = "X-Simulator-Unapplied-Filters"

_log = logging.getLogger("tripletex_async.testing")

Kind = Literal[
    "equals",
    "ref_equals",
    "ids",
    "containing",
    "range_from",
    "range_to",
    "boolean",
    "hidden",
    "unapplied",
]


class FilterSpec(msgspec.Struct, frozen=True):
    """One query parameter of one list, as ``filters.json`` classifies it."""

    kind: Kind
    #: The record field compared, dotted into a reference (``customer.id``).
    field: str = ""
    #: How a value is read: ``integer``, ``number``, ``string`` or ``boolean``.
    type: str = "string"
    #: A ``range_to`` that includes its bound.
    inclusive: bool = False
    #: A ``boolean`` whose ``false`` asks for every row ("only return active ones").
    only_true: bool = False
    #: An ``equals`` value that asks for every row (``state=ALL``).
    match_all: str = ""
    #: An ``unapplied`` value that asks for what the simulator answers anyway.
    noop: str = ""
    reason: str = ""


class _File(msgspec.Struct, frozen=True):
    spec_version: str
    filters: dict[str, dict[str, FilterSpec]]


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter a request applies: hashable, so part of the query's cache key."""

    name: str
    kind: Kind
    field: str
    #: The parsed value: a scalar, a frozenset for ``ids``, lower-cased for ``containing``.
    value: Any
    inclusive: bool = False


@functools.cache
def _all_specs() -> Mapping[str, Mapping[str, FilterSpec]]:
    loaded = msgspec.json.decode(filters_json(), type=_File)
    return {path.lstrip("/"): specs for path, specs in loaded.filters.items()}


@functools.cache
def filter_specs(path: str, id_param: str | None = None) -> Mapping[str, FilterSpec]:
    """The filters a list applies or reports itself: not ``hidden`` ones, nor its
    ``id_param`` (both handled elsewhere)."""
    specs = _all_specs().get(path, {})
    return {n: s for n, s in specs.items() if s.kind != "hidden" and n != id_param}


def parse_filters(
    info: ResourceInfo, params: Mapping[str, str]
) -> tuple[tuple[Filter, ...] | None, tuple[str, ...]]:
    """The filters a request applies (None when none) and the names of the known ones it
    uses that the simulator does not apply, sorted."""
    specs = filter_specs(info.path, info.id_param)
    if not specs:
        return None, ()
    applied: list[Filter] = []
    unapplied: list[str] = []
    for name, raw in params.items():
        spec = specs.get(name)
        if spec is None or not raw.strip():
            continue
        if spec.kind == "unapplied":
            if not _is_noop(spec, raw):
                unapplied.append(name)
            continue
        found = _parse(name, spec, raw)
        if found is not None:
            applied.append(found)
    applied.sort(key=lambda f: f.name)
    return (tuple(applied) or None), tuple(sorted(unapplied))


def _is_noop(spec: FilterSpec, raw: str) -> bool:
    if not spec.noop:
        return False
    if spec.noop in ("true", "false"):
        return (raw.strip().lower() == "true") is (spec.noop == "true")
    return raw.strip() == spec.noop


def _parse(name: str, spec: FilterSpec, raw: str) -> Filter | None:
    kind = spec.kind
    if kind == "boolean":
        value = _flag({name: raw}, name)
        if spec.only_true and not value:
            return None
        return Filter(name, kind, spec.field, value)
    if kind == "containing":
        return Filter(name, kind, spec.field, raw.lower())
    if kind == "ids":
        parts = frozenset(_value(p.strip(), spec.type) for p in raw.split(",") if p.strip())
        return Filter(name, kind, spec.field, parts)
    if spec.match_all and raw == spec.match_all:
        return None
    return Filter(name, kind, spec.field, _value(raw, spec.type), spec.inclusive)


def _value(raw: str, type_: str) -> Any:
    """``raw`` read as the field's type (text as given); 422 like Tripletex for a
    malformed number."""
    if type_ not in ("integer", "number"):
        return raw
    try:
        return int(raw) if type_ == "integer" else float(raw)  # both allow spaces
    except ValueError:
        raise ApiFailure(
            422, 21000, f'Wrong data format! Expected number. For input string: "{raw}"'
        ) from None


def apply_filters(
    records: list[dict[str, Any]], filters: tuple[Filter, ...]
) -> list[dict[str, Any]]:
    """The records every filter admits, in their order."""
    out = records
    for f in filters:
        admits = _predicate(f)
        out = [r for r in out if admits(r)]
    return out


def _getter(field: str) -> Callable[[Mapping[str, Any]], Any]:
    head, _, rest = field.partition(".")
    if not rest:
        return lambda record: record.get(head)
    inner = _getter(rest)

    def get(record: Mapping[str, Any]) -> Any:
        ref = record.get(head)
        return inner(ref) if isinstance(ref, Mapping) else None

    return get


def _predicate(f: Filter) -> Callable[[Mapping[str, Any]], bool]:
    get, value = _getter(f.field), f.value
    if f.kind == "boolean":
        return lambda r: bool(get(r)) is value
    if f.kind == "ids":
        return lambda r: get(r) in value
    if f.kind == "containing":
        return lambda r: (v := get(r)) is not None and value in str(v).lower()
    if f.kind == "range_from":
        return lambda r: (v := get(r)) is not None and v >= value
    if f.kind == "range_to":
        if f.inclusive:
            return lambda r: (v := get(r)) is not None and v <= value
        return lambda r: (v := get(r)) is not None and v < value
    return lambda r: get(r) == value


def salted_digest(digest: str, filters: tuple[Filter, ...] | None) -> str:
    """``digest`` of a matched result, made to name the filters that selected it."""
    if not filters:
        return digest
    text = repr(tuple((f.name, f.kind, f.field, _canonical(f.value)) for f in filters))
    return hashlib.blake2b(f"{digest}|{text}".encode(), digest_size=16).hexdigest()


def _canonical(value: Any) -> Any:
    return tuple(sorted(value, key=repr)) if isinstance(value, frozenset) else value


def unapplied_headers(path: str, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """The response header naming filters the request used and the simulator did not
    apply, logged as a WARNING; nothing when there are none."""
    if not names:
        return []
    joined = ",".join(names)
    _log.warning("simulator_unapplied_filters path=%s filters=%s", path, joined)
    return [(UNAPPLIED_HEADER, joined)]
