"""List endpoints: query parameters, filtering, sorting, paging and the envelope.

Behaviour follows the API docs (response envelope, paging) and tripletex-api2's checksum
example: ``from``/``count`` paging with ``count`` = values returned, required date ranges
with an exclusive "to", a 10,000-row cap on the matched set whatever ``count`` is,
``fullResultSize`` that may lie, and ``versionDigest`` that is a real checksum only when
``If-None-Match`` was sent. Rows the spec's defaults hide
(inactive customers, contacts, closed projects) are left out as ``_hidden`` says.

Required parameters (a date pair, a report's date, a child list's parent id, a fixed
flag such as ``includeNonApproved``) are all checked at once: a 422/15000 names every
one missing. A date pair filters on a field of the record or, dotted
(``invoice.invoiceDate``), of the record it refers to; "to" is exclusive unless the
endpoint includes it. A child list answers only the children of the parent asked for.
Every other filter the spec gives a list (``isClosed``, ``customerId``, ``name``) is
`_filters`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from ._config import FakeConfig, FullResultSize
from ._errors import ApiFailure, validation_failed
from ._filters import Filter, apply_filters, parse_filters, salted_digest, unapplied_headers
from ._hidden import Shown, last_change, shown_rows
from ._resources import ResourceInfo
from ._schema import ModelSchema, load_models

__all__ = ["ListQuery", "envelope", "full_result_size", "match", "parse_list_query"]

OSLO = ZoneInfo("Europe/Oslo")
NO_DIGEST = "'If-None-Match' header not specified"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The parameters of one list call that decide what it returns."""

    start: int
    count: int
    fields: str
    sorting: str
    #: The required dates: a ``(from, to)`` pair, or a report's ``(date,)``.
    date_range: tuple[str, ...] | None
    changed_since: datetime | None
    ids: frozenset[int] | None
    #: Which rows are visible (None: all); defaults of the spec applied.
    shown: Shown | None = None
    #: A child list's parent id.
    parent_id: int | None = None
    #: The spec's other filters the request applies (None: none), see `_filters`.
    filters: tuple[Filter, ...] | None = None
    #: Known filters the request uses that the simulator does not apply; not part of
    #: what the query selects.
    unapplied: tuple[str, ...] = field(default=(), compare=False)

    @property
    def filter_key(self) -> tuple[object, ...]:
        """What selects the matched set (not how it is paged or projected)."""
        return (
            self.sorting,
            self.date_range,
            self.changed_since,
            self.ids,
            self.shown,
            self.parent_id,
            self.filters,
        )

    def salted(self, digest: str) -> str:
        """``digest`` of the matched result, made to name the filters that selected it
        (unchanged without any): no two queries share a checksum by accident."""
        return salted_digest(digest, self.filters)

    def unapplied_headers(self, path: str) -> list[tuple[str, str]]:
        """``X-Simulator-Unapplied-Filters`` when the request used filters the simulator
        does not apply (and a WARNING saying so); else nothing."""
        return unapplied_headers(path, self.unapplied)


def parse_list_query(
    info: ResourceInfo, params: Mapping[str, str], config: FakeConfig, *, now: datetime
) -> ListQuery:
    """Read and validate a list call's query parameters; unknown ones are ignored.

    ``now`` is the simulator's clock, for filters relative to today.
    """
    start = _int_param(params, "from", 0)
    count = _int_param(params, "count", 1000)
    if start < 0 or count < 0:
        raise validation_failed([("from" if start < 0 else "count", "Må være positiv.")])
    if count > config.max_count:
        raise validation_failed(
            [("count", f"The parameter 'count' is bigger than the allowed {config.max_count}")]
        )
    _check_required(info, params)
    filters, unapplied = parse_filters(info, params)
    return ListQuery(
        start=start,
        count=count,
        fields=params.get("fields", ""),
        sorting=params.get("sorting", "").replace(" ", ""),
        date_range=_date_range(info, params),
        changed_since=_changed_since(info, params),
        ids=_ids(params.get(info.id_param)) if info.id_param else None,
        shown=shown_rows(info.path, params, defaults=config.default_filters, now=now),
        parent_id=_parent_id(info, params),
        filters=filters,
        unapplied=unapplied,
    )


def _check_required(info: ResourceInfo, params: Mapping[str, str]) -> None:
    """422/15000 naming every required parameter that is missing."""
    names = [*reversed(info.date_params or ())]
    if info.parent is not None:
        names.append(info.parent.param)
    names.extend(info.required)
    missing = [(n, "Kan ikke være null.") for n in names if not params.get(n)]
    if missing:
        raise validation_failed(missing)


def _parent_id(info: ResourceInfo, params: Mapping[str, str]) -> int | None:
    if info.parent is None:
        return None
    return _int_param(params, info.parent.param, 0)


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiFailure(
            422, 21000, f'Wrong data format! Expected number. For input string: "{raw}"'
        ) from None


def _date_range(info: ResourceInfo, params: Mapping[str, str]) -> tuple[str, ...] | None:
    """The required dates, validated (their presence is checked before)."""
    if info.date_params is None:
        return None
    values = tuple(params[name] for name in info.date_params)
    for name, value in zip(info.date_params, values, strict=True):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise validation_failed([(name, "Ugyldig dato, forventet yyyy-MM-dd.")]) from None
    if len(values) == 2 and (
        values[1] < values[0] or (values[1] == values[0] and not info.to_inclusive)
    ):
        message = "Til og med dato må være etter fra og med dato."
        raise validation_failed([(info.date_params[1], message)])
    return values


def _changed_since(info: ResourceInfo, params: Mapping[str, str]) -> datetime | None:
    raw = params.get("changedSince")
    if not raw or not info.changed_since:
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise validation_failed([("changedSince", "Ugyldig tidspunkt.")]) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=OSLO)
    return stamp


def _ids(raw: str | None) -> frozenset[int] | None:
    if not raw:
        return None
    try:
        return frozenset(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ApiFailure(
            422, 21000, f'Wrong data format! Expected number. For input string: "{raw}"'
        ) from None


Resolve = Callable[[str, int], "dict[str, Any] | None"]


def match(
    records: list[dict[str, Any]],
    info: ResourceInfo,
    query: ListQuery,
    model: ModelSchema,
    *,
    resolve: Resolve | None = None,
    parents: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The objects a query matches, sorted as asked (by id when not asked).

    ``resolve`` looks up the records a dotted date field reaches into; ``parents`` maps
    child id to parent id for children whose schema has no field naming the parent.
    """
    out = records
    if query.date_range is not None and info.date_field is not None:
        lo, hi = query.date_range
        value = _date_value(info.date_field, model, resolve)
        if info.to_inclusive:
            out = [r for r in out if lo <= value(r) <= hi]
        else:
            out = [r for r in out if lo <= value(r) < hi]
    if query.parent_id is not None and info.parent is not None:
        out = _children(out, info.parent.field, query.parent_id, parents or {})
    if query.changed_since is not None:
        since = query.changed_since
        out = [r for r in out if last_change(r) >= since]
    if query.ids is not None:
        wanted = query.ids
        out = [r for r in out if r["id"] in wanted]
    if query.filters is not None:
        out = apply_filters(out, query.filters)
    if query.shown is not None:
        out = query.shown.select(out)
    if query.sorting and query.sorting != "id":
        out = _sorted(out, query.sorting, model)
    return out


def _date_value(
    field: str, model: ModelSchema, resolve: Resolve | None
) -> Callable[[dict[str, Any]], str]:
    """Reads ``field`` of a record; ``a.b`` reads ``b`` of the record ``a`` refers to."""
    head, _, rest = field.partition(".")
    if not rest:
        return lambda record: record.get(head) or ""
    info = model.field(head)
    target = info.target if info is not None else None
    inner = _date_value(rest, load_models()[target], resolve) if target else None

    def value(record: dict[str, Any]) -> str:
        ref = record.get(head)
        if not isinstance(ref, dict) or inner is None or target is None:
            return ""
        full = resolve(target, int(ref["id"])) if resolve is not None and "id" in ref else ref
        return inner(full) if full is not None else ""

    return value


def _children(
    records: list[dict[str, Any]], field: str | None, parent_id: int, parents: Mapping[int, int]
) -> list[dict[str, Any]]:
    if field is None:
        return [r for r in records if parents.get(r["id"]) == parent_id]
    return [r for r in records if (r.get(field) or {}).get("id") == parent_id]


def _sorted(
    records: list[dict[str, Any]], sorting: str, model: ModelSchema
) -> list[dict[str, Any]]:
    out = list(records)
    # Apply keys from the last to the first: Python's sort is stable.
    for key in reversed(sorting.split(",")):
        descending = key.startswith("-")
        name = key.lstrip("-")
        info = model.field(name)
        if info is None or info.kind != "scalar":
            raise ApiFailure(422, 17000, f"Sorting on '{name}' is not supported.")
        out.sort(key=_sort_key(name), reverse=descending)
    return out


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda record: _sort_value(record.get(name))


def _sort_value(value: Any) -> tuple[bool, Any]:
    # None sorts first; mixed types never meet because a field has one type.
    return (value is not None, value if value is not None else 0)


def full_result_size(true_size: int, mode: FullResultSize) -> int:
    """What the envelope claims; ``INEXACT`` is off in both directions."""
    if mode is FullResultSize.EXACT:
        return true_size
    if mode is FullResultSize.ZERO:
        return 0
    return max(0, true_size + (true_size * 7919) % 23 - 11)


def envelope(
    *,
    full_size: int,
    start: int,
    values: list[bytes],
    digest: str,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """The list envelope around already serialized values."""
    head = [
        b'{"fullResultSize":%d,"from":%d,"count":%d,"versionDigest":'
        % (full_size, start, len(values)),
        msgspec.json.encode(digest),
    ]
    for key, value in (extra or {}).items():
        head.append(b',"%s":%s' % (key.encode(), msgspec.json.encode(value)))
    head.append(b',"values":[')
    return b"".join(head) + b",".join(values) + b"]}"
